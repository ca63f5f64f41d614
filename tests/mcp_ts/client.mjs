// One session of the official TypeScript SDK client against `git atomic mcp`, for
// tests/test_agents_mcp_clients.py. Usage: node client.mjs PYTHON REPO
// The SDK's client checks every successful result's structuredContent against the tool's
// outputSchema itself (with ajv) and throws if it does not match. Prints one JSON object.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [python, repo] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: python,
  args: ["-m", "git_atomic", "mcp"],
  cwd: repo,
  env: process.env,
  stderr: "inherit",
});
const client = new Client({ name: "git-atomic-tests", version: "1.0.0" });
await client.connect(transport, { timeout: 120000 });
const call = (name, args = {}, options = {}) =>
  client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120000, ...options });

const out = { server: client.getServerVersion(), calls: {} };
out.tools = (await client.listTools()).tools.map((t) => ({
  name: t.name,
  title: t.title,
  readOnly: t.annotations?.readOnlyHint,
  hasOutputSchema: Boolean(t.outputSchema),
}));
const keep = (r) => ({ isError: Boolean(r.isError), text: r.content[0].text, data: r.structuredContent });

out.calls.begin = keep(await call("begin", { name: "from-typescript" }));
writeFileSync(join(repo, "ts.txt"), "ts\n");
out.calls.checkpoint = keep(await call("checkpoint", { message: "one" }));
out.calls.failing = keep(await call("commit", { gates: ["false"] }));
out.calls.undo = keep(await call("undo"));

// A long gate: progress notifications arrive; aborting the call sends notifications/cancelled.
out.progress = [];
const abort = new AbortController();
await call("begin", { name: "slow" });
try {
  await call(
    "commit",
    { gates: ["sleep 60"] },
    {
      signal: abort.signal,
      resetTimeoutOnProgress: true,
      onprogress: (p) => {
        out.progress.push(p.message);
        // Once the gate runs (the CLI's handlers are in place): a cancel while the child is
        // still starting up would stop it before it could roll anything back.
        if (String(p.message).includes("gate ")) abort.abort("enough");
      },
    },
  );
  out.cancelled = false;
} catch (error) {
  out.cancelled = String(error);
}
// Queued behind the interrupted commit: it runs once that operation is rolled back.
out.calls.after = keep(await call("begin", { name: "after" }));
out.calls.log = keep(await call("log", { name: "slow" }));
out.calls.abort = keep(await call("abort"));
await client.close();
process.stdout.write(JSON.stringify(out));

import sys

try:
    from git_atomic.cli.entry import console_main
except KeyboardInterrupt:  # Ctrl-C while Python reads our first modules: as everywhere
    sys.stderr.write("git-atomic: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(console_main())

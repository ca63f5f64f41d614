"""One module per verb; each exposes a function with typed keyword arguments returning an exit code."""

"""One module per verb: a function with typed keyword arguments that returns an exit code."""

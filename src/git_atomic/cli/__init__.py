"""The command line: parsing, dispatch, help, man page and completion."""

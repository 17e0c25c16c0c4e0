"""The command line: one module per command, shared option helpers, one table of exit codes."""

"""The command line: one module per command (`scan`, `report`, `run`, `status`, `config`, `undo`,
`install`), each registering its sub-command and holding its `cmd_*` function and its output;
`options` holds what they share, `parser` assembles them and `main` is the console script.
Exit codes come from `burstd.exit_codes`.
"""

"""The `deep-retrieval` sub-commands: argument parsing and printing only; the work is done in `pool`,
`retrieval`, `nets` and `apps`. Each module has ``add_arguments(parser)`` and ``run(args) -> int``."""

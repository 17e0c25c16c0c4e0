"""`python -m burstd` runs the command line."""

from burstd.cli.main import main

raise SystemExit(main())

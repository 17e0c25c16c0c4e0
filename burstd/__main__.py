"""`python -m burstd` runs the command line."""

from burstd.cli import main

raise SystemExit(main())

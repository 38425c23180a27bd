"""`python -m server ...` is the `graphyard` command (handy where console scripts are not on PATH)."""

from server.cli import main

raise SystemExit(main())

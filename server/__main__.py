"""`python -m server ...` is the `graphyard` command (for when scripts are not on PATH)."""

from server.cli import main

raise SystemExit(main())

"""`python -m bureau ...` is the `bureau` command."""

from bureau.cli.main import main

raise SystemExit(main())

"""``python -m scopegraph``: the ``scopegraph`` command (serve, worker, ...)."""

from scopegraph._cli import main

raise SystemExit(main())

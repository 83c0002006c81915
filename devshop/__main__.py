"""Run the dev-shop: ``python -m devshop --port 8081``."""

from devshop.cli import main

raise SystemExit(main())

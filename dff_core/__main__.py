"""``python -m dff_core``: the headless command line (see :mod:`dff_core.cli`)."""

from dff_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m theory.nets.store --runs DIR {list,prune} [--yes]`` (see :mod:`theory.nets.store.cli`)."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

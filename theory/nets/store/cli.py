"""``python -m theory.nets.store --runs DIR {list,prune} [--yes]``: list a run store, prune its unreachable runs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as STORE_DOC
from .listing import list_runs, prune_runs, stored_runs

__all__ = ["main"]


def main(argv=None) -> int:
    """``python -m theory.nets.store --runs DIR {list,prune} [--yes]``."""
    parser = argparse.ArgumentParser(prog="python -m theory.nets.store", description=STORE_DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, help="the run store")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the runs: hash, status, size, config, reachable")
    prune = commands.add_parser("prune", help="remove the unreachable runs (a dry run without --yes)")
    prune.add_argument("--yes", action="store_true", help="really delete the runs named")
    args = parser.parse_args(argv)
    if not Path(args.runs).is_dir():
        parser.error(f"--runs {args.runs!r} is not a directory.")
    rows = stored_runs(args.runs)
    if args.command == "list":
        list_runs(rows)
    else:
        prune_runs(rows, args.yes)
    sys.stdout.flush()
    return 0

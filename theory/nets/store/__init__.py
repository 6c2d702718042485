"""The on-disk store of training runs: ``<runs>/<config hash>/`` per run, shared by every figure and sweep.

* :mod:`~theory.nets.store.run` -- one run's directory (:class:`Run`): config, metrics, logits, checkpoint,
  summary, each written atomically;
* :mod:`~theory.nets.store.claim` -- the claim a training process holds on a run (atomic, with a heartbeat
  lease), so that two processes asking for the same run train it once;
* :mod:`~theory.nets.store.listing` -- the store as a whole: status, size and reachability of every run, pruning;
* :mod:`~theory.nets.store.cli` -- ``python -m theory.nets.store --runs DIR list`` and ``prune [--yes]``.

One store, chosen in one way: ``theory.nets.train(config, run_dir)`` (``run_dir`` defaults to
:data:`DEFAULT_RUN_DIR`, ``results/runs``) and ``--runs DIR`` on the command lines (default ``<out>/runs``).

``python -m theory.nets.store --runs DIR list`` lists the runs (hash, status, size, config, whether reachable);
``python -m theory.nets.store --runs DIR prune`` names the unreachable runs (see :func:`reachable`: a run whose
stored config no longer hashes to its directory's name, e.g. because its data files were replaced) and
``prune --yes`` deletes them. Runs claimed by a live process are kept.
"""
from .claim import CLAIM_FILE
from .claim import LEASE_SECONDS
from .claim import Claim
from .claim import claim_is_stale
from .claim import read_claim
from .claim import try_claim
from .listing import list_runs
from .listing import prune_runs
from .listing import reachable
from .listing import run_status
from .listing import stored_runs
from .run import DEFAULT_RUN_DIR
from .run import Run
from .run import atomic_write

__all__ = ["DEFAULT_RUN_DIR", "Run", "atomic_write", "CLAIM_FILE", "LEASE_SECONDS", "Claim", "claim_is_stale",
           "read_claim", "try_claim", "run_status", "reachable", "stored_runs", "list_runs", "prune_runs", "main"]


def main(argv=None) -> int:
    """``python -m theory.nets.store --runs DIR {list,prune} [--yes]`` (:func:`theory.nets.store.cli.main`)."""
    from .cli import main as cli_main

    return cli_main(argv)

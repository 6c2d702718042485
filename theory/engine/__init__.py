"""Running many independent computations on a distributed engine (Dask): one laptop, a node, a cluster.

* :mod:`~theory.engine.graph` -- :class:`Task` (a keyed call with dependencies) and :func:`run_graph` (on a
  ``distributed.Client`` or in this process: retries, failures reported per task, a progress bar);
* :mod:`~theory.engine.cluster` -- where tasks run: :func:`open_client` (in-process for one worker, an embedded
  LocalCluster, an existing scheduler, or SLURM jobs), :func:`local_cluster`, :func:`connect`,
  :func:`slurm_cluster`, :func:`slurm_job_script`;
* :mod:`~theory.engine.environment` -- a worker's environment: pinned thread counts (numbers equal to a
  sequential run's), GPU memory, the compilation cache, one GPU per worker;
* :mod:`~theory.engine.faults` -- fault injection (a worker that dies once).

Part of the core: it imports neither ``theory.nets`` nor ``figures``, so network sweeps
(:mod:`theory.nets.sweep`) and kernel-model sweeps can both use it. ``dask``, ``distributed`` and ``tqdm`` are
imported when used, not with ``theory``. Guide: docs/sweeps.md.
"""
from .cluster import LOCALHOST
from .cluster import SchedulerUnreachable
from .cluster import connect
from .cluster import default_workers
from .cluster import local_cluster
from .cluster import open_client
from .cluster import slurm_cluster
from .cluster import slurm_job_script
from .environment import compilation_cache_dir
from .environment import sequential_threads
from .environment import visible_gpus
from .environment import worker_environment
from .faults import exit_once
from .graph import Task
from .graph import TaskResult
from .graph import describe_error
from .graph import run_graph
from .graph import task_resources

__all__ = ["Task", "TaskResult", "run_graph", "task_resources", "describe_error", "open_client", "local_cluster",
           "connect", "slurm_cluster", "slurm_job_script", "default_workers", "LOCALHOST", "SchedulerUnreachable",
           "worker_environment", "sequential_threads", "visible_gpus", "compilation_cache_dir", "exit_once"]

"""Where tasks run: in this process, an embedded LocalCluster, an existing Dask cluster, or SLURM jobs.

* :func:`local_cluster` -- ``W`` worker *processes* on this machine (``spawn``: JAX is not fork-safe), one
  task at a time each (``threads_per_worker=1``), listening on 127.0.0.1 only; with GPUs one worker per GPU
  holding the resource ``{"GPU": 1}``;
* :func:`connect` -- a client of a running scheduler (``dask scheduler`` / ``dask worker`` started by hand, a
  Kubernetes or cloud pool), failing within ``timeout`` seconds with one clear line when it cannot be reached;
* :func:`slurm_cluster` -- a :class:`dask_jobqueue.SLURMCluster` whose jobs each run worker processes;
  :func:`slurm_job_script` is the batch script it would submit (inspectable without SLURM);
* :func:`open_client` -- the one entry point of the command lines: a context manager giving a
  :class:`distributed.Client`, or None for ``workers=1`` (in this process, exactly as a sequential run).

Every worker gets :func:`~theory.engine.environment.worker_environment` (pinned threads, no GPU preallocation,
a compilation cache). Usage and guarantees: docs/sweeps.md.
"""
from __future__ import annotations

import contextlib
import logging

from .._checks import check_integer, check_positive
from .environment import sequential_threads, visible_gpus, worker_environment

__all__ = ["default_workers", "local_cluster", "connect", "slurm_cluster", "slurm_job_script", "open_client",
           "LOCALHOST", "SchedulerUnreachable"]

#: the address every cluster this module starts listens on, unless told otherwise.
LOCALHOST = "127.0.0.1"


class SchedulerUnreachable(ConnectionError):
    """The Dask scheduler given could not be reached in time."""


def _spawn():
    import dask

    dask.config.set({"distributed.worker.multiprocessing-method": "spawn"})  # read at every worker (re)start


def default_workers(gpus=None) -> int:
    """Worker processes that make sense on this machine: one per GPU (:func:`visible_gpus`), else one per core."""
    gpus = visible_gpus() if gpus is None else list(gpus)
    return len(gpus) or sequential_threads()


def local_cluster(workers: int | None = None, *, threads: int | None = None, gpus=None,
                  memory_fraction: float | None = None, cache_dir=None):
    """An embedded :class:`distributed.LocalCluster` of worker processes on 127.0.0.1.

    Args:
      workers: worker processes (default: one per GPU, else one per core).
      threads: XLA/BLAS threads per worker (default: a sequential run's, :func:`sequential_threads`, so that the
        workers' numbers equal it bit for bit on CPU; fewer avoids oversubscribing the cores, see docs/sweeps.md).
      gpus: CUDA device ids to use (default :func:`visible_gpus`; ``()`` for none). With GPUs every worker holds
        ``{"GPU": 1}`` and keeps one device.
      memory_fraction: the share of a GPU's memory one worker may take (None: on demand).
      cache_dir: the XLA compilation cache (default per machine).

    The scheduler serves its HTTP endpoints (and the dashboard, when ``bokeh`` is installed:
    ``client.dashboard_link``) on a free port of 127.0.0.1, like everything else here.
    """
    import dask
    from distributed import LocalCluster

    gpus = visible_gpus() if gpus is None else [str(g) for g in gpus]
    workers = default_workers(gpus) if workers is None else check_integer(workers, "workers", minimum=1)
    env = worker_environment(threads, memory_fraction=memory_fraction, cache_dir=cache_dir)
    options = {}
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        options.update(resources={"GPU": 1}, preload=["theory.engine.environment"])
    _spawn()
    # The nanny sets its "pre-spawn" variables (OMP/MKL/OPENBLAS_NUM_THREADS=1 by default) before the worker
    # process imports numpy, which reads them then: the thread counts must be among them (a variable set in this
    # process's environment takes precedence there, as it does for a sequential run here).
    pre_spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **env}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}):
        # the scheduler serves HTTP (health, metrics; the dashboard with bokeh) even without a dashboard: a free
        # port of 127.0.0.1, never another interface
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=LOCALHOST,
                            dashboard_address=f"{LOCALHOST}:0", env=env, silence_logs=logging.ERROR, **options)


def connect(address: str, timeout: float = 10.0):
    """A :class:`distributed.Client` of the scheduler at ``address`` (``tcp://host:port``).

    Raises:
      SchedulerUnreachable: no scheduler answered within ``timeout`` seconds (one line: the address and what to do).
    """
    from distributed import Client

    timeout = check_positive(timeout, "timeout")
    try:
        return Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SchedulerUnreachable(
            f"no Dask scheduler answered at {address} within {timeout:g} s ({reason}); start one there "
            "(`dask scheduler`, then `dask worker ADDRESS`) or check --scheduler.") from None


def slurm_cluster(*, queue: str | None = None, walltime: str = "01:00:00", cores: int = 4, memory: str = "16GB",
                  gpus_per_job: int = 0, account: str | None = None, host: str | None = None,
                  interface: str | None = None, python: str | None = None, prologue=(), threads: int | None = None,
                  memory_fraction: float | None = None, cache_dir=None, log_directory: str | None = None):
    """A :class:`dask_jobqueue.SLURMCluster` (no job is submitted until it is scaled).

    Each job runs one worker process per GPU (``gpus_per_job`` > 0: ``--gres=gpu:N``, every worker holding
    ``{"GPU": 1}`` and keeping one of the job's devices) or, without GPUs, one per core (``cores`` processes
    of one XLA thread each unless ``threads`` says otherwise). The scheduler runs in this process.

    Args:
      queue, account, walltime, cores, memory: the job's ``#SBATCH -p / -A / -t / --cpus-per-task / --mem``.
      gpus_per_job: GPUs per job (``--gres=gpu:N``); 0 for CPU jobs.
      host: the address the scheduler listens on (reachable from the compute nodes; ``127.0.0.1`` in tests).
      interface: the network interface the workers (and, without ``host``, the scheduler) use, e.g. ``ib0``.
      python: the Python executable on the compute nodes (default: this one).
      prologue: shell lines run before the worker (e.g. ``module load cuda``, activating an environment).
      threads, memory_fraction, cache_dir: as :func:`~theory.engine.environment.worker_environment`.
      log_directory: where SLURM writes the jobs' output.
    """
    from dask_jobqueue import SLURMCluster

    cores = check_integer(cores, "cores", minimum=1)
    gpus_per_job = check_integer(gpus_per_job, "gpus_per_job", minimum=0)
    processes = gpus_per_job or cores
    threads = max(1, cores // processes) if threads is None else threads
    env = worker_environment(threads, memory_fraction=memory_fraction, cache_dir=cache_dir)
    env.pop("JAX_COMPILATION_CACHE_DIR")  # per node: expanded on the node itself
    exports = [f"export {name}={value}" for name, value in env.items()]
    cache = cache_dir if cache_dir is not None else "$HOME/.cache/kd-theory/xla"
    exports.append(f'export JAX_COMPILATION_CACHE_DIR="{cache}/$(hostname)"')
    extra_args, directives = [], []
    if gpus_per_job:
        directives.append(f"--gres=gpu:{gpus_per_job}")
        extra_args += ["--resources", "GPU=1", "--preload", "theory.engine.environment"]
    scheduler_options = {"dashboard_address": ":8787"}  # jobqueue's default (all interfaces), unless a host is set
    if host is not None:
        scheduler_options.update(host=host, dashboard_address=f"{host}:0")
    if interface is not None and host is None:
        scheduler_options["interface"] = interface
    # one task per worker process: one dask thread each (``cores=processes``), the job still books ``cores`` CPUs
    return SLURMCluster(queue=queue, account=account, walltime=walltime, cores=processes, job_cpu=cores,
                        processes=processes,
                        memory=memory, interface=interface, python=python, log_directory=log_directory,
                        job_extra_directives=directives, worker_extra_args=extra_args,
                        job_script_prologue=[*exports, *prologue], scheduler_options=scheduler_options)


def slurm_job_script(**options) -> str:
    """The batch script :func:`slurm_cluster` with these options would submit (starts and stops its scheduler,
    submits nothing; runs without SLURM)."""
    cluster = slurm_cluster(**options)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


@contextlib.contextmanager
def open_client(workers: int | None = None, *, scheduler: str | None = None, slurm: dict | None = None,
                jobs: int = 1, timeout: float = 10.0, **local):
    """A :class:`distributed.Client` for the duration of a ``with`` block, or None for ``workers=1``.

    Exactly one of: ``scheduler`` (:func:`connect`), ``slurm`` (options of :func:`slurm_cluster`, scaled to
    ``jobs`` jobs), else ``workers`` local processes (:func:`local_cluster` with the options ``local``;
    ``workers=1`` runs in this process, no cluster; None: :func:`default_workers`). What it started is closed
    at the end.

    Example:
      >>> with open_client(1) as client:
      ...     client is None
      True
    """
    if scheduler is not None and slurm is not None:
        raise ValueError("give either scheduler or slurm, not both.")
    if scheduler is not None:
        client = connect(scheduler, timeout)
        try:
            yield client
        finally:
            client.close()
        return
    if slurm is None:
        workers = default_workers(local.get("gpus")) if workers is None else check_integer(workers, "workers",
                                                                                             minimum=1)
    if slurm is None and workers == 1:
        yield None
        return
    from distributed import Client

    if slurm is not None:
        cluster = slurm_cluster(**slurm)
        cluster.scale(jobs=check_integer(jobs, "jobs", minimum=1))
    else:
        cluster = local_cluster(workers, **local)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()

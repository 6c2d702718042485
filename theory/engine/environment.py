"""What a worker process is told before it imports JAX: thread counts, GPU memory, the compilation cache.

A worker's numbers equal the sequential run's bit for bit on CPU when both use the same number of XLA threads
(docs/sweeps.md): XLA's CPU convolutions split their reductions by thread count (a 2-thread and a 1-thread run of
the same small CNN differ by ~4e-6 in their logits; the MLPs measured did not differ), so every worker gets
its thread count pinned through ``PJRT_NPROC`` (read by XLA's CPU client when it starts) and the BLAS/OpenMP
variables for numpy. The default, :func:`sequential_threads`, is what a sequential run in this process uses.

GPU workers: ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (JAX otherwise takes 75 % of the device at start, so a
second process on the same GPU fails), optionally ``XLA_PYTHON_CLIENT_MEM_FRACTION``; every worker compiles
into a per-machine cache directory (``JAX_COMPILATION_CACHE_DIR``), so a restarted worker or the next sweep
does not compile the same training step again.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from .._checks import check_fraction, check_integer

__all__ = ["sequential_threads", "visible_gpus", "compilation_cache_dir", "worker_environment", "THREAD_VARIABLES",
           "worker_index", "dask_setup"]

#: environment variables that set a worker's thread counts (XLA's CPU client, OpenMP, OpenBLAS, MKL).
THREAD_VARIABLES = ("PJRT_NPROC", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def sequential_threads() -> int:
    """XLA CPU threads of a sequential run in this process: ``$PJRT_NPROC`` if set, else the usable cores."""
    pinned = os.environ.get("PJRT_NPROC", "").strip()
    if pinned.isdigit() and int(pinned) > 0:
        return int(pinned)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The CUDA devices this machine offers workers (``$CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``).

    Does not initialise JAX (which would take GPU memory in the client process); ``[]`` without GPUs.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in listing.stdout.splitlines() if l.startswith("GPU "))]


def compilation_cache_dir(root=None) -> str:
    """A per-machine XLA compilation cache: ``<root>/<hostname>`` (root default ``~/.cache/kd-theory/xla``).

    Per machine because a compiled executable is specific to the CPU/GPU it was compiled for, and a home
    directory is often shared by the nodes of a cluster. Without ``root``, ``$JAX_COMPILATION_CACHE_DIR`` (if
    set in this process) is used as it is.
    """
    if root is None and os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    root = Path(root) if root is not None else Path.home() / ".cache" / "kd-theory" / "xla"
    return str(root / socket.gethostname())


def worker_environment(threads: int | None = None, *, memory_fraction: float | None = None, cache_dir=None) -> dict:
    """Environment variables for a worker process (set before it imports JAX).

    Example:
      >>> env = worker_environment(1, cache_dir="/tmp/xla")
      >>> env["PJRT_NPROC"], env["OMP_NUM_THREADS"], env["XLA_PYTHON_CLIENT_PREALLOCATE"]
      ('1', '1', 'false')

    Args:
      threads: XLA CPU, OpenMP and BLAS threads per worker (default :func:`sequential_threads`: the worker
        computes what a sequential run here computes, bit for bit on CPU).
      memory_fraction: the share of a GPU's memory a worker may take (``XLA_PYTHON_CLIENT_MEM_FRACTION``);
        None: allocate on demand only.
      cache_dir: XLA compilation cache (default :func:`compilation_cache_dir`).

    Returns:
      ``{name: value}``, all strings.
    """
    threads = sequential_threads() if threads is None else check_integer(threads, "threads", minimum=1)
    env = {name: str(threads) for name in THREAD_VARIABLES}
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    if memory_fraction is not None:
        fraction = check_fraction(memory_fraction, "memory_fraction", closed_low=False, closed_high=True)
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{fraction:g}"
    env["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir) if cache_dir is not None else compilation_cache_dir()
    return env


def worker_index(name) -> int:
    """A worker's index within its machine or job: ``3`` (LocalCluster names) or the last ``-<i>`` of a
    dask-jobqueue name such as ``"SLURMCluster-12-3"``; 0 when the name has no index."""
    text = str(name)
    tail = text.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def dask_setup(worker) -> None:
    """Worker preload (``--preload theory.engine.environment``): one GPU per worker process.

    When the process sees several GPUs (``$CUDA_VISIBLE_DEVICES``: a multi-GPU node, or a SLURM job with
    ``--gres=gpu:N`` running N worker processes), it keeps only the one at its :func:`worker_index` (modulo
    their number), before JAX starts, so that the workers of one machine do not all use the first GPU.
    """
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if len(visible) > 1:
        os.environ["CUDA_VISIBLE_DEVICES"] = visible[worker_index(worker.name) % len(visible)]

"""Benchmark: a small sweep with 1 worker (in this process) against 2 workers (LocalCluster), and the engine's cost
per task.

* **Sweep.** ``--settings`` settings of a small grid (digits, MLP of width 32, ``--epochs`` epochs; settings differ
  in temperature and label noise so that they share nothing but the data), one seed: 5 runs and one measurement
  each, trained into a fresh run store by :func:`theory.nets.sweep.sweep_settings`: in this process (the
  sequential sweep), then on a 2-worker :func:`theory.engine.local_cluster` with threads pinned as this process's
  (bit-identical numbers, the default) and with one thread per worker (no oversubscription). Wall times include
  compilation, each worker compiling for itself; the cluster's start-up (spawning 2 processes that import JAX)
  is timed apart. The ratio is sequential / cluster, from the same invocation.
* **Overhead per task.** ``--tasks`` no-op tasks (``abs(-1)``) through :func:`theory.engine.run_graph`: on the
  cluster, and in this process, against calling the function directly; (graph − direct) / tasks.

Run: ``python benchmarks/sweep.py`` (a few minutes on 2 cores). Every process listens on 127.0.0.1. Not a test.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from theory.engine import Task, local_cluster, run_graph  # noqa: E402
from theory.nets.experiment import Setting  # noqa: E402
from theory.nets.sweep import sweep_settings  # noqa: E402


def settings(count: int, epochs: int) -> list:
    base = Setting("bench", dataset="digits", width=32, teacher_epochs=epochs, student_epochs=epochs, record=4,
                   track_points=200)
    grid = [dict(temperature=t, label_noise=n) for n in (0.0, 0.2) for t in (1.0, 2.0, 4.0)]
    return [dataclasses.replace(base, name=f"τ={g['temperature']:g} noise={g['label_noise']:g}", **g)
            for g in grid[:count]]


def timed_sweep(grid, client) -> float:
    with tempfile.TemporaryDirectory() as runs:
        tick = time.perf_counter()
        result = sweep_settings(grid, [0], runs, client=client, log=lambda line: None)
        seconds = time.perf_counter() - tick
    assert not result.failures, result.failures
    return seconds


def cluster_sweep(grid, threads):
    from distributed import Client

    tick = time.perf_counter()
    cache = tempfile.mkdtemp()  # a fresh compilation cache: every cluster compiles for itself
    cluster = local_cluster(2, threads=threads, gpus=(), cache_dir=cache)
    client = Client(cluster)
    client.wait_for_workers(2)
    start = time.perf_counter() - tick
    try:
        return start, timed_sweep(grid, client), client, cluster
    except BaseException:
        client.close()
        cluster.close()
        raise


def overhead(client, count: int) -> float:
    tasks = [Task(f"noop-{i}", abs, (-1,)) for i in range(count)]
    tick = time.perf_counter()
    results = run_graph(tasks, client, progress=False)
    graph = time.perf_counter() - tick
    assert all(r.ok for r in results.values())
    tick = time.perf_counter()
    for task in tasks:
        task.function(*task.args)
    direct = time.perf_counter() - tick
    return (graph - direct) / count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args(argv)
    grid = settings(args.settings, args.epochs)
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {len(grid)} settings × 5 runs, "
          f"{args.epochs} epochs")
    here = timed_sweep(grid, None)
    print(f"1 worker (this process)       : {here:7.1f} s")
    here_overhead = overhead(None, args.tasks)
    for threads in (None, 1):
        start, there, client, cluster = cluster_sweep(grid, threads)
        label = "threads as here" if threads is None else "1 thread each"
        print(f"2 workers, {label:<16}: {there:7.1f} s (+ {start:.1f} s start-up); sequential / cluster "
              f"{here / there:.2f} (with start-up {here / (there + start):.2f})")
        if threads is None:
            cluster_overhead = overhead(client, args.tasks)
        client.close()
        cluster.close()
    print(f"overhead per task, {args.tasks} no-op tasks: cluster {cluster_overhead * 1e3:.2f} ms, "
          f"in process {here_overhead * 1e6:.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

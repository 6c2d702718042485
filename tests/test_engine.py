"""Tests of theory.engine: the task graph (here and on a LocalCluster), a worker killed mid-task, an unreachable
scheduler, the SLURM job script, the workers' environment. Every scheduler and worker listens on 127.0.0.1."""
import os
import socket
import time
from types import SimpleNamespace

import pytest

from theory.engine import (SchedulerUnreachable, Task, connect, exit_once, run_graph, slurm_job_script,
                           worker_environment)
from theory.engine.environment import dask_setup, sequential_threads, worker_index


def graph():
    """a -> b (fails), c (fails) -> d (skipped), e independent."""
    return [Task("d", abs, (-1,), depends=("c",)), Task("a", pow, (2, 10)), Task("b", int, ("x",), depends=("a",)),
            Task("c", int, ("y",)), Task("e", max, (3, 4))]


def summary(results):
    return {key: (r.status, r.value, r.error) for key, r in results.items()}


def test_graph_runs_in_dependency_order_and_reports_failures():
    seen = []
    results = run_graph(graph(), progress=False, on_result=lambda r: seen.append(r.key))
    assert list(results) == ["c", "d", "a", "b", "e"] == seen  # dependencies first, otherwise as given
    assert summary(results) == {"a": ("done", 1024, ""), "e": ("done", 4, ""),
                                "b": ("failed", None, "ValueError: invalid literal for int() with base 10: 'x'"),
                                "c": ("failed", None, "ValueError: invalid literal for int() with base 10: 'y'"),
                                "d": ("skipped", None, "dependency 'c' failed")}


def test_graph_retries_a_task_that_raised(tmp_path):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError("transient")
        return "ok"

    assert run_graph([Task("f", flaky)], retries=2, progress=False)["f"].value == "ok" and len(calls) == 3
    calls.clear()
    assert run_graph([Task("f", flaky)], retries=1, progress=False)["f"].error == "OSError: transient"


def test_graph_refuses_bad_graphs():
    with pytest.raises(ValueError, match="appears twice"):
        run_graph([Task("a", abs, (1,)), Task("a", abs, (2,))])
    with pytest.raises(ValueError, match="not among the tasks"):
        run_graph([Task("a", abs, (1,), depends=("z",))])
    with pytest.raises(ValueError, match="cycle through a -> b -> a"):
        run_graph([Task("a", abs, (1,), depends=("b",)), Task("b", abs, (1,), depends=("a",))])
    with pytest.raises(ValueError, match="retries must be an integer >= 0"):
        run_graph([Task("a", abs, (1,))], retries=-1)


def test_local_cluster_listens_on_localhost_with_pinned_workers(dask_client):
    info = dask_client.scheduler_info()
    assert dask_client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    expected = worker_environment()
    expected.pop("JAX_COMPILATION_CACHE_DIR")  # the fixture's is temporary
    env = dask_client.run(lambda: {k: os.environ.get(k) for k in expected})
    assert all(values == expected for values in env.values())
    assert expected["PJRT_NPROC"] == str(sequential_threads())
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def numpy_blas_threads():  # numpy's BLAS read its thread count when the worker process imported numpy
        import numpy  # noqa: F401

        return {p["num_threads"] for p in threadpoolctl.threadpool_info() if "numpy" in p["filepath"]}

    pinned = {int(expected["OPENBLAS_NUM_THREADS"])}
    assert all(threads == pinned for threads in dask_client.run(numpy_blas_threads).values())


def test_graph_on_a_cluster_equals_the_graph_here(dask_client):
    here = summary(run_graph(graph(), progress=False))
    there = run_graph(graph(), dask_client, progress=False)
    assert summary(there) == here and set(there) == set(here)


def test_a_worker_killed_mid_task_is_replaced_and_its_task_rerun(dask_client, tmp_path):
    marker = tmp_path / "killed"
    tasks = [Task("kill", exit_once, (str(marker), "was here")), Task("after", abs, (-2,), depends=("kill",))]
    results = run_graph(tasks, dask_client, retries=0, progress=False)
    assert marker.read_text() == "was here"  # the first attempt ended its worker process
    assert summary(results) == {"kill": ("done", False, ""), "after": ("done", 2, "")}  # the rerun found the marker
    dask_client.wait_for_workers(2, timeout=60)  # the nanny started a new one


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_fails_fast_with_one_clear_line():
    address = f"tcp://127.0.0.1:{closed_port()}"
    tick = time.perf_counter()
    with pytest.raises(SchedulerUnreachable) as caught:
        connect(address, timeout=2)
    assert time.perf_counter() - tick < 10
    message = str(caught.value)
    assert "\n" not in message and address in message and "within 2 s" in message and "--scheduler" in message


def test_slurm_job_script_asks_for_what_was_given():
    script = slurm_job_script(queue="gpu", account="kd", walltime="02:30:00", cores=8, memory="32GB",
                              gpus_per_job=2, host="127.0.0.1", prologue=("module load cuda",))
    lines = script.splitlines()
    for expected in ("#SBATCH -p gpu", "#SBATCH -A kd", "#SBATCH -t 02:30:00", "#SBATCH --gres=gpu:2",
                     "#SBATCH --mem=30G", "module load cuda", "export XLA_PYTHON_CLIENT_PREALLOCATE=false",
                     "export PJRT_NPROC=4"):
        assert any(line.strip().startswith(expected) for line in lines), (expected, script)
    command = lines[-1]
    assert "tcp://127.0.0.1:" in command and "--nworkers 2" in command and "--nthreads 1" in command
    assert "--resources GPU=1" in command and "--preload theory.engine.environment" in command
    cpu = slurm_job_script(cores=4, memory="8GB", host="127.0.0.1")
    assert "gres" not in cpu and "--nworkers 4" in cpu and "export PJRT_NPROC=1" in cpu


def test_worker_environment_and_gpu_choice(monkeypatch):
    env = worker_environment(3, memory_fraction=0.25, cache_dir="/cache")
    assert env["OMP_NUM_THREADS"] == env["PJRT_NPROC"] == "3" and env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.25"
    assert env["JAX_COMPILATION_CACHE_DIR"] == "/cache"
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        worker_environment(0)
    assert [worker_index(n) for n in (3, "SLURMCluster-12-1", "SLURMCluster-12", "w")] == [3, 1, 12, 0]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6")
    dask_setup(SimpleNamespace(name="SLURMCluster-7-1"))
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    dask_setup(SimpleNamespace(name=0))  # a single device stays
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"

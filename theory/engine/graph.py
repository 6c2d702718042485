"""A task graph run on a Dask client, or in this process: keys, dependencies, retries, failures, progress.

A :class:`Task` is a function call with a key (a run's config hash: the same work has the same key) and the
keys it depends on. :func:`run_graph` submits every task at once -- Dask starts a task when its dependencies are
done -- and gathers the results as they complete (:func:`distributed.as_completed`):

* a task that raises is retried ``retries`` times, then reported as ``"failed"`` with its error (one line); the
  tasks depending on it are ``"skipped"`` (naming the failed dependency); every other task goes on;
* a worker that dies is replaced by its nanny, and the scheduler runs its task again elsewhere (up to
  ``distributed.scheduler.allowed-failures`` deaths per task, then ``KilledWorker``) -- tasks must therefore be
  idempotent (a run resumes from its checkpoint; see :mod:`theory.nets.store`);
* without a client (``client=None``) the tasks run here, in dependency order, with the same retries and
  reports: the sequential run.

A progress bar counts done / running / failed tasks (tqdm; quiet when stderr is not a terminal).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .._checks import check_integer

__all__ = ["Task", "TaskResult", "run_graph", "task_resources", "describe_error"]


@dataclass(frozen=True)
class Task:
    """``function(*args, **kwargs)`` under ``key``, started once the tasks ``depends`` (keys) are done.

    ``resources`` (e.g. ``{"GPU": 1}``) restricts it to workers declaring them. ``function`` must be importable
    by the workers (a module-level function), and its arguments picklable.
    """

    key: str
    function: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    depends: tuple = ()
    resources: dict | None = None


@dataclass
class TaskResult:
    """What became of one task: ``status`` ``"done"`` (``value``), ``"failed"`` or ``"skipped"`` (``error``)."""

    key: str
    status: str
    value: Any = None
    error: str = ""
    seconds: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.status == "done"


def describe_error(error: BaseException) -> str:
    """``"TypeName: first line of the message"``."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def _ordered(tasks) -> list:
    """The tasks in an order where every task follows its dependencies (stable); checks keys and cycles."""
    by_key = {}
    for task in tasks:
        if not isinstance(task, Task):
            raise ValueError(f"tasks must be Task values, got {type(task).__name__}.")
        if task.key in by_key:
            raise ValueError(f"task key {task.key!r} appears twice; one task per key (the same work, once).")
        by_key[task.key] = task
    for task in by_key.values():
        for dep in task.depends:
            if dep not in by_key:
                raise ValueError(f"task {task.key!r} depends on {dep!r}, which is not among the tasks.")
    order, state = [], {}

    def visit(task, path):
        if state.get(task.key) == "done":
            return
        if state.get(task.key) == "visiting":
            raise ValueError(f"the task graph has a cycle through {' -> '.join(path + [task.key])}.")
        state[task.key] = "visiting"
        for dep in task.depends:
            visit(by_key[dep], path + [task.key])
        state[task.key] = "done"
        order.append(task)

    for task in by_key.values():
        visit(task, [])
    return order


def _call(function, args, kwargs, *dependencies):
    """What a worker runs: the task's call (its dependencies' values only order it), timed."""
    tick = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - tick


def task_resources(client, gpus: bool | None = None) -> dict | None:
    """``{"GPU": 1}`` when tasks should hold a GPU each (``gpus``, or None: some worker of ``client`` declares
    a ``GPU`` resource), else None."""
    if gpus is None:
        workers = client.scheduler_info().get("workers", {}).values() if client is not None else ()
        gpus = any("GPU" in worker.get("resources", {}) for worker in workers)
    return {"GPU": 1} if gpus else None


def run_graph(tasks, client=None, *, retries: int = 1, progress: bool = True,
              on_result: Callable | None = None, desc: str = "tasks") -> dict:
    """Runs ``tasks`` on ``client`` (a :class:`distributed.Client`; None: in this process, in order).

    Example:
      >>> results = run_graph([Task("a", pow, (2, 10)), Task("b", int, ("x",), depends=("a",)),
      ...                      Task("c", int, ("y",)), Task("d", abs, (-1,), depends=("c",))], progress=False)
      >>> [(r.key, r.status, r.value) for r in results.values()]
      [('a', 'done', 1024), ('b', 'failed', None), ('c', 'failed', None), ('d', 'skipped', None)]
      >>> results["d"].error
      "dependency 'c' failed"

    Args:
      tasks: :class:`Task` values with unique keys (any order; dependencies must be among them).
      client: where to run them; None runs them here.
      retries: further attempts of a task that raised (a dead worker's task is rescheduled regardless).
      progress: show a bar (done, running, failed) when stderr is a terminal.
      on_result: called with each :class:`TaskResult` as it arrives, in this process (e.g. to write results
        so far).
      desc: the bar's label.

    Returns:
      ``{key: TaskResult}`` in dependency order.
    """
    from tqdm.auto import tqdm

    order = _ordered(tasks)
    retries = check_integer(retries, "retries", minimum=0)
    results: dict = {}
    bar = tqdm(total=len(order), desc=desc, unit="task", disable=None if progress else True, leave=True)
    counts = {"failed": 0}

    def record(result, running):
        results[result.key] = result
        counts["failed"] += result.status != "done"
        bar.update(1)
        if not bar.disable:
            bar.set_postfix(running=running, failed=counts["failed"])
        if on_result is not None:
            on_result(result)

    try:
        if client is None:
            _run_here(order, retries, results, record)
        else:
            _run_on(client, order, retries, results, record, bar)
    finally:
        bar.close()
    return {task.key: results[task.key] for task in order}


def _run_here(order, retries, results, record):
    for task in order:
        failed = next((d for d in task.depends if not results[d].ok), None)
        if failed is not None:
            record(TaskResult(task.key, "skipped", error=f"dependency {failed!r} failed"), 0)
            continue
        for attempt in range(retries + 1):
            try:
                value, seconds = _call(task.function, task.args, task.kwargs)
            except Exception as error:  # reported, and the other tasks go on
                if attempt == retries:
                    record(TaskResult(task.key, "failed", error=describe_error(error)), 0)
            else:
                record(TaskResult(task.key, "done", value, seconds=seconds), 0)
                break


def _run_on(client, order, retries, results, record, bar):
    from distributed import as_completed

    futures = {}
    for task in order:
        futures[task.key] = client.submit(_call, task.function, task.args, task.kwargs,
                                          *[futures[d] for d in task.depends], key=task.key, retries=retries,
                                          resources=task.resources, pure=False)
    depends = {task.key: task.depends for task in order}
    try:
        for future in as_completed(list(futures.values())):
            key = future.key
            running = sum(map(len, client.processing().values())) if not bar.disable else 0
            if future.status == "finished":
                value, seconds = future.result()
                record(TaskResult(key, "done", value, seconds=seconds), running)
                continue
            failed = next((d for d in depends[key] if futures[d].status != "finished"), None)
            if failed is not None:
                record(TaskResult(key, "skipped", error=f"dependency {failed!r} failed"), running)
            elif future.status == "cancelled":
                record(TaskResult(key, "failed", error="cancelled"), running)
            else:
                record(TaskResult(key, "failed", error=describe_error(future.exception())), running)
    finally:
        client.cancel([f for f in futures.values() if not f.done()])
        futures.clear()

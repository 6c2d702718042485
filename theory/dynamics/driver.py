"""The one simulation driver: a state advanced by a step function, recorded on a schedule, in one ``jit``.

Every simulation of the toolkit is an iteration s_{t+1} = step(s_t, t, shared, run) on a state s (any JAX
pytree: the outputs and dual coefficients of a kernel model, the weights of a linear model, the parameters
of a network), where ``shared`` are operands common to every run (a kernel K, features Φ, inputs x) and
``run`` (a :class:`Run`) holds what one run owns: its learning rate η, its targets, the parameters of its
loss, and its batch key. The loss enters only through a *gradient function* with those parameters,
``gradient(outputs, targets, parameters)`` = ∂L/∂outputs (docs/maths.md §2): the squared residual F − Y, or
the temperature-scaled softmax cross-entropy residual of ``theory.dynamics.cross_entropy``. The models'
steps are built from it in ``theory.dynamics.models``; :func:`descent` builds the plain gradient step
θ ← θ − η d(θ) from any direction d, e.g. ``jax.grad`` of a network's loss.

:func:`simulate` runs ``steps`` steps of one step function and records ``observe(state)`` at the steps of a
:class:`Schedule` (every k steps and/or at explicit checkpoints): a ``lax.scan`` over the gaps between
recorded steps around a ``lax.fori_loop`` that steps, so memory is O(records), not O(steps), and only the
number of records is static under ``jit``. :func:`over_runs` vmaps a step over a leading run axis P of
the state and of ``run``: the one sweep path, for every loss and model (P = 1 for a single run). Minibatch
steps draw their indices with :func:`draw_batch`, so a seed draws the same batches whatever the loss or
the model. Simulations run in float64 inside ``jax.enable_x64(True)`` (never switched on globally) unless
asked to keep the ambient precision (a float32 network), and return numpy float64 records.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, check_integer, check_memory, check_sorted_unique

__all__ = ["Recording", "Run", "Schedule", "check_records_fit", "descent", "draw_batch", "over_runs", "simulate"]


@dataclass(frozen=True)
class Schedule:
    """When a simulation of ``steps`` steps records its state.

    Recorded steps: ``0, k, 2k, …`` and always ``steps`` when ``record_every`` = k is given, together with
    the ``checkpoints`` (strictly increasing steps in [0, ``steps``]); at least one of the two is needed.

    Example:
        >>> Schedule(10, record_every=4).recorded.tolist()
        [0, 4, 8, 10]
        >>> Schedule.at([3, 5, 9]).recorded.tolist()
        [3, 5, 9]
    """

    steps: int
    record_every: int | None = None
    checkpoints: tuple | None = ()

    def __post_init__(self):
        object.__setattr__(self, "steps", check_integer(self.steps, "steps", minimum=0))
        object.__setattr__(self, "record_every",
                           check_integer(self.record_every, "record_every", minimum=1, allow_none=True))
        checkpoints = check_sorted_unique(
            as_array(() if self.checkpoints is None else self.checkpoints, "checkpoints", ndim=1, dtype=None),
            "checkpoints")
        values = tuple(check_integer(value, "checkpoints", minimum=0, maximum=self.steps)
                       for value in checkpoints.tolist())
        object.__setattr__(self, "checkpoints", values)
        if self.record_every is None and not values:
            raise ValueError("record_every must be an integer >= 1 when no checkpoints are given, got None.")

    @classmethod
    def at(cls, checkpoints) -> "Schedule":
        """Record exactly at ``checkpoints`` (strictly increasing integers ≥ 0), ending at the last one."""
        values = as_array(checkpoints, "checkpoints", ndim=1, dtype=None)
        if values.size == 0:
            raise ValueError("checkpoints must be a non-empty sequence of steps, got [].")
        last = check_integer(values[-1].item(), "checkpoints", minimum=0)
        return cls(last, None, tuple(values.tolist()))

    @property
    def count(self) -> int:
        """The number R of recorded steps, computed without listing them (for the memory guard)."""
        count = len(self.checkpoints)
        if self.record_every is not None:
            every = self.record_every
            count = self.steps // every + 1 + (self.steps % every != 0)
            count += sum(1 for step in self.checkpoints if step % every != 0 and step != self.steps)
        return count

    @property
    def recorded(self) -> np.ndarray:
        """(R,) int64 recorded steps, increasing."""
        marks = set(self.checkpoints)
        if self.record_every is not None:
            marks.update(range(0, self.steps + 1, self.record_every))
            marks.add(self.steps)
        return np.array(sorted(marks), dtype=np.int64)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["learning_rate", "targets", "loss", "key"],
                   meta_fields=[])
@dataclass(frozen=True)
class Run:
    """What one run owns (a pytree; under :func:`over_runs` every leaf has a leading run axis P).

    Attributes:
        learning_rate: step size η.
        targets: the targets Y or Q of the loss (``None`` where the step does not use them).
        loss: pytree of the loss's per-run parameters, passed to its gradient function (``()`` if none).
        key: JAX key of the minibatch draws (``None`` for full batch).
    """

    learning_rate: Any
    targets: Any = None
    loss: Any = ()
    key: Any = None


@dataclass(frozen=True, eq=False)
class Recording:
    """What :func:`simulate` returns.

    Attributes:
        steps: (R,) int64 recorded steps (``Schedule.recorded``).
        records: pytree of ``observe(state)`` at those steps, each leaf a numpy float64 array (R, ...).
        final: the state after ``Schedule.steps`` steps (JAX arrays).
    """

    steps: np.ndarray
    records: Any
    final: Any


def draw_batch(key, step_index, n: int, batch_size: int, replace: bool):
    """The (batch_size,) indices of step ``step_index``: a draw from ``fold_in(key, step_index)``.

    Distinct within a step unless ``replace``; shared by every minibatch step, so the same seed draws the
    same batches whatever the loss or the model (kernel or linear).
    """
    return jax.random.choice(jax.random.fold_in(key, step_index), n, (batch_size,), replace=replace)


@functools.lru_cache(maxsize=None)
def descent(direction: Callable) -> Callable:
    """The gradient step θ ← θ − η d(θ, t) along ``direction(state, step_index, shared, run)``.

    ``direction`` returns a pytree shaped like the state (e.g. ``jax.grad`` of a loss); η is
    ``run.learning_rate``. Cached, so that ``jit`` sees the same step for the same direction.
    """

    def step(state, step_index, shared, run):
        change = direction(state, step_index, shared, run)
        return jax.tree_util.tree_map(lambda value, delta: value - run.learning_rate * delta, state, change)

    return step


@functools.lru_cache(maxsize=None)
def over_runs(step: Callable) -> Callable:
    """``step`` vmapped over the leading run axis P of the state and of ``run`` (``shared`` is common)."""
    return jax.vmap(step, in_axes=(0, None, None, 0))


def _whole_state(state, shared, run):
    return state


@functools.partial(jax.jit, static_argnames=("step", "observe"))
def _scan(step, observe, state, shared, run, gaps, remainder):
    """Advance by each of ``gaps`` (recording ``observe`` after each), then ``remainder`` more steps."""

    def advance(carry, count):
        def one_step(_, inner):
            state, step_index = inner
            return step(state, step_index, shared, run), step_index + 1

        return jax.lax.fori_loop(0, count, one_step, carry)

    def segment(carry, gap):
        carry = advance(carry, gap)
        return carry, observe(carry[0], shared, run)

    carry, history = jax.lax.scan(segment, (state, jnp.asarray(0)), gaps)
    final, _ = advance(carry, remainder)
    return history, final


def simulate(step: Callable, state, shared, run: Run, schedule: Schedule, *, observe: Callable | None = None,
             x64: bool = True, extra_bytes_per_record: int = 0) -> Recording:
    """Run ``schedule.steps`` steps of ``step`` from ``state``, recording ``observe(state, shared, run)``.

    Args:
        step: ``step(state, step_index, shared, run) -> state``, a hashable function (a module-level or
            cached one is compiled once per shape; a new closure compiles on each call).
        state: the initial state (a pytree of arrays).
        shared: operands common to every step and run (a pytree of arrays).
        run: the :class:`Run` (with a leading run axis P under :func:`over_runs`).
        schedule: the recorded steps.
        observe: what to record, ``observe(state, shared, run)`` (default the whole state).
        x64: run inside ``jax.enable_x64(True)`` (float64); False keeps the ambient precision.
        extra_bytes_per_record: memory the caller's post-processing needs per recorded step (e.g. test
            outputs computed from the records), added to the estimate of :func:`check_records_fit`.

    Returns:
        :class:`Recording` with float64 numpy records.

    Raises:
        ValueError: the records would not fit in memory (:func:`check_records_fit`), before any step.

    Example:
        >>> import numpy as np
        >>> halve = descent(lambda state, step_index, shared, run: state)  # θ ← θ − η θ
        >>> recording = simulate(halve, np.ones(2), (), Run(0.5), Schedule(3, record_every=1))
        >>> recording.steps.tolist(), recording.records[:, 0].tolist()
        ([0, 1, 2, 3], [1.0, 0.5, 0.25, 0.125])
    """
    check_records_fit(schedule, step_bytes=_record_bytes(observe or _whole_state, state, shared, run),
                      extra_bytes=extra_bytes_per_record)
    recorded = schedule.recorded
    gaps = np.diff(recorded, prepend=0)
    remainder = schedule.steps - (int(recorded[-1]) if recorded.size else 0)
    with jax.enable_x64(True) if x64 else contextlib.nullcontext():
        history, final = _scan(step, observe or _whole_state, state, shared, run, jnp.asarray(gaps), remainder)
        records = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf, dtype=np.float64), history)
    return Recording(recorded, records, final)


def _record_bytes(observe: Callable, state, shared, run) -> int:
    """Bytes of one record ``observe(state, shared, run)`` in float64 (shapes only: nothing is computed)."""
    with jax.enable_x64(True):
        shapes = jax.eval_shape(lambda value: observe(value, shared, run), state)
    return sum(8 * int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(shapes))


def check_records_fit(schedule: Schedule, *, step_bytes: int, extra_bytes: int = 0) -> None:
    """Refuse up front a schedule whose records would not fit in memory (``theory._checks.check_memory``).

    The estimate is R · (3 · ``step_bytes`` + ``extra_bytes``) with R = ``schedule.count``: the records are
    held by XLA, copied to float64 numpy, and copied once more when the models reorder their axes.
    """
    count = schedule.count
    check_memory(count * (3 * step_bytes + extra_bytes + 8),
                 f"recording {count} steps of {step_bytes} bytes each (steps={schedule.steps}, "
                 f"record_every={schedule.record_every})",
                 fix="record fewer steps: a larger record_every, or record_every=None with checkpoints at "
                     "the steps you need")

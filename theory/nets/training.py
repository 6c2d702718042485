"""Training a :class:`~theory.nets.config.TrainConfig` into the run store, resumably and deterministically.

``train(config, run_dir)`` returns the stored :class:`~theory.nets.store.Run`: trained now, resumed from its last
checkpoint, or reused as it is when already complete. A student's teacher is trained (or reused) first.

Determinism, so that a resumed run ends as an uninterrupted one on the same machine and software (the same
checkpoint and config.json bytes, the same logits, the same metrics.jsonl and summary.json except their
wall-clock fields ``seconds``, ``seconds_total``, ``seconds_last_session``): the initialisation key is
``fold_in(key(seed), 0)``; the data order of epoch e is the permutation drawn from
``fold_in(fold_in(key(seed), 1), e)``; augmentation at global step k uses ``fold_in(fold_in(key(seed), 2), k)``. Checkpoints hold the whole optimiser state (step count included), so
nothing depends on how many processes the run took. One epoch is ⌊n / batch⌋ jitted optimiser steps on
minibatches (the last incomplete batch is dropped; batch = min(batch_size, n)).

Distillation targets: without augmentation the teacher's logits on the training set (recorded at its final
epoch, eval mode) are looked up per minibatch; with augmentation the teacher is evaluated on each augmented
minibatch. JAX's default device is used (a GPU when JAX sees one).
"""
from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from theory import metrics as theory_metrics

from .._checks import check_integer, check_nonnegative, check_positive

from .config import TrainConfig
from .data import NetData, load_data
from .models import make_model
from .optim import make_optimizer
from .store.claim import LEASE_SECONDS, try_claim
from .store import DEFAULT_RUN_DIR, Run
from .steps import augmented_views, compiled_step, epoch_function, epoch_order, step_structure

__all__ = ["train", "data_for", "model_for", "initial_variables", "final_variables", "predict_logits",
           "step_seconds", "training_views", "batch_order"]

_EVAL_BATCH = 1024


@functools.lru_cache(maxsize=4)
def _cached_data(dataset, data_dir, n_train, n_test, data_seed, data_options, label_noise, noise_seed,
                 fingerprint):  # the files' fingerprint: replaced files are read again
    data = load_data(dataset, data_dir=data_dir, seed=data_seed, n_train=n_train, n_test=n_test,
                     label_noise=label_noise, noise_seed=noise_seed, options=data_options)
    source = data.dataset
    for array in (data.x_train, data.x_test, source.x_train, source.y_train, source.x_test, source.y_test,
                  source.y_train_clean, *source.train_fields.values(), *source.test_fields.values()):
        array.setflags(write=False)
    return data


def data_for(config: TrainConfig) -> NetData:
    """The (cached, read-only) :class:`NetData` a config trains on (read again when its data files change)."""
    return _cached_data(config.dataset, config.data_dir, config.n_train, config.n_test, config.data_seed,
                        config.data_options, config.label_noise, config.noise_seed, config.data_fingerprint())


def model_for(config: TrainConfig, data: NetData):
    """The flax module of a config (:func:`theory.nets.models.make_model`)."""
    return make_model(config.model, data.input_shape, data.num_classes, width=config.width, depth=config.depth)


def initial_variables(config: TrainConfig, data: NetData | None = None) -> dict:
    """``{"params", "batch_stats"}`` at initialisation (key ``fold_in(key(seed), 0)``); deterministic."""
    data = data_for(config) if data is None else data
    model = model_for(config, data)
    key = jax.random.fold_in(jax.random.key(config.seed), 0)
    variables = model.init({"params": key}, jnp.asarray(data.x_train[:1]), train=False)
    return {"params": variables["params"], "batch_stats": variables.get("batch_stats", {})}


def _template(config: TrainConfig, data: NetData, steps_per_epoch: int) -> dict:
    variables = initial_variables(config, data)
    optimizer, _ = make_optimizer(config, steps_per_epoch)
    return {**variables, "opt_state": optimizer.init(variables["params"])}


def final_variables(run: Run) -> dict:
    """``{"params", "batch_stats"}`` of a complete run, from its last checkpoint."""
    if not run.complete:
        raise ValueError(f"run {run.hash} is not complete; train it first.")
    data = data_for(run.config)
    epoch, state = run.load_checkpoint(_template(run.config, data, _steps_per_epoch(run.config, data)))
    return {"params": state["params"], "batch_stats": state["batch_stats"]}


def _steps_per_epoch(config: TrainConfig, data: NetData) -> int:
    return max(1, data.n_train // min(config.batch_size, data.n_train))


def _layout(config: TrainConfig):
    """``(data, augmentation, batch, steps per epoch)`` of a config, its augmentation checked against the data."""
    data = data_for(config)
    augmentation = config.augmentation()
    augmentation.check_input(data.input_shape, config.dataset)
    return data, augmentation, min(config.batch_size, data.n_train), _steps_per_epoch(config, data)


@functools.lru_cache(maxsize=16)
def _logits_fn(model):
    return jax.jit(lambda variables, x: model.apply(variables, x, train=False))


def predict_logits(model, variables, x, batch_size: int = _EVAL_BATCH) -> np.ndarray:
    """Eval-mode logits ``(n, C)`` float32 of ``x (n, *input_shape)``, in padded batches of one compiled shape."""
    apply = _logits_fn(model)
    n = x.shape[0]
    size = min(batch_size, n)
    out = []
    for start in range(0, n, size):
        block = x[start:start + size]
        missing = size - block.shape[0]
        if missing:
            block = np.concatenate([block, np.zeros((missing, *block.shape[1:]), block.dtype)])
        out.append(np.asarray(apply(variables, jnp.asarray(block)))[: size - missing])
    return np.concatenate(out)


def training_views(config: TrainConfig, epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The inputs a run trains on in epoch ``epoch`` (0-based), exactly as its compiled steps see them.

    Returns ``(index (S·B,) int, views (S·B, *input_shape) float32)``: the training points of the epoch's S
    minibatches of B in order, and their augmented views (the inputs themselves without augmentation), with the
    run's keys (module docstring). A distilled student's targets are its teacher on these views, so the teacher's
    saturation on the student's training inputs is measured on them.

    Example:
      >>> config = TrainConfig(dataset="mnist1d", shift=3, n_train=256, batch_size=64)
      >>> index, views = training_views(config, epoch=2)
      >>> index.shape, views.shape
      ((256,), (256, 40, 1))
    """
    epoch = check_integer(epoch, "epoch", minimum=0, maximum=config.epochs - 1)
    data, augmentation, batch, steps = _layout(config)
    root = jax.random.key(config.seed)
    order = epoch_order(jax.random.fold_in(root, 1), jnp.asarray(epoch, jnp.int32), n=data.n_train, steps=steps,
                   batch=batch)
    step_key = jax.random.fold_in(root, 2)
    x = jnp.asarray(data.x_train)
    views = [augmented_views(x, order, np.int32(i), step_key, jnp.int32(epoch * steps), augmentation) for i in range(steps)]
    return np.asarray(order).reshape(-1), np.concatenate([np.asarray(v) for v in views])


def batch_order(config: TrainConfig, data: NetData | None = None) -> np.ndarray:
    """``(epochs · S, b)`` int64: the training-point indices of every optimiser step of ``config``, in order.

    Exactly the minibatches :func:`train` uses (epoch e's permutation from ``fold_in(fold_in(key(seed), 1), e)``,
    S = ⌊n / b⌋ steps of b = min(batch_size, n) points); a linearised prediction replays them
    (:mod:`theory.nets.linearised`).
    """
    data = data_for(config) if data is None else data
    batch, steps = min(config.batch_size, data.n_train), _steps_per_epoch(config, data)
    order_key = jax.random.fold_in(jax.random.key(config.seed), 1)
    epochs = [np.asarray(epoch_order(order_key, jnp.asarray(e, jnp.int32), n=data.n_train, steps=steps, batch=batch))
              for e in range(config.epochs)]
    return np.concatenate(epochs).astype(np.int64)


def step_seconds(config: TrainConfig, steps: int = 3) -> float:
    """Seconds per optimiser step of ``config``'s training on this machine: best of ``steps`` timed steps after
    one untimed step (compilation excluded), nothing stored. A student's teacher is not trained: its logits are
    zeros, or, with augmentation, its initial weights are evaluated on the views (the same work). Used by
    :func:`theory.nets.plan.plan`.

    Example:
      >>> step_seconds(TrainConfig(dataset="digits", model="mlp", width=32), steps=2) > 0
      True
    """
    steps = check_integer(steps, "steps", minimum=1)
    data, augmentation, batch, per_epoch = _layout(config)
    model = model_for(config, data)
    teacher_model, teacher_variables, teacher_logits = None, None, None
    if config.teacher is not None:
        if augmentation.active:
            teacher_model = model_for(config.teacher, data)
            teacher_variables = initial_variables(config.teacher, data)
        else:
            teacher_logits = jnp.zeros((data.n_train, data.num_classes), jnp.float32)
    order_fn, step_fn, _ = compiled_step(step_structure(config, model, data.n_train, batch, per_epoch, teacher_model),
                                     config)
    root = jax.random.key(config.seed)
    order = order_fn(jax.random.fold_in(root, 1), jnp.int32(0))
    step_key = jax.random.fold_in(root, 2)
    state = _template(config, data, per_epoch)
    x, y = jnp.asarray(data.x_train), jnp.asarray(data.one_hot_train(), jnp.float32)
    weight, temperature = jnp.float32(config.kd_weight(0)), jnp.float32(config.temperature)
    best = float("inf")
    for i in range(steps + 1):
        tick = time.perf_counter()
        state, loss = step_fn(state, x, y, teacher_logits, teacher_variables, order, np.int32(i % per_epoch),
                              step_key, jnp.int32(0), weight, temperature)
        loss.block_until_ready()
        if i:
            best = min(best, time.perf_counter() - tick)
    return best


def _epoch_metrics(epoch, logits_train, logits_test, data, extra) -> dict:
    p_train = theory_metrics.softmax(logits_train)
    p_test = theory_metrics.softmax(logits_test)
    row = {"epoch": epoch}
    row.update(extra)
    row.update(train_accuracy=theory_metrics.accuracy(p_train, data.y_train),
               train_accuracy_clean=theory_metrics.accuracy(p_train, data.y_train_clean),
               test_accuracy=theory_metrics.accuracy(p_test, data.y_test),
               test_nll=theory_metrics.nll(p_test, data.y_test))
    return row


def train(config: TrainConfig, run_dir=DEFAULT_RUN_DIR, *, progress: bool = True,
          stop_after: int | None = None, lease: float = LEASE_SECONDS, wait_timeout: float | None = None) -> Run:
    """Trains ``config`` into ``<run_dir>/<config.hash()>/`` and returns the :class:`Run`.

    A complete run is returned as it is; an incomplete one resumes from its last checkpoint (truncating metrics
    and logits written after it); a student's teacher is trained or reused first. Only the process holding the
    run's claim trains it (:mod:`theory.nets.store.claim`): another process asking for the same run meanwhile waits,
    polling, and returns the holder's result; a claim whose holder died (its heartbeat older than its lease) is
    taken over and the run resumed.

    Example:
      >>> import tempfile
      >>> config = TrainConfig(dataset="digits", model="mlp", width=32, epochs=3, learning_rate=0.1)
      >>> run = train(config, tempfile.mkdtemp(), progress=False)
      >>> run.complete, run.metrics()[-1]["test_accuracy"] > 0.8
      (True, True)

    Args:
      config: the run's configuration.
      run_dir: the run store (runs live in its sub-directories named by hash). The default,
        :data:`~theory.nets.store.DEFAULT_RUN_DIR` (``results/runs``), is a default of this function only: the
        command lines take ``--runs DIR`` (default ``<out>/runs``).
      progress: show a tqdm bar (epoch, loss, train and test accuracy) when stderr is a terminal; quiet in
        non-terminal logs (tqdm's ``disable=None``). False: never.
      stop_after: stop once this many epochs are done (checkpointed), leaving the run incomplete; used to
        simulate a killed run in tests. None trains to the end.
      lease: seconds this process's claim stays valid without a heartbeat (it renews every epoch and every
        ``lease / 5`` seconds); another process takes over a claim older than that.
      wait_timeout: seconds to wait at most for another live process training the same run (None: as long as
        its heartbeat is fresh).

    Returns:
      the :class:`Run` (``run.complete`` unless ``stop_after`` stopped it).

    Raises:
      ValueError: for a model that cannot take the data, augmentation on non-image data, non-finite training
        loss (the message names the epoch and suggests a lower learning rate).
      TimeoutError: another live process held the run's claim for longer than ``wait_timeout`` seconds.
    """
    lease = check_positive(lease, "lease")
    wait_timeout = None if wait_timeout is None else check_nonnegative(wait_timeout, "wait_timeout")
    run = Run(run_dir, config)
    if run.complete:
        return run
    teacher_run = None
    if config.teacher is not None:
        teacher_run = train(config.teacher, run_dir, progress=progress, lease=lease, wait_timeout=wait_timeout)
    waited_since = time.monotonic()
    poll = min(2.0, lease / 10)
    while not run.complete:
        claim, holder = try_claim(run.path, lease)
        if claim is None:
            waited = time.monotonic() - waited_since
            if wait_timeout is not None and waited >= wait_timeout:
                raise TimeoutError(
                    f"run {run.hash} ({config.describe()}) is being trained by {holder.get('host', '?')} pid "
                    f"{holder.get('pid', '?')} (heartbeat {time.time() - float(holder['heartbeat']):.0f} s ago, "
                    f"lease {float(holder.get('lease', LEASE_SECONDS)):g} s); gave up waiting after "
                    f"{wait_timeout:g} s.")
            time.sleep(min(poll, max(0.05, wait_timeout - waited)) if wait_timeout is not None else poll)
            continue
        try:
            if run.complete:  # finished by another process just before the claim
                break
            claim.start_heartbeat()
            if _train_claimed(run, claim, teacher_run, progress=progress, stop_after=stop_after):
                break
        finally:
            claim.release()
    return run


def _train_claimed(run: Run, claim, teacher_run, *, progress: bool, stop_after) -> bool:
    """Trains (or resumes) ``run`` while holding ``claim``; False if the claim was lost on the way."""
    config = run.config
    data, augmentation, batch, steps = _layout(config)
    model = model_for(config, data)
    _, schedule = make_optimizer(config, steps)
    template = _template(config, data, steps)

    teacher_model, teacher_variables, teacher_logits = None, None, None
    if teacher_run is not None:
        if augmentation.active:
            teacher_model = model_for(config.teacher, data)
            teacher_variables = final_variables(teacher_run)
        else:
            teacher_logits = jnp.asarray(teacher_run.logits_at(None, "train"))
    epoch_fn = epoch_function(config, model, data.n_train, batch, steps, teacher_model)

    run.path.mkdir(parents=True, exist_ok=True)
    run.write_config()
    restored = run.load_checkpoint(template)
    start, state = (0, template) if restored is None else restored
    rows = [row for row in run.metrics() if row["epoch"] <= start]
    stored = run.logits()
    recorded = {int(e): (stored["train"][i], stored["test"][i])
                for i, e in enumerate(stored.get("epochs", [])) if e <= start}
    x_train, x_test = data.x_train, data.x_test
    x_device = jnp.asarray(x_train)
    targets = data.one_hot_train()
    if config.label_smoothing:
        targets = (1.0 - config.label_smoothing) * targets + config.label_smoothing / data.num_classes
    y_device = jnp.asarray(targets, dtype=jnp.float32)

    def evaluate(state):
        variables = {"params": state["params"], "batch_stats": state["batch_stats"]}
        return predict_logits(model, variables, x_train), predict_logits(model, variables, x_test)

    if stop_after is not None and start >= stop_after:
        return True
    if start == 0 and 0 not in recorded:
        recorded[0] = evaluate(state)
        run.write_logits(recorded)
    began = time.perf_counter()
    bar = tqdm(total=config.epochs, initial=start, disable=None if progress else True, leave=False,
               desc=config.describe()[:48], unit="epoch")
    try:
        for epoch in range(start, config.epochs):
            tick = time.perf_counter()
            weight = config.kd_weight(epoch)
            state, loss = epoch_fn(state, x_device, y_device, teacher_logits, teacher_variables, epoch, weight)
            loss = float(loss)
            if not np.isfinite(loss):
                raise ValueError(f"training loss became {loss} in epoch {epoch + 1} of run {run.hash} "
                                 f"({config.describe()}); lower learning_rate (now {config.learning_rate}).")
            logits_train, logits_test = evaluate(state)
            if not claim.renew():  # taken over while this process stalled: the new holder goes on
                return False
            done = epoch + 1
            row = _epoch_metrics(done, logits_train, logits_test, data, {
                "train_loss": loss, "kd_weight": weight, "learning_rate": float(schedule(done * steps - 1)),
                "seconds": time.perf_counter() - tick})
            rows.append(row)
            if done in config.record_epochs:
                recorded[done] = (logits_train, logits_test)
                run.write_logits(recorded)
            run.write_metrics(rows)
            if done % config.checkpoint_every == 0 or done == config.epochs or done == stop_after:
                run.save_checkpoint(done, state)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", train=f"{row['train_accuracy']:.3f}",
                            test=f"{row['test_accuracy']:.3f}")
            if stop_after is not None and done >= stop_after and done < config.epochs:
                return True
    finally:
        bar.close()
    final = rows[-1]
    run.write_summary({"hash": run.hash, "epochs": config.epochs, "final": final,
                       "best_test_accuracy": max(r["test_accuracy"] for r in rows),
                       "seconds_last_session": time.perf_counter() - began,
                       "seconds_total": sum(r["seconds"] for r in rows),
                       "device": str(jax.devices()[0].platform)})
    return True

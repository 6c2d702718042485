"""A sweep's dry run: the runs a grid would train and their estimated cost, without training anything.

:func:`plan` lists, for settings and seeds, every run the sweep trains (the roles of
:func:`theory.nets.outcome.configs_for`: teacher, student, control, late, early), once per config hash (a teacher
or control shared by several settings is one run, its ``shared`` count says by how many), with its size and an
estimate of its cost; :func:`plan_table` is the markdown table (``python -m theory.nets.sweep --grid paper
--dry-run``). See docs/recipes.md.

How the cost is estimated. ``forward_flops`` F is XLA's cost analysis of the model's eval-mode forward pass on one
example (:meth:`jax.stages.Lowered.cost_analysis`, nothing compiled or run). A run of E epochs, S steps of batch B
per epoch, n training and m test points costs

    FLOPs = E · S · B · (3 F + F_teacher) + (E + 1) · (n + m) · F,

3 F for the forward and backward pass of a training example, F_teacher for a teacher evaluated on augmented views
(0 otherwise: its logits are looked up), and the evaluation of both splits after every epoch and at
initialisation. Time = FLOPs / rate, with :data:`CPU_FLOPS` and :data:`GPU_FLOPS` (rough sustained rates, stated
below), or on the CPU, with ``measure_steps > 0``, the training part from a measured step time
(:func:`theory.nets.training.step_seconds` on this machine) and the evaluation at :data:`CPU_FLOPS`.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from types import SimpleNamespace

import jax
import jax.numpy as jnp

from .._checks import check_integer, check_positive
from .outcome import configs_for
from .training import data_for, model_for, step_seconds

__all__ = ["plan", "plan_table", "forward_flops", "CPU_FLOPS", "GPU_FLOPS", "NOMINAL_SIZES", "NO_HASH"]

#: sustained FLOP/s of theory.nets training on this 2-core CPU, rounded down from measurements (benchmarks/train.py,
#: docs/recipes.md): the MLP reaches ~1e11 (dense matrix products), the 1-D CNN ~3e10; convolutions on images are
#: slower still, so ResNet estimates from this rate are optimistic (use ``measure_steps``).
CPU_FLOPS = 3e10
#: assumed sustained FLOP/s of a data-centre GPU (A100/H100 class) on CIFAR ResNets at batch 128 in float32, about a
#: quarter of its peak; not measured here (no GPU was available), so GPU times are order-of-magnitude estimates.
GPU_FLOPS = 5e12


#: the published sizes of the file datasets a plan may be made for without their files:
#: (training points, test points, classes, input shape).
NOMINAL_SIZES = {"cifar10": (50_000, 10_000, 10, (32, 32, 3)), "cifar100": (50_000, 10_000, 100, (32, 32, 3))}
#: the hash column of a run planned without its data (a file dataset's hash includes its files' SHA-256).
NO_HASH = "(needs --data-dir)"


def _nominal_data(config):
    """The sizes a run of a file dataset would see, from :data:`NOMINAL_SIZES` (subsets as the config asks)."""
    n_train, n_test, classes, shape = NOMINAL_SIZES[config.dataset]
    return SimpleNamespace(n_train=min(n_train, config.n_train or n_train),
                           n_test=min(n_test, config.n_test or n_test), num_classes=classes, input_shape=shape)


def _nominal_key(config) -> str:
    """A run's identity without its data files: its fields (and its teacher's), the stand-in directory left out."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
              if f.name not in ("data_dir", "teacher")}
    teacher = None if config.teacher is None else _nominal_key(config.teacher)
    return json.dumps([fields, teacher], sort_keys=True, default=str)


@functools.lru_cache(maxsize=32)
def _forward(model_name, width, depth, input_shape, num_classes) -> tuple[float, int]:
    from .models import make_model

    model = make_model(model_name, input_shape, num_classes, width=width, depth=depth)
    example = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    variables = jax.eval_shape(lambda: model.init({"params": jax.random.key(0)}, jnp.zeros(example.shape),
                                                  train=False))
    cost = jax.jit(lambda v, x: model.apply(v, x, train=False)).lower(variables, example).cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    params = sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(variables["params"]))
    return float(cost["flops"]), params


def forward_flops(config, data=None) -> tuple[float, int]:
    """``(F, P)``: FLOPs of one example's eval-mode forward pass (XLA's cost analysis) and the parameter count
    of a config's model.

    Example:
      >>> from theory.nets import TrainConfig
      >>> flops, params = forward_flops(TrainConfig(dataset="mnist1d", model="mlp"))
      >>> params, 2 * params - 5000 < flops < 2 * params + 5000   # 40 → 512 → 512 → 10: ~2 FLOPs per weight
      (288778, True)
    """
    data = data_for(config) if data is None else data
    module = model_for(config, data)  # validates the model against the data
    del module
    return _forward(config.model, config.width, config.depth, tuple(data.input_shape), int(data.num_classes))


def plan(settings, seeds, *, measure_steps: int = 0, cpu_flops: float = CPU_FLOPS,
         gpu_flops: float = GPU_FLOPS) -> list[dict]:
    """One dict per distinct run the sweep of ``settings`` × ``seeds`` trains, with its estimated cost.

    Args:
      settings: :class:`~theory.nets.experiment.Setting` s (file datasets with their ``data_dir``, see
        :func:`theory.nets.grids.with_data_dir`: the data are read to count points and fingerprint files).
      seeds: the seeds (e.g. ``range(3)``).
      measure_steps: > 0: time that many training steps of each distinct (model, data, batch) on this machine
        for the CPU estimate (compiles each; minutes for ResNets on a CPU); 0: FLOPs / ``cpu_flops``.
      cpu_flops, gpu_flops: sustained FLOP/s assumed for the estimates.

    Returns:
      dicts with ``role, setting, seed, hash, teacher_hash, dataset, label_noise, model, epochs, n_train, n_test,
      batch, steps, params, forward_flops, flops, cpu_hours, gpu_hours, estimate`` (how the CPU time was
      estimated) and ``shared`` (how many (setting, seed, role) entries ask for this run).
    """
    seeds = [check_integer(s, "seed", minimum=0) for s in seeds]
    measure_steps = check_integer(measure_steps, "measure_steps", minimum=0)
    cpu_flops, gpu_flops = check_positive(cpu_flops, "cpu_flops"), check_positive(gpu_flops, "gpu_flops")
    rows, by_hash, measured = [], {}, {}
    for setting in settings:
        nominal = setting.dataset in NOMINAL_SIZES and setting.data_dir is None
        with tempfile.TemporaryDirectory() as stand_in:
            if nominal:  # the configs need an existing directory; nothing is read from it
                setting = dataclasses.replace(setting, data_dir=stand_in)
            role_configs = [(seed, configs_for(setting, seed)) for seed in seeds]
        for seed, configs in role_configs:
            for role, config in configs.items():
                key = _nominal_key(config) if nominal else config.hash()
                if key in by_hash:
                    by_hash[key]["shared"] += 1
                    continue
                if nominal and measure_steps:
                    raise ValueError(f"measure_steps needs the data of {setting.dataset!r}: give its data_dir.")
                data = _nominal_data(config) if nominal else data_for(config)
                flops, params = forward_flops(config, data)
                teacher_flops = 0.0
                if config.teacher is not None and config.augmentation().active:
                    teacher_flops = forward_flops(config.teacher, data)[0]
                batch = min(config.batch_size, data.n_train)
                steps = max(1, data.n_train // batch)
                train_flops = config.epochs * steps * batch * (3 * flops + teacher_flops)
                eval_flops = (config.epochs + 1) * (data.n_train + data.n_test) * flops
                if measure_steps:
                    structure = (config.model, config.width, config.depth, config.dataset, config.data_dir,
                                 config.data_options, batch, config.teacher is not None,
                                 config.augmentation().active)
                    if structure not in measured:
                        measured[structure] = step_seconds(config, measure_steps)
                    cpu = config.epochs * steps * measured[structure] + eval_flops / cpu_flops
                    how = f"measured step {measured[structure] * 1e3:.1f} ms + evaluation at {cpu_flops:.0e} FLOP/s"
                else:
                    cpu = (train_flops + eval_flops) / cpu_flops
                    how = f"FLOPs at {cpu_flops:.0e} FLOP/s"
                row = dict(role=role, setting=setting.name, seed=seed, hash=NO_HASH if nominal else key,
                           teacher_hash=None if config.teacher is None else
                           (NO_HASH if nominal else config.teacher.hash()),
                           dataset=config.dataset, label_noise=config.label_noise, model=config.model,
                           epochs=config.epochs, n_train=data.n_train, n_test=data.n_test, batch=batch, steps=steps,
                           params=params, forward_flops=flops, flops=train_flops + eval_flops,
                           cpu_hours=cpu / 3600, gpu_hours=(train_flops + eval_flops) / gpu_flops / 3600,
                           estimate=how, shared=1)
                by_hash[key] = row
                rows.append(row)
    return rows


def plan_table(rows) -> str:
    """The markdown table of :func:`plan`'s rows, with a total line (runs, PFLOPs, CPU and GPU hours).

    Example:
      >>> print(plan_table([]).splitlines()[-1])
      | **total** | 0 runs | | | | | | | | 0.000 | 0.00 | 0.00 |
    """
    head = ("| role | setting | seed | hash | data | model | epochs | steps × batch | params | PFLOPs | "
            "CPU hours | GPU hours |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        noise = f" noise={r['label_noise']:g}" if r["label_noise"] else ""
        lines.append(f"| {r['role']} | {r['setting']} | {r['seed']} | {r['hash']} | {r['dataset']}{noise} "
                     f"(n={r['n_train']}) | {r['model']} | {r['epochs']} | {r['steps']} × {r['batch']} | "
                     f"{r['params']:,} | {r['flops'] / 1e15:.3f} | {r['cpu_hours']:.2f} | {r['gpu_hours']:.2f} |")
    total = lambda key: sum(r[key] for r in rows)  # noqa: E731
    lines.append(f"| **total** | {len(rows)} runs | | | | | | | | {total('flops') / 1e15:.3f} | "
                 f"{total('cpu_hours'):.2f} | {total('gpu_hours'):.2f} |")
    if rows:
        lines.append(f"\nCPU estimate: {rows[0]['estimate']}; GPU estimate: FLOPs at the assumed rate "
                     "(theory.nets.plan.GPU_FLOPS). Shared runs (a teacher or control used by several settings) "
                     "are listed once.")
    return "\n".join(lines) + "\n"

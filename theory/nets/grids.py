"""The sweep grids: named lists of :class:`~theory.nets.experiment.Setting` (``--grid NAME``).

``quick``, ``default``, ``focus``, ``extra``: small MNIST-1D / digits settings. ``paper``: the paper's CIFAR
settings (:data:`PAPER`, needs the CIFAR files and a GPU). ``regimes`` / ``regimes-cluster``: the regime map
(:data:`REGIMES`, where the τ = 1 slope exceeds 1). Their axes and provenance: docs/recipes.md.
"""
from __future__ import annotations

import dataclasses

from .data import FILE_DATASETS
from .experiment import Setting

__all__ = ["GRIDS", "PAPER", "REGIMES", "REGIMES_CLUSTER", "with_data_dir"]

_BASE = Setting("base")


def _vary(**changes):
    name = ", ".join(f"{k}={v}" for k, v in changes.items())
    return dataclasses.replace(_BASE, name=name, **changes)


GRIDS = {
    "quick": [Setting("quick", dataset="digits", width=64, teacher_epochs=8, student_epochs=8, track_points=300)],
    "default": [
        _BASE,
        _vary(teacher_epochs=15), _vary(teacher_epochs=200),
        _vary(student_epochs=15), _vary(student_epochs=200),
        _vary(temperature=2.0), _vary(temperature=4.0), _vary(teacher_weight=0.5),
        _vary(label_noise=0.2), _vary(label_noise=0.3),
        _vary(weight_decay=5e-4), _vary(weight_decay=5e-3),
        _vary(n_train=1000), _vary(data_options=(("num_samples", 10000),)),
        _vary(model="cnn1d"), _vary(model="cnn1d", label_noise=0.2), _vary(model="cnn1d", teacher_epochs=200),
        _vary(loss="mse", learning_rate=0.01),
        _vary(dataset="digits"), _vary(dataset="digits", label_noise=0.3),
        _vary(dataset="digits", teacher_epochs=15), _vary(dataset="digits", model="cnn2d"),
    ],
    # the factors that mattered in "default" (temperature, label noise, architecture), crossed, for 3 seeds
    "focus": [
        _vary(**data, label_noise=noise, temperature=temperature)
        for data in (dict(dataset="mnist1d", model="mlp"), dict(dataset="mnist1d", model="cnn1d"),
                     dict(dataset="digits", model="mlp"))
        for noise in (0.0, 0.2)
        for temperature in (1.0, 2.0, 4.0)
    ],
    # follow-ups of "focus": longer students, a hotter temperature, an under-trained teacher
    "extra": [
        _vary(temperature=4.0, student_epochs=200), _vary(temperature=8.0),
        _vary(model="cnn1d", temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", label_noise=0.2, temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", temperature=2.0, teacher_epochs=15),
        _vary(model="cnn1d", temperature=4.0, learning_rate=0.02),
    ],
}


# ------------------------------------------------------------------------------------------------ the paper's recipe
#: The paper's values: the datasets (CIFAR-10, CIFAR-100, noisy CIFAR-100), the architectures (ResNet-20/56 of
#: He et al. 2016, self-distillation and ResNet-56 → ResNet-20) and its two known results (CIFAR-100 ResNet-56
#: 72.52 % → 74.55 %; noisy CIFAR-100 69.8 % → 72.7 %). Not known to us, so the standard CIFAR recipe stands in:
#: SGD with momentum 0.9, learning rate 0.1 after 5 epochs of linear warm-up then cosine to 0, weight decay 5e-4,
#: batch 128, random crop after 4-pixel padding + horizontal flip (``augment=True``), 200 epochs for teacher and
#: student (the student on the teacher's recipe, distillation weight ξ = 1); the label-noise rates 20 % and 40 %
#: (symmetric; the paper's rate is unknown, the rows are labelled by the rate); τ ∈ {1, 4} (τ = 1 the paper's C1
#: read-out, τ = 4 the common CIFAR choice, with the τ² factor). ``data_dir`` is None here: give it with
#: :func:`with_data_dir` (``--data-dir``: a directory holding ``cifar-10-batches-py/`` and ``cifar-100-python/``,
#: or the files themselves). Nothing is downloaded.
_CIFAR = Setting("cifar", dataset="cifar100", model="resnet56", optimizer="sgd", learning_rate=0.1, momentum=0.9,
                 weight_decay=5e-4, batch_size=128, schedule="cosine", warmup_epochs=5, augment=True,
                 teacher_epochs=200, student_epochs=200, record=12, track_points=1000)


def _paper(name, **changes):
    return [dataclasses.replace(_CIFAR, name=f"{name} τ={t:g}", temperature=t, **changes) for t in (1.0, 4.0)]


PAPER = [
    *_paper("cifar100 resnet56 self"),
    *_paper("cifar10 resnet20 self", dataset="cifar10", model="resnet20"),
    *_paper("cifar10 resnet56 self", dataset="cifar10"),
    *_paper("cifar100 noise=20% resnet56 self", label_noise=0.2),
    *_paper("cifar100 noise=40% resnet56 self", label_noise=0.4),
    *_paper("cifar100 resnet56→resnet20", student_model="resnet20"),
]


def with_data_dir(settings, data_dir) -> list:
    """The settings with ``data_dir`` set where their dataset is read from files (CIFAR, ``.npz``); others as
    they are. The ``paper`` grid needs it before any config is built."""
    return [dataclasses.replace(s, data_dir=str(data_dir)) if s.dataset in FILE_DATASETS else s for s in settings]


# ------------------------------------------------------------------------------------------------ the regime map
#: the harder, larger MNIST-1D: 10,000 points (8,000 training) from the generator with 2× its correlated and 5× its
#: i.i.d. noise (:func:`theory.data.load_mnist1d`).
HARD_MNIST1D = (("num_samples", 10000), ("corr_noise_scale", 0.5), ("iid_noise_scale", 0.1))

#: data × architecture of the regime map; the per-data augmentations (mild, strong) of the saturation axis.
_REGIME_BASES = {
    "mnist1d mlp": (dict(dataset="mnist1d", model="mlp"),
                    (dict(shift=2), dict(shift=6, noise_std=0.3))),
    "mnist1d cnn1d": (dict(dataset="mnist1d", model="cnn1d"),
                      (dict(shift=2), dict(shift=6, noise_std=0.3))),
    "mnist1d-hard mlp": (dict(dataset="mnist1d", model="mlp", data_options=HARD_MNIST1D),
                         (dict(shift=2), dict(shift=6, noise_std=0.3))),
    "digits mlp": (dict(dataset="digits", model="mlp"),
                   (dict(crop_padding=1), dict(crop_padding=1, noise_std=0.3))),
}


def _regime_variants(augmentations, scale: int):
    """(label, changes) of the axes varied one at a time around the base (60 + 60 epochs, no augmentation, no
    smoothing, no weight decay); ``scale`` > 1 adds the cluster's levels."""
    mild, strong = augmentations
    variants = [("base", {}),
                ("aug mild", mild), ("aug strong", strong),                      # teacher saturation: augmentation
                ("teacher ls=0.1", dict(teacher_label_smoothing=0.1)),           # … label smoothing
                ("teacher ls=0.3", dict(teacher_label_smoothing=0.3)),
                ("teacher 15ep", dict(teacher_epochs=15)),                       # … teacher budget
                ("teacher 200ep", dict(teacher_epochs=200)),
                ("student 15ep", dict(student_epochs=15)),                       # student budget
                ("student 200ep", dict(student_epochs=200)),
                ("student wd=5e-4", dict(student_weight_decay=5e-4)),            # student weight decay
                ("student wd=5e-3", dict(student_weight_decay=5e-3))]
    if scale > 1:
        variants += [("teacher 5ep", dict(teacher_epochs=5)), ("teacher 400ep", dict(teacher_epochs=400)),
                     ("student 400ep", dict(student_epochs=400)), ("student wd=5e-2", dict(student_weight_decay=5e-2)),
                     ("aug strong + teacher ls=0.1", dict(strong, teacher_label_smoothing=0.1)),
                     ("aug strong + teacher 200ep", dict(strong, teacher_epochs=200)),
                     ("teacher ls=0.1 + student wd=5e-4",
                      dict(teacher_label_smoothing=0.1, student_weight_decay=5e-4)),
                     ("label noise 0.2", dict(label_noise=0.2))]
    return variants


def _regimes(scale: int = 1, temperatures=(1.0, 2.0, 4.0)) -> list:
    settings = []
    for base_name, (base, augmentations) in _REGIME_BASES.items():
        for label, changes in _regime_variants(augmentations, scale):
            for t in temperatures:
                settings.append(dataclasses.replace(_BASE, name=f"{base_name}, {label}, τ={t:g}", **base,
                                                    **changes, temperature=t, track_points=500))
    return settings


#: The regime map (issue 14, item 5): where does the τ = 1 slope exceed 1? For MNIST-1D (40-point signals;
#: default and the harder, larger :data:`HARD_MNIST1D`) and digits (8 × 8) with MLPs (512 × 2) and the 1-D CNN, the
#: base (SGD 0.9, lr 0.05 cosine, batch 128, 60 + 60 epochs) and one factor at a time: the teacher's saturation on
#: the student's training inputs, driven by augmentation strength (mild: shifts ±2 / ±1-pixel crops; strong:
#: shifts ±6 or crops ±1 with Gaussian noise σ = 0.3; circular shifts), the teacher's label smoothing (0.1, 0.3)
#: and the teacher's budget (15, 200 epochs); the student's budget (15, 200 epochs) and weight decay (5e-4,
#: 5e-3); each crossed with τ ∈ {1, 2, 4}. 4 × 11 × 3 = 132 settings; run with ≥ 3 seeds (``--seeds 3``).
#: Sized from per-run CPU times measured on this 2-core machine: 1,356 distinct runs for 3 seeds, ≈ 3.1 CPU-hours,
#: i.e. 1.6 h at 2 workers on free cores, about 3 h on a shared machine (docs/recipes.md, §3); measured: ≈ 2.3 h
#: at ``--workers 2 --threads 1`` on a shared machine.
REGIMES = _regimes(1)
#: The cluster's regime map: :data:`REGIMES` plus 8 more levels per data × architecture (teacher 5 / 400 epochs,
#: student 400 epochs, weight decay 5e-2, strong augmentation with smoothing or a long teacher, smoothing with
#: weight decay, label noise 0.2): 4 × 19 × 3 = 228 settings; run with 5 seeds.
REGIMES_CLUSTER = _regimes(2)

GRIDS["paper"] = PAPER
GRIDS["regimes"] = REGIMES
GRIDS["regimes-cluster"] = REGIMES_CLUSTER

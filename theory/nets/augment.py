"""Augmentation of training minibatches as configuration: crops and flips of images, shifts of 1-D signals, noise.

An :class:`Augmentation` is read from a :class:`~theory.nets.config.TrainConfig` (:meth:`TrainConfig.augmentation`)
and applied to each training minibatch inside the jitted step by :func:`augment_batch`, with the key
``fold_in(fold_in(key(seed), 2), k)`` at global step k (so a run is reproducible and a resumed run equals an
uninterrupted one). Evaluation never augments. A distilled student's teacher targets are the teacher's logits on the
*same augmented views* (see :mod:`theory.nets.training`). See docs/recipes.md.

For a minibatch ``x`` of b inputs, with ``k_a, k_b, k_c = split(key, 3)``:

* images ``(b, H, W, C)``: ``crop_padding`` p > 0 pads each image with p zeros on every side and crops an
  ``H × W`` window at offsets ``(i, j)`` uniform on ``{0, …, 2p}²`` (``i`` from ``k_a``, ``j`` from ``k_b``); ``flip``
  mirrors each image left–right with probability ½ (from ``k_c``). ``augment=True`` is exactly p = 4 with flip
  (He et al. 2016's CIFAR recipe; its results are unchanged by this module).
* 1-D signals ``(b, L, C)``: ``shift`` S > 0 moves each signal by s uniform on ``{−S, …, S}`` (from ``k_a``):
  ``shift_mode="circular"``: ``x'[t] = x[(t − s) mod L]`` (a rotation, as MNIST-1D's own generator translates);
  ``"zeros"``: ``x'[t] = x[t − s]`` and 0 where ``t − s`` falls outside ``[0, L)``.
* any input: ``noise_std`` σ > 0 adds ``σ · ε``, ε ~ N(0, I) i.i.d. per entry, from ``fold_in(key, 3)``, after the
  geometric transforms (σ is in the units of the standardised inputs).

Example:
  >>> import jax, jax.numpy as jnp
  >>> x = jnp.arange(8.0).reshape(1, 8, 1)
  >>> spec = Augmentation(shift=2)
  >>> y = augment_batch(jax.random.key(0), x, spec)
  >>> sorted(y.ravel().tolist()) == list(range(8))   # a circular shift permutes the values
  True
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .._checks import check_choice, check_flag, check_integer, check_nonnegative

__all__ = ["Augmentation", "augment_batch", "SHIFT_MODES", "LEGACY_IMAGE_RECIPE"]

SHIFT_MODES = ("circular", "zeros")


@dataclass(frozen=True)
class Augmentation:
    """One augmentation recipe (all off by default); see the module docstring for what each field does.

    Attributes:
      crop_padding: p ≥ 0, zero padding before a random crop (images only; 0 = no crop).
      flip: random horizontal flip (images only).
      shift: S ≥ 0, largest random shift of a 1-D signal (1-D inputs ``(L, C)`` only; 0 = none).
      shift_mode: ``"circular"`` or ``"zeros"`` (how a shifted signal is filled).
      noise_std: σ ≥ 0 of the additive Gaussian noise (any input).
    """

    crop_padding: int = 0
    flip: bool = False
    shift: int = 0
    shift_mode: str = "circular"
    noise_std: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "crop_padding", check_integer(self.crop_padding, "crop_padding", minimum=0))
        object.__setattr__(self, "flip", check_flag(self.flip, "flip"))
        object.__setattr__(self, "shift", check_integer(self.shift, "shift", minimum=0))
        check_choice(self.shift_mode, "shift_mode", SHIFT_MODES)
        object.__setattr__(self, "noise_std", float(check_nonnegative(self.noise_std, "noise_std")))

    @property
    def active(self) -> bool:
        """Whether this recipe changes any input (False: the identity, and no augmentation code runs)."""
        return bool(self.crop_padding or self.flip or self.shift or self.noise_std)

    def check_input(self, input_shape: tuple, dataset: str = "the data") -> None:
        """Raises ValueError (one line: what does not fit and what to use) unless the recipe fits inputs of
        ``input_shape`` (one example, no batch axis)."""
        shape = tuple(input_shape)
        if (self.crop_padding or self.flip) and len(shape) != 3:
            raise ValueError(f"crop_padding/flip (augment=True) needs image inputs (H, W, C); {dataset!r} has "
                             f"{shape}: use shift/noise_std for 1-D signals.")
        if self.shift and len(shape) != 2:
            raise ValueError(f"shift needs 1-D signal inputs (L, C); {dataset!r} has {shape}: use crop_padding/"
                             "flip for images.")
        if self.shift and self.shift >= shape[0]:
            raise ValueError(f"shift must be < the signal length {shape[0]} of {dataset!r}, got {self.shift}.")

    def describe(self) -> str:
        """A short label, e.g. ``"crop4+flip"``, ``"shift3c+noise0.1"``; ``""`` when off."""
        parts = ([f"crop{self.crop_padding}"] if self.crop_padding else []) + (["flip"] if self.flip else [])
        if self.shift:
            parts.append(f"shift{self.shift}{self.shift_mode[0]}")
        if self.noise_std:
            parts.append(f"noise{self.noise_std:g}")
        return "+".join(parts)


#: what ``TrainConfig(augment=True)`` means: random crop after 4-pixel zero padding and horizontal flip.
LEGACY_IMAGE_RECIPE = Augmentation(crop_padding=4, flip=True)


def augment_batch(key, x, spec: Augmentation):
    """The augmented views of a minibatch ``x (b, *input_shape)`` (same shape and dtype) under ``spec``.

    Deterministic in ``key``; ``x`` itself when ``spec`` is off. Traceable (used inside the jitted training step).
    """
    if not spec.active:
        return x
    k_a, k_b, k_c = jax.random.split(key, 3)
    b = x.shape[0]
    if spec.crop_padding:
        _, h, w, c = x.shape
        p = spec.crop_padding
        padded = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        rows = jax.random.randint(k_a, (b,), 0, 2 * p + 1)
        cols = jax.random.randint(k_b, (b,), 0, 2 * p + 1)
        x = jax.vmap(lambda image, i, j: jax.lax.dynamic_slice(image, (i, j, 0), (h, w, c)))(padded, rows, cols)
    if spec.flip:
        flip = jax.random.bernoulli(k_c, 0.5, (b,))
        x = jnp.where(flip[:, None, None, None], x[:, :, ::-1, :], x)
    if spec.shift:
        length = x.shape[1]
        shifts = jax.random.randint(k_a, (b,), -spec.shift, spec.shift + 1)
        source = jnp.arange(length)[None, :] - shifts[:, None]  # x'[t] = x[t - s]
        if spec.shift_mode == "circular":
            x = jnp.take_along_axis(x, (source % length)[:, :, None], axis=1)
        else:
            inside = (source >= 0) & (source < length)
            x = jnp.take_along_axis(x, jnp.clip(source, 0, length - 1)[:, :, None], axis=1)
            x = jnp.where(inside[:, :, None], x, jnp.zeros((), x.dtype))
    if spec.noise_std:
        noise = jax.random.normal(jax.random.fold_in(key, 3), x.shape, x.dtype)
        x = x + jnp.asarray(spec.noise_std, x.dtype) * noise
    return x

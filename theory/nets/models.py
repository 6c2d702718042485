"""Flax (linen) classifiers: an MLP, 1-D and 2-D CNNs, and the CIFAR ResNets of He et al. (2016).

Every model maps inputs ``x (b, *input_shape)`` to logits ``z (b, C)`` and takes ``train`` (BatchNorm uses batch
statistics when True, running averages when False). Parameters are float32; flax's default initialisers
(LeCun normal for dense and convolution kernels, zero biases) except the ResNet convolutions (He normal,
fan-out, as in the reference implementations).

================  =============================================================================================
``"mlp"``         flatten, ``depth`` × (Dense(width) → ReLU), Dense(C). Defaults width 512, depth 2.
``"mlp_ntk"``     the same MLP in the NTK parameterisation (:func:`theory.kernels.ntk_mlp`: every layer
                  σ_w/√fan_in · h W + σ_b b, W, b ~ N(0, 1), σ_w = √2, σ_b = 0.1), whose empirical NTK tends to
                  :func:`theory.kernels.relu_ntk` as the width grows (the lazy-regime control of
                  :mod:`theory.nets.linearised`). Defaults width 512, depth 1.
``"cnn1d"``       inputs ``(L, channels)``; ``depth`` × (Conv1D(width, kernel 5, stride 2, SAME) → ReLU), flatten,
                  Dense(C) (Greydanus 2020's MNIST-1D CNN, 32 instead of 25 channels). Defaults 32, 3.
``"cnn2d"``       inputs ``(H, W, channels)``; layer i: Conv 3 × 3 (width · 2^i channels) → ReLU → 2 × 2 max-pool
                  while the image is larger than 1 × 1; flatten, Dense(C). Defaults 32, 2 (XLA on CPU runs 3 × 3
                  convolutions on 2 × 2 images very slowly: raise depth for 32 × 32 images, not for 8 × 8).
``"resnet20/56"`` He et al. (2016) §4.2: 3 × 3 conv (16 · k channels) → BN → ReLU, three stages of n = 3 / 9 basic
                  blocks with 16k, 32k, 64k channels (stride 2 entering stages 2 and 3; option-A shortcuts: spatial
                  subsampling and zero channel padding), global average pool, Dense(C); k = width / 16.
================  =============================================================================================
"""
from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

__all__ = ["MLP", "MLPNTK", "CNN1D", "CNN2D", "ResNet", "make_model", "DEFAULT_SIZES"]

#: model -> (default width, default depth); ResNet depth comes from the name.
DEFAULT_SIZES = {"mlp": (512, 2), "mlp_ntk": (512, 1), "cnn1d": (32, 3), "cnn2d": (32, 2), "resnet20": (16, 20), "resnet56": (16, 56)}


class MLP(nn.Module):
    """ReLU multilayer perceptron on flattened inputs: ``len(widths)`` hidden layers, then a linear read-out."""

    widths: Sequence[int]
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = x.reshape((x.shape[0], -1))
        for width in self.widths:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.num_classes)(x)


class MLPNTK(nn.Module):
    """ReLU MLP on flattened inputs in the NTK parameterisation (:class:`theory.kernels.NTKMLP`, σ_w = √2, σ_b = 0.1)."""

    width: int
    depth: int
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False):
        from theory.kernels.mlp import ntk_mlp  # flax is loaded here anyway

        return ntk_mlp(self.depth, self.width, 2.0**0.5, 0.1, output_dim=self.num_classes)(x.reshape((x.shape[0], -1)))


class CNN1D(nn.Module):
    """1-D CNN for sequences ``(b, L, channels)``: strided convolutions, then a linear read-out."""

    channels: Sequence[int]
    num_classes: int
    kernel_size: int = 5

    @nn.compact
    def __call__(self, x, train: bool = False):
        for channels in self.channels:
            x = nn.relu(nn.Conv(channels, (self.kernel_size,), strides=(2,), padding="SAME")(x))
        return nn.Dense(self.num_classes)(x.reshape((x.shape[0], -1)))


class CNN2D(nn.Module):
    """2-D CNN for images ``(b, H, W, channels)``: 3 × 3 conv → ReLU → 2 × 2 max-pool blocks, linear read-out."""

    channels: Sequence[int]
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False):
        for channels in self.channels:
            x = nn.relu(nn.Conv(channels, (3, 3), padding="SAME")(x))
            if x.shape[1] > 1 and x.shape[2] > 1:
                x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        return nn.Dense(self.num_classes)(x.reshape((x.shape[0], -1)))


_he_normal = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class _BasicBlock(nn.Module):
    channels: int
    stride: int

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)  # noqa: E731
        y = nn.Conv(self.channels, (3, 3), strides=self.stride, padding=1, use_bias=False, kernel_init=_he_normal)(x)
        y = nn.relu(norm()(y))
        y = nn.Conv(self.channels, (3, 3), padding=1, use_bias=False, kernel_init=_he_normal)(y)
        y = norm()(y)
        if self.stride != 1 or x.shape[-1] != self.channels:
            # option A: subsample, then pad the new channels with zeros (no parameters)
            x = x[:, :: self.stride, :: self.stride, :]
            extra = self.channels - x.shape[-1]
            x = jnp.pad(x, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))
        return nn.relu(y + x)


class ResNet(nn.Module):
    """CIFAR ResNet-(6n + 2) of He et al. (2016) with BatchNorm (momentum 0.9 in flax's convention)."""

    blocks_per_stage: int
    num_classes: int
    base_channels: int = 16

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Conv(self.base_channels, (3, 3), padding=1, use_bias=False, kernel_init=_he_normal)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x))
        for stage in range(3):
            for block in range(self.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                x = _BasicBlock(self.base_channels * 2**stage, stride)(x, train)
        return nn.Dense(self.num_classes)(jnp.mean(x, axis=(1, 2)))


def make_model(model: str, input_shape: tuple, num_classes: int, *, width: int | None = None,
               depth: int | None = None) -> nn.Module:
    """Builds a classifier by name for inputs of shape ``input_shape`` (one example, no batch axis).

    Example:
      >>> make_model("mlp", (40, 1), 10, width=64)
      MLP(
          # attributes
          widths = (64, 64)
          num_classes = 10
      )

    Args:
      model: ``"mlp"``, ``"mlp_ntk"``, ``"cnn1d"``, ``"cnn2d"``, ``"resnet20"`` or ``"resnet56"``.
      input_shape: e.g. ``(40, 1)`` (1-D, for ``cnn1d``), ``(32, 32, 3)`` (images, for ``cnn2d``/ResNets);
        the MLP accepts any shape.
      num_classes: C ≥ 2.
      width, depth: see the module table; None takes :data:`DEFAULT_SIZES`. ``depth`` is ignored by ResNets.

    Returns:
      an unbound flax module; ``model.init({"params": key}, x)``, ``model.apply(variables, x, train=…)``.

    Raises:
      ValueError: unknown model, or an input shape the model cannot take.
    """
    if model not in DEFAULT_SIZES:
        raise ValueError(f"model must be one of {', '.join(DEFAULT_SIZES)}; got {model!r}.")
    default_width, default_depth = DEFAULT_SIZES[model]
    width = default_width if width is None else int(width)
    depth = default_depth if depth is None else int(depth)
    input_shape = tuple(input_shape)
    if model == "mlp":
        return MLP(widths=(width,) * depth, num_classes=num_classes)
    if model == "mlp_ntk":
        return MLPNTK(width=width, depth=depth, num_classes=num_classes)
    if model == "cnn1d":
        if len(input_shape) != 2:
            raise ValueError(f"model 'cnn1d' needs inputs of shape (length, channels), got {input_shape}.")
        return CNN1D(channels=(width,) * depth, num_classes=num_classes)
    if len(input_shape) != 3:
        raise ValueError(f"model {model!r} needs image inputs of shape (height, width, channels), got {input_shape}.")
    if model == "cnn2d":
        return CNN2D(channels=tuple(width * 2**i for i in range(depth)), num_classes=num_classes)
    return ResNet(blocks_per_stage=(DEFAULT_SIZES[model][1] - 2) // 6, num_classes=num_classes, base_channels=width)

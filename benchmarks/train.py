"""Benchmark: network training throughput (examples/s) on MNIST-1D, theory.nets (JAX/flax/optax) against PyTorch.

For the MLP (40 → 512 → 512 → 10, ReLU) and the 1-D CNN (3 × Conv1D(32 channels, kernel 5, stride 2) → dense),
one epoch is ⌊3,200 / 128⌋ = 25 steps of SGD (momentum 0.9, constant learning rate 0.05) on the softmax
cross-entropy, batch 128, in float32:

* ``jax``: the epoch function of :mod:`theory.nets.training` (for the MLP one compiled ``lax.scan`` over the
  epoch's minibatches; for the CNN one jitted step per minibatch; data on the device, indices from a per-epoch
  permutation taken inside the compiled step), timed over whole epochs after a warm-up epoch (compilation
  excluded);
* ``torch``: an idiomatic PyTorch loop for the same model and batch (``torch.randperm`` over a tensor dataset,
  ``nn.Sequential``, ``zero_grad / backward / step``), warmed up the same way; skipped when torch is not
  installed (it is never a dependency of the toolkit).

Examples/s = steps · batch / seconds, best of ``--repeats`` interleaved measurements (the machine is shared, so the
best is the least disturbed); PyTorch is measured with its default intra-op threads and with one thread, and the
faster counts. The ratio is jax / torch from the same run. Beside wall-clock examples/s the table gives examples
per CPU-second of the process (``time.process_time``: the work, less sensitive to other processes' load than the
wall clock) and the load average before and after. Evaluation after each epoch (part of ``train``) is not
included in either. Run: ``python benchmarks/train.py`` (``--epochs 10 --repeats 3``). Not a test.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from theory import nets  # noqa: E402
from theory.nets import steps as step_functions, training  # noqa: E402


def jax_throughput(model: str, epochs: int) -> float:
    config = nets.TrainConfig(dataset="mnist1d", model=model, epochs=epochs + 1, schedule="constant",
                              learning_rate=0.05, momentum=0.9, batch_size=128)
    data = training.data_for(config)
    module = training.model_for(config, data)
    steps = data.n_train // 128
    state = training._template(config, data, steps)
    epoch_fn = step_functions.epoch_function(config, module, data.n_train, 128, steps, None)
    x = jnp.asarray(data.x_train)
    y = jnp.asarray(data.one_hot_train(), jnp.float32)
    state, loss = epoch_fn(state, x, y, None, None, 0, 0.0)
    loss.block_until_ready()
    start, cpu = time.perf_counter(), time.process_time()
    for epoch in range(1, epochs + 1):
        state, loss = epoch_fn(state, x, y, None, None, epoch, 0.0)
    loss.block_until_ready()
    examples = epochs * steps * 128
    return examples / (time.perf_counter() - start), examples / (time.process_time() - cpu)


def torch_throughput(model: str, epochs: int, threads: int | None = None) -> tuple | None:
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    try:
        return _torch_epochs(torch, nn, model, epochs)
    finally:
        torch.set_num_threads(default_threads)


def _torch_epochs(torch, nn, model: str, epochs: int) -> float:
    torch.manual_seed(0)
    data = nets.load_data("mnist1d")
    if model == "mlp":
        network = nn.Sequential(nn.Flatten(), nn.Linear(40, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                nn.Linear(512, 10))
        x = torch.from_numpy(data.x_train.reshape(-1, 40))
    else:  # channels first for Conv1d; padding 2 = 'SAME' at kernel 5, stride 2 on even lengths
        layers, channels = [], 1
        for _ in range(3):
            layers += [nn.Conv1d(channels, 32, 5, stride=2, padding=2), nn.ReLU()]
            channels = 32
        network = nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 5, 10))
        x = torch.from_numpy(np.ascontiguousarray(data.x_train.transpose(0, 2, 1)))
    y = torch.from_numpy(data.y_train)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    steps = len(x) // 128

    def epoch():
        order = torch.randperm(len(x))
        for i in range(steps):
            index = order[i * 128:(i + 1) * 128]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(x[index]), y[index])
            loss.backward()
            optimizer.step()

    epoch()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        epoch()
    examples = epochs * steps * 128
    return examples / (time.perf_counter() - start), examples / (time.process_time() - cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn1d"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"device: {jax.devices()[0].platform}, {os.cpu_count()} CPU cores visible; "
          f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    print("| model | theory.nets (JAX) examples/s | PyTorch examples/s | ratio JAX / PyTorch | "
          "examples per CPU-second JAX / PyTorch (ratio) |")
    print("|---|---|---|---|---|")
    for model in args.models:
        ours, theirs = (0.0, 0.0), None
        for _ in range(args.repeats):
            ours = tuple(map(max, ours, jax_throughput(model, args.epochs)))
            for threads in (None, 1):
                measured = torch_throughput(model, args.epochs, threads)
                if measured is not None:
                    theirs = tuple(map(max, theirs or (0.0, 0.0), measured))
        if theirs:
            print(f"| {model} | {ours[0]:,.0f} | {theirs[0]:,.0f} | {ours[0] / theirs[0]:.2f} | "
                  f"{ours[1]:,.0f} / {theirs[1]:,.0f} ({ours[1] / theirs[1]:.2f}) |")
        else:
            print(f"| {model} | {ours[0]:,.0f} | – | – (torch not installed) | {ours[1]:,.0f} / – |")
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

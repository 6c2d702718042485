"""The run store: content fingerprints in the run identity, atomic claims between processes, list and prune."""
import json
import multiprocessing
import os
import pickle
import socket
import time

import numpy as np
import pytest

from theory import nets
from theory.data import fingerprint
from theory.nets import store as run_store
from theory.nets import sweep

TINY = dict(dataset="digits", model="mlp", width=32, depth=1, epochs=4, learning_rate=0.1, batch_size=64)


def _write_cifar(directory, seed=0, n=6):
    """CIFAR-10 python-pickle files of ``n`` random images each."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        with open(directory / name, "wb") as handle:
            pickle.dump({b"data": rows, b"labels": (np.arange(n) % 3).tolist()}, handle)


def _write_npz(path, seed=0):
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.normal(size=(30, 4)), y_train=np.arange(30) % 3,
             x_test=rng.normal(size=(9, 4)), y_test=np.arange(9) % 3)


# ------------------------------------------------------------------------------------------ item 4: identity
def test_replacing_cifar_files_in_the_same_directory_changes_the_run_hash(tmp_path):
    data = tmp_path / "cifar"
    _write_cifar(data, seed=0)
    config = nets.TrainConfig(dataset="cifar10", data_dir=str(data), model="mlp", width=8, epochs=1)
    before = config.hash()
    assert nets.TrainConfig(**config.to_dict()).hash() == before  # stable while the data are
    (data / "notes.txt").write_text("not read by the reader")
    assert config.hash() == before  # files the reader ignores do not count
    _write_cifar(data, seed=1)  # same names, same sizes, other bytes
    assert config.hash() != before
    assert config.student(seed=1).canonical()["teacher"] == {"hash": config.hash()}


def test_replacing_one_cifar_batch_or_the_npz_changes_the_fingerprint(tmp_path):
    data = tmp_path / "cifar"
    _write_cifar(data)
    seen = {fingerprint.data_fingerprint("cifar10", data)}
    for name in ["data_batch_3", "test_batch"]:  # every file the reader reads counts
        raw = bytearray((data / name).read_bytes())
        raw[-20] ^= 1
        (data / name).write_bytes(bytes(raw))
        seen.add(fingerprint.data_fingerprint("cifar10", data))
    assert len(seen) == 3
    path = tmp_path / "set.npz"
    _write_npz(path, seed=0)
    config = nets.TrainConfig(dataset="npz", data_dir=str(path), epochs=1)
    before = config.hash()
    _write_npz(path, seed=1)
    assert config.hash() != before
    (data / "test_batch").unlink()
    with pytest.raises(ValueError, match="cannot fingerprint the data file .*test_batch"):
        nets.TrainConfig(dataset="cifar10", data_dir=str(data), epochs=1).hash()


def test_data_for_reads_replaced_files_again(tmp_path):
    path = tmp_path / "set.npz"
    _write_npz(path, seed=0)
    config = nets.TrainConfig(dataset="npz", data_dir=str(path), epochs=1)
    before = nets.data_for(config).x_train.copy()
    _write_npz(path, seed=1)
    after = nets.data_for(config).x_train  # not the in-process cache of the old files
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, nets.load_data("npz", data_dir=str(path)).x_train)


def test_embedded_and_synthetic_run_hashes_are_unchanged_and_cover_the_loader_parameters():
    # hashes of the stored runs under results/runs (computed before content fingerprints existed)
    assert nets.TrainConfig(**TINY).hash() == "d38956a5b737e10b"
    assert nets.TrainConfig(**TINY).student(seed=1).hash() == "cf9d80d5e5c9d3ed"
    assert nets.TrainConfig(dataset="mnist1d", data_options=(("num_samples", 8000),)).hash() == "285275ee3c66e6d3"
    assert nets.TrainConfig(dataset="gaussian-mixture").hash() == "df86ac793e9c1b69"
    base = nets.TrainConfig(dataset="gaussian-mixture")
    for change in (dict(dataset="logistic"), dict(n_train=50), dict(data_seed=1), dict(label_noise=0.1),
                   dict(data_options=(("dim", 5),)), dict(noise_seed=1)):
        assert nets.TrainConfig(**{**base.to_dict(), **change}).hash() != base.hash(), change


# ------------------------------------------------------------------------------------------ item 11: claims
def _train_in_child(config_dict, runs, barrier):
    """Runs in a spawned process: trains the config after the barrier; returns (hash, checkpoints written)."""
    from theory import nets as child_nets

    written = []
    original = child_nets.Run.save_checkpoint

    def counting(self, epoch, state):
        written.append(epoch)
        return original(self, epoch, state)

    child_nets.Run.save_checkpoint = counting
    config = child_nets.TrainConfig.from_dict(config_dict)
    child_nets.initial_variables(config)  # import and compile before the race
    barrier.wait()
    run = child_nets.train(config, runs, progress=False, wait_timeout=300)
    return run.hash, len(written), run.summary()["final"]["test_accuracy"]


def test_two_processes_training_the_same_config_train_it_once(tmp_path):
    config = nets.TrainConfig(**{**TINY, "epochs": 6})
    context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = [pool.apply_async(_train_in_child, (config.to_dict(), str(tmp_path), barrier))
                       for _ in range(2)]
            results = [r.get(timeout=600) for r in results]
    hashes, written, accuracies = zip(*results)
    assert set(hashes) == {config.hash()} and accuracies[0] == accuracies[1]
    assert sorted(written) == [0, config.epochs]  # one process trained every epoch, the other reused the result
    run = nets.Run(tmp_path, config)
    assert run.complete and not (run.path / "claim.json").exists()


def _claim(run, heartbeat, host="another-host", pid=12345, lease=60.0):
    run.path.mkdir(parents=True, exist_ok=True)
    (run.path / "claim.json").write_text(json.dumps(dict(token="t0", host=host, pid=pid, started=heartbeat,
                                                          heartbeat=heartbeat, lease=lease)))


def test_a_stale_claim_is_taken_over(tmp_path):
    config = nets.TrainConfig(**TINY)
    run = nets.Run(tmp_path, config)
    _claim(run, heartbeat=time.time() - 3600)  # a host that died an hour ago
    assert run_store.run_status(run.path) == "incomplete (stale claim)"
    started = time.monotonic()
    assert nets.train(config, tmp_path, progress=False, wait_timeout=30).complete
    assert time.monotonic() - started < 30 and not (run.path / "claim.json").exists()


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    config = nets.TrainConfig(**{**TINY, "seed": 3})
    run = nets.Run(tmp_path, config)
    child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    child.start()
    child.join()
    _claim(run, heartbeat=time.time(), host=socket.gethostname(), pid=child.pid)
    assert nets.train(config, tmp_path, progress=False, wait_timeout=30).complete


def test_a_live_claim_is_waited_on_with_a_timeout(tmp_path):
    config = nets.TrainConfig(**{**TINY, "seed": 4})
    run = nets.Run(tmp_path, config)
    _claim(run, heartbeat=time.time(), lease=600)  # alive, on another host
    assert run_store.run_status(run.path) == "claimed"
    with pytest.raises(TimeoutError, match=rf"run {run.hash} \(digits mlp one-hot 4ep\) is being trained by "
                                           r"another-host pid 12345 \(heartbeat \d+ s ago, lease 600 s\); "
                                           r"gave up waiting after 1 s\."):
        nets.train(config, tmp_path, progress=False, wait_timeout=1)
    assert not run.complete


def test_claims_are_exclusive_and_a_taken_over_holder_notices(tmp_path):
    first, holder = run_store.try_claim(tmp_path / "run", lease=60)
    assert first is not None and holder is None
    second, holder = run_store.try_claim(tmp_path / "run", lease=60)
    assert second is None and holder["token"] == first.token and holder["pid"] == os.getpid()
    assert first.renew() and first.held
    record = json.loads((tmp_path / "run" / "claim.json").read_text())
    (tmp_path / "run" / "claim.json").write_text(json.dumps(dict(record, token="other", heartbeat=0)))
    third, _ = run_store.try_claim(tmp_path / "run", lease=60)  # the hand-made stale claim is taken over
    assert third is not None and not first.renew() and not first.held
    first.release()  # does not remove the new holder's claim
    assert json.loads((tmp_path / "run" / "claim.json").read_text())["token"] == third.token
    third.release()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == []  # no claim, no temporary file left


# ------------------------------------------------------------------------------------------ item 11: the CLI
def test_store_list_and_prune(tmp_path, capsys):
    runs = tmp_path / "runs"
    data = tmp_path / "set.npz"
    _write_npz(data)
    kept = nets.train(nets.TrainConfig(**{**TINY, "epochs": 1}), runs, progress=False)
    stale = nets.train(nets.TrainConfig(dataset="npz", data_dir=str(data), epochs=1, batch_size=8), runs,
                       progress=False)
    partial = nets.train(nets.TrainConfig(**{**TINY, "epochs": 3, "seed": 5}), runs, progress=False, stop_after=1)
    (runs / "0123456789abcdef").mkdir()  # killed before its config was written
    _write_npz(data, seed=1)  # the data changed: the npz run's identity is gone
    assert run_store.main(["--runs", str(runs), "list"]) == 0
    listing = capsys.readouterr().out
    for run, status in ((kept, "complete"), (stale, "complete"), (partial, "incomplete")):
        line = next(line for line in listing.splitlines() if line.startswith(run.hash))
        assert status in line and run.config.describe() in line
    assert "unreachable" in next(line for line in listing.splitlines() if line.startswith(stale.hash))
    with pytest.raises(ValueError, match=rf"run '{stale.hash}' in .* is stale: its config now hashes to"):
        nets.Run.open(runs, stale.hash)
    assert nets.Run.open(runs, kept.hash).config == kept.config

    assert run_store.main(["--runs", str(runs), "prune"]) == 0  # a dry run names what it would delete
    dry = capsys.readouterr().out
    assert f"would remove {stale.hash}" in dry and "would remove 0123456789abcdef" in dry
    assert kept.hash not in dry and partial.hash not in dry and "--yes" in dry
    assert stale.path.is_dir()
    assert run_store.main(["--runs", str(runs), "prune", "--yes"]) == 0
    done = capsys.readouterr().out
    assert f"removed {stale.hash}" in done and not stale.path.exists() and not (runs / "0123456789abcdef").exists()
    assert kept.path.is_dir() and partial.path.is_dir()


def test_store_cli_refuses_a_missing_store(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_store.main(["--runs", str(tmp_path / "none"), "list"])
    assert exit_.value.code == 2 and "is not a directory" in capsys.readouterr().err


def test_sweep_store_defaults_to_out_runs():
    parser = sweep.build_parser()
    assert parser.parse_args(["--out", "o"]).runs is None  # resolved to <out>/runs by main
    assert sweep.runs_dir(parser.parse_args(["--out", "o"])) == os.path.join("o", "runs")
    assert sweep.runs_dir(parser.parse_args(["--out", "o", "--runs", "r"])) == "r"

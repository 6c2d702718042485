"""Shared test configuration.

* Hypothesis profiles: ``dev`` (default, random examples) and ``ci`` (derandomised, so that a failure in CI
  reproduces exactly); select with ``HYPOTHESIS_PROFILE=ci``. ``deadline=None`` everywhere because JAX
  compiles on first call.
* Theory is float64: numpy already is; JAX code enables x64 locally with ``jax.enable_x64(True)``.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def rng():
    """A fresh, seeded numpy Generator per test."""
    return np.random.default_rng(0)


@pytest.fixture
def key():
    """A fresh JAX PRNG key per test."""
    import jax

    return jax.random.key(0)


@pytest.fixture(scope="session")
def dask_client(tmp_path_factory):
    """A 2-worker LocalCluster on 127.0.0.1 (threads pinned as this process's), shared by the engine and sweep
    tests: starting one costs seconds."""
    from distributed import Client

    from theory.engine import local_cluster

    cluster = local_cluster(2, gpus=(), cache_dir=tmp_path_factory.mktemp("xla-cache"))
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()

"""Helpers shared by the modules of ``theory.data``: seeded train/test streams and stratified row selection."""
from __future__ import annotations

import numpy as np

from .._checks import check_integer
from .._checks import check_seed
from .labels import stratified_indices


def split_seeds(seed) -> tuple[int, int]:
    """Two independent integer seeds (train, test) spawned from ``seed``.

    The test draw therefore does not depend on how many training points are kept.
    """
    seed = check_seed(seed)
    train, test = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2))
    return train, test


def stratified_rows(labels, size, seed: int, name: str) -> np.ndarray:
    """Rows to keep: all of them in order when ``size`` is None, else a stratified, seeded draw of ``size``.

    Raises:
      ValueError: naming ``name`` if ``size`` is not an integer in ``[1, len(labels)]``.
    """
    labels = np.asarray(labels)
    if size is None:
        return np.arange(labels.shape[0])
    size = check_integer(size, name, minimum=1, maximum=labels.shape[0])
    return stratified_indices(labels, size, seed)

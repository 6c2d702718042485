"""Labels: one-hot targets, symmetric label noise, stratified subsets, and label draws from known p*.

Label noise is *symmetric, flip to a different class*: each training label is, with probability ``rate``,
replaced by one of the other ``C - 1`` classes drawn uniformly, so the realised fraction of wrong labels is
≈ ``rate`` (not ``rate · (C - 1) / C`` as with "resample uniformly from all classes"). See docs/maths.md §2.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_array
from .._checks import as_labels
from .._checks import as_probabilities
from .._checks import as_rng
from .._checks import check_fraction
from .._checks import check_integer
from .._checks import check_seed

__all__ = [
    "flip_probabilities",
    "one_hot",
    "resample_labels",
    "stratified_indices",
    "symmetric_label_noise",
]


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot encodes integer class labels.

    Row ``i`` is the standard basis vector ``e_{labels[i]}`` of ``R^C``; this is the one-hot target
    ``e_y`` of docs/maths.md §5.

    Example:
      >>> one_hot(np.array([2, 0]), num_classes=3)
      array([[0., 0., 1.],
             [1., 0., 0.]])

    Args:
      labels: integer array of shape ``(n,)`` (any shape works; a trailing class axis is added), values
        in ``[0, num_classes)``.
      num_classes: ``C >= 1``, the number of classes.

    Returns:
      float64 array of shape ``(n, C)``.

    Raises:
      ValueError: if ``num_classes`` is not a positive integer, or ``labels`` are not integers in
        ``[0, num_classes)``.
    """
    num_classes = check_integer(num_classes, "num_classes", minimum=1)
    labels = np.asarray(labels)
    flat = as_labels(labels.reshape(-1), "labels", num_classes=num_classes)
    return np.eye(num_classes, dtype=np.float64)[flat.reshape(labels.shape)]


def check_noise_rate(rate, num_classes: int, name: str = "rate") -> float:
    """A symmetric label-noise rate that leaves the labels informative: ``0 <= rate < (C − 1)/C``.

    Under :func:`symmetric_label_noise` a label is kept with probability 1 − r and moved to each other class
    with probability r/(C − 1). At r = (C − 1)/C both are 1/C: the noisy label is independent of the clean one
    and carries no information; above it the labels point away from the truth. Such rates are refused
    (a domain check of ``theory.data``, used by the loaders and :class:`~theory.data.Dataset`).

    Example:
      >>> check_noise_rate(0.5, 3)
      0.5
      >>> check_noise_rate(0.5, 2, "label_noise")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: label_noise must be < (C − 1)/C = 0.5 for C = 2 classes (...), got 0.5.

    Raises:
      ValueError: naming ``name``, for a rate outside ``[0, 1)`` or at or above ``(C − 1)/C``, and for
        ``rate > 0`` with fewer than 2 classes.
    """
    rate = check_fraction(rate, name)
    num_classes = check_integer(num_classes, "num_classes", minimum=1)
    if rate > 0 and num_classes < 2:
        raise ValueError("num_classes must be >= 2 to flip labels to a different class (rate > 0), got "
                         f"{num_classes}.")
    bound = (num_classes - 1) / num_classes
    if rate > 0 and rate >= bound:
        raise ValueError(f"{name} must be < (C − 1)/C = {bound:.4g} for C = {num_classes} classes (at that rate the "
                         "noisy label is independent of the clean one: the labels carry no information), "
                         f"got {rate!r}.")
    return rate


def symmetric_label_noise(labels, rate: float, num_classes: int, seed: int) -> np.ndarray:
    """Symmetric label noise, flipping to a *different* class.

    Each label is flipped independently with probability ``rate``; a flipped label ``y`` becomes
    ``(y + k) mod C`` with ``k`` uniform on ``{1, ..., C - 1}``, i.e. uniform over the other ``C - 1``
    classes. So the number of wrong labels is exactly Binomial(n, rate) and the realised flip fraction is
    ≈ ``rate``. (The other common convention, "resample uniformly from all C classes with probability
    rate", gives a wrong-label fraction of ``rate · (C - 1) / C``.)

    Both the flip coins and the offsets are drawn for every point, so with the same ``seed`` the labels
    flipped at a smaller rate are a subset of those flipped at a larger rate, and land on the same class.

    Example:
      >>> clean = np.arange(10) % 3
      >>> noisy = symmetric_label_noise(clean, rate=0.5, num_classes=3, seed=0)
      >>> bool(np.all(noisy[noisy != clean] != clean[noisy != clean]))
      True

    Args:
      labels: integer array of shape ``(n,)`` with values in ``[0, num_classes)``.
      rate: flip probability in ``[0, (C − 1)/C)``: at ``(C − 1)/C`` the noisy label is independent of the
        clean one (no information left), so that rate and larger ones are refused (:func:`check_noise_rate`).
      num_classes: ``C``; at least 2 when ``rate > 0``.
      seed: non-negative integer for ``np.random.default_rng``.

    Returns:
      int64 array of shape ``(n,)``, a new array (``labels`` is not modified).

    Raises:
      ValueError: if ``rate`` is outside ``[0, (C − 1)/C)``, labels are out of range or not integers,
        ``num_classes < 2`` with ``rate > 0``, or ``seed`` is not a non-negative integer.
    """
    rate = check_fraction(rate, "rate")
    num_classes = check_integer(num_classes, "num_classes", minimum=1)
    seed = check_seed(seed)
    labels = as_array(labels, "labels", ndim=1, dtype=None)
    labels = as_labels(labels, "labels", num_classes=num_classes)
    rate = check_noise_rate(rate, num_classes)
    rng = np.random.default_rng(seed)
    flip = rng.random(labels.shape[0]) < rate
    offset = rng.integers(1, max(num_classes, 2), size=labels.shape[0])  # uniform on {1, ..., C-1}
    return np.where(flip, (labels + offset) % num_classes, labels).astype(np.int64)


def stratified_indices(labels, size: int, seed: int) -> np.ndarray:
    """Seeded stratified sample of ``size`` indices without replacement.

    Class ``c`` with ``n_c`` of the ``n`` points receives ``floor(size · n_c / n)`` places; the places
    left over go to the classes with the largest remainders (ties broken at random), so every class gets
    its proportional share rounded up or down (largest-remainder apportionment, exact in integers).
    Works for any ``size`` in ``[0, n]``, including ``size < C`` where some classes get none.

    Example:
      >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
      >>> np.bincount(labels[stratified_indices(labels, size=4, seed=0)]).tolist()
      [2, 2]

    Args:
      labels: integer array of shape ``(n,)``, values ``>= 0``.
      size: number of indices, ``0 <= size <= n``.
      seed: non-negative integer for ``np.random.default_rng``.

    Returns:
      int64 array of shape ``(size,)``: distinct indices into ``labels``, sorted ascending (so a subset
      keeps the original order of the points).

    Raises:
      ValueError: if ``size`` is outside ``[0, n]`` or the labels are not non-negative integers.
    """
    labels = as_array(labels, "labels", ndim=1, dtype=None)
    labels = as_labels(labels, "labels", num_classes=int(labels.max(initial=0)) + 1)
    n = labels.shape[0]
    size = check_integer(size, "size", minimum=0, maximum=n)
    seed = check_seed(seed)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    class_counts = np.bincount(labels)
    quota, remainder = np.divmod(size * class_counts, n)  # exact integer apportionment
    left_over = size - int(quota.sum())
    tie_break = rng.permutation(class_counts.shape[0])
    order = np.lexsort((tie_break, -remainder))  # largest remainder first, random among ties
    quota[order[:left_over]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False)
        for c, k in enumerate(quota)
        if k > 0
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def resample_labels(p_star, seed, *, draws: int | None = None) -> np.ndarray:
    """Draws labels y_i ~ Categorical(p*(x_i)) independently per point (and per draw).

    Inverse-CDF sampling: with u ~ U[0, 1), y = #{c : u ≥ cumsum(p)_c / cumsum(p)_{C−1}}; dividing by the last
    cumulative sum absorbs round-off in rows that sum to 1 only to ~1e-16, so y always lies in [0, C).

    Example:
      >>> p_star = np.array([[1.0, 0.0], [0.0, 1.0]])
      >>> resample_labels(p_star, 0, draws=3).tolist()
      [[0, 1], [0, 1], [0, 1]]

    Args:
      p_star: ``(n, C)`` class probabilities (rows sum to 1 within 1e-6).
      seed: non-negative integer seed, or a ``np.random.Generator`` (advanced in place).
      draws: None for one draw ``(n,)``; an integer >= 1 for ``draws`` independent draws ``(draws, n)``.

    Returns:
      int64 labels, ``(n,)`` or ``(draws, n)``.

    Raises:
      ValueError: if ``p_star`` are not probabilities, ``seed`` is neither a non-negative integer nor a
        Generator, or ``draws < 1``.
    """
    p_star = as_probabilities(p_star, "p_star")
    rng = as_rng(seed)
    shape = (p_star.shape[0],) if draws is None else (check_integer(draws, "draws", minimum=1), p_star.shape[0])
    cumulative = np.cumsum(p_star, axis=1)
    cumulative = cumulative / cumulative[:, -1:]
    uniform = rng.random(shape)
    labels = np.sum(uniform[..., None] >= cumulative, axis=-1)
    return np.minimum(labels, p_star.shape[1] - 1).astype(np.int64)


def flip_probabilities(p_star, rate: float) -> np.ndarray:
    """Class probabilities of a label drawn from p* and then flipped by :func:`symmetric_label_noise`.

    A label is kept with probability 1 − r and otherwise replaced by one of the other C − 1 classes uniformly:

        P(ỹ = c | x) = (1 − r) p*_c(x) + r (1 − p*_c(x)) / (C − 1).

    Example:
      >>> flip_probabilities(np.array([[1.0, 0.0, 0.0]]), 0.3).round(3).tolist()
      [[0.7, 0.15, 0.15]]

    Args:
      p_star: ``(n, C)`` class probabilities of the clean labels.
      rate: flip probability r in [0, 1); C >= 2 when r > 0.

    Returns:
      ``(n, C)`` float64 probabilities of the noisy labels.

    Raises:
      ValueError: bad probabilities, ``rate`` outside [0, 1), or C < 2 with r > 0.
    """
    p_star = as_probabilities(p_star, "p_star")
    rate = check_fraction(rate, "rate")
    if rate == 0.0:
        return p_star.copy()
    num_classes = p_star.shape[1]
    if num_classes < 2:
        raise ValueError("p_star must have C >= 2 classes to flip labels to a different class (rate > 0).")
    return (1.0 - rate) * p_star + rate * (1.0 - p_star) / (num_classes - 1)

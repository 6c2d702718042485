"""The panels of runs measured elsewhere (``python -m theory.measure``): φ(p_student) against φ(p_teacher).

Not a registered figure (nothing to compute: ``theory.measure`` measured the logits it was given); the claims
report draws ``measure.png`` from ``measure.json`` with :func:`plot`, the same panels as the ``exaggeration``
figure: per split, each seed's equal-count binned means, the diagonal, and the slope with its 95 % interval.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot"]


def plot(data: dict):
    """One panel per split of a ``measure.json`` result; returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    splits = data["splits"]
    figure, axes = plt.subplots(1, len(splits), figsize=(3.7 * len(splits), 3.3), layout="constrained",
                                squeeze=False)
    rows = {row["claim"]: row for row in data.get("claims", [])}
    for ax, split in zip(axes[0], splits):
        for index, entry in enumerate(data["per_seed"]):
            part = entry[split]
            ax.plot(part["bin_teacher"], part["bin_student"], "o-", ms=3, color=colours["student"],
                    alpha=1.0 if index == 0 else 0.4, label="KD student, binned" if index == 0 else None)
        teacher = np.concatenate([entry[split]["bin_teacher"] for entry in data["per_seed"]])
        grid = np.array([teacher.min(), teacher.max()])
        ax.plot(grid, grid, color="k", lw=0.7, ls=":", label="y = x")
        claim = rows.get(f"C1 {split}")
        ax.set(xlabel="φ(p_teacher)  (teacher's top-1 class)", ylabel="φ(p_student)",
               title=f"{split}: {claim['measured'] if claim else ''}")
        ax.legend(loc="upper left")
    figure.suptitle(f"{data.get('name', 'your runs')}: {len(data['per_seed'])} seed(s); 95% bootstrap CI "
                    "(docs/uncertainty.md)", fontsize=9)
    return figure

"""One matplotlib style for every figure: a colour per role, readable at paper column width."""
from __future__ import annotations

import matplotlib

ROLE_COLOURS = {
    "onehot": "#4d4d4d",  # a model trained on the labels only
    "teacher": "#1f77b4",
    "student": "#d62728",
    "rounds": ["#d62728", "#ff7f0e", "#9467bd", "#8c564b"],  # successive self-distillation rounds
    "mobahi": "#2ca02c",
    "theory": "#000000",
    "simulation": "#ffffff",
}

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
    "legend.frameon": False,
}


def use():
    """Apply the toolkit's rc settings (and the non-interactive backend when no display is set)."""
    matplotlib.rcParams.update(RC)

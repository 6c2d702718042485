"""figures: one module per paper figure, each reading top to bottom as

* ``NAME`` and ``DESCRIPTION`` (one line, shown by ``paper_figs.py --list``);
* ``Config``: a frozen dataclass with the figure's defaults, and ``Config.quick()`` for a fast smoke run;
* ``compute(config) -> dict``: all numbers the figure plots, JSON-serialisable (no matplotlib here);
* ``plot(data) -> matplotlib.figure.Figure``;
* ``claims(data) -> list[dict]``: what the numbers say about the paper's claims (SCIENCE.md §1).

``paper_figs.py`` looks figures up in :data:`FIGURES` and does the I/O (``figures.output``).
"""
import importlib

#: figure name -> module path; modules are imported lazily so that ``--list`` is instant.
FIGURES = {
    "eigen": "figures.eigen",
}


def load(name: str):
    """Import and return the module of figure ``name``."""
    if name not in FIGURES:
        known = ", ".join(sorted(FIGURES))
        raise ValueError(f"unknown figure {name!r}; known figures: {known} (or 'all').")
    return importlib.import_module(FIGURES[name])

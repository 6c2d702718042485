"""figures: one module per paper figure, each reading top to bottom as

* ``NAME`` and ``DESCRIPTION`` (one line, shown by ``paper_figs.py --list``);
* ``Config``: a frozen dataclass with the figure's defaults, and ``Config.quick()`` for a fast smoke run;
* ``compute(config) -> dict``: all numbers the figure plots, JSON-serialisable (no matplotlib here);
* ``plot(data) -> matplotlib.figure.Figure``;
* ``claims(data) -> list[dict]``: what the numbers say about the paper's claims (SCIENCE.md §1), each a dict
  with ``claim``, ``setting``, ``statement``, ``measured``, ``criterion`` and ``verdict`` (one of
  "reproduced", "not reproduced", "not run").

``paper_figs.py`` looks figures up in :data:`FIGURES` and does the I/O (``figures.output``).
"""
import importlib
import importlib.util

#: figure name -> module path, in the order ``--fig all`` runs them. Modules are imported lazily (``--list``
#: is instant); a name whose module is not present in this checkout is skipped by :func:`available`.
_REGISTRY = {
    "eigen": "figures.eigen",
    "ntk": "figures.ntk",
    "exaggeration-theory": "figures.exaggeration_theory",
    "generalization": "figures.generalization",
    "denoise": "figures.denoise",
    "exaggeration": "figures.exaggeration",
    "underfit": "figures.underfit",
    "late": "figures.late",
    "bias-nn": "figures.bias_nn",
}


#: the kind of evidence each figure gives in the claims report: closed forms / kernel models, or trained networks.
KINDS = {
    "eigen": "theory",
    "ntk": "networks",
    "exaggeration-theory": "theory",
    "generalization": "theory",
    "denoise": "theory",
    "exaggeration": "networks",
    "underfit": "networks",
    "late": "networks",
    "bias-nn": "networks",
}


def available() -> dict:
    """The registered figures whose modules exist, name -> module path."""
    return {name: path for name, path in _REGISTRY.items() if importlib.util.find_spec(path) is not None}


FIGURES = available()


def load(name: str):
    """Import and return the module of figure ``name``."""
    figures = available()
    if name not in figures:
        known = ", ".join(figures)
        raise ValueError(f"unknown figure {name!r}; known figures: {known} (or 'all').")
    return importlib.import_module(figures[name])

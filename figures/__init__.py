"""figures: one module per paper figure, each reading top to bottom as

* ``NAME`` and ``DESCRIPTION`` (one line, shown by ``paper_figs.py --list``), and ``KIND``: the kind of
  evidence it gives in the claims report, ``"theory"`` (closed forms, kernel models) or ``"networks"``
  (trained networks);
* ``Config``: a frozen dataclass with the figure's defaults, and ``Config.quick()`` for a fast smoke run (a
  network figure's ``Config`` holds a :class:`theory.nets.experiment.Setting` plus its own fields);
* ``compute(config) -> dict``: all numbers the figure plots, JSON-serialisable (no matplotlib here);
* ``plot(data) -> matplotlib.figure.Figure``;
* ``claims(data) -> list[theory.evidence.Claim]``: what the numbers say about the paper's claims
  (docs/maths.md §1), each with its measured evidence and criterion; the verdict ("reproduced", "not
  reproduced", "inconclusive", "not run") is derived by :mod:`theory.evidence`, never written by hand.
  ``Claim.to_dict()`` gives the row stored in the figure's JSON and read by the report.

``paper_figs.py`` looks figures up here and does the I/O (``figures.output``). A new figure is a module here
and one line in ``_REGISTRY``.
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
    "predicted": "figures.predicted",
    "xi": "figures.xi",
    "regimes-nn": "figures.regimes_nn",
}


#: the kinds of evidence a figure can declare as ``KIND``, in the order of the report's columns.
KIND_NAMES = ("theory", "networks")


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


def kinds(names=None) -> dict:
    """``{name: KIND}`` of the registered figures (all available ones by default), read from their modules."""
    result = {}
    for name in available() if names is None else names:
        kind = getattr(load(name), "KIND", None)
        if kind not in KIND_NAMES:
            raise ValueError(f"figure {name!r} must declare KIND as one of {KIND_NAMES}, got {kind!r}.")
        result[name] = kind
    return result

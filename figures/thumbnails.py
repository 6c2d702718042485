"""Make the README's figure thumbnails: ``python -m figures.thumbnails results docs/thumbnails``.

Reads ``<results>/<figure>.png`` for every registered figure that has been run and writes a copy at most
``width`` pixels wide to ``<dest>/<figure>.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from . import available


def make(results, dest, width: int = 640) -> list:
    """Write thumbnails of the figures present in ``results``; returns the written paths."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in available():
        source = Path(results) / f"{name}.png"
        if not source.exists():
            continue
        image = Image.open(source)
        image.thumbnail((width, width * image.height // image.width))
        image.save(dest / f"{name}.png", optimize=True)
        written.append(dest / f"{name}.png")
    return written


if __name__ == "__main__":
    for path in make(*sys.argv[1:3]):
        print(path)

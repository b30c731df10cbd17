"""datasketch's answers for common settings, pinned in a table that ships with dedup.

``import datasketch`` loads the whole package: its LSH classes import
``scipy.integrate`` (for the band optimizer) and its storage module imports
redis when it is installed. That is ~0.4 s, the largest fixed cost of a run
on a small feed, for two answers that are pure functions of the settings:

* the affine32 permutation parameters of ``MinHash(num_perm, seed)``;
* the bands and rows ``MinHashLSH(threshold, num_perm, weights)`` picks.

``dedup/data/datasketch_pinned.json`` holds them for common settings, taken
from datasketch itself by ``scripts/build_datasketch_pinned.py`` (nothing is
re-implemented). The table records the datasketch version that produced it
and is used only while that version is the one installed: other settings,
or another version, ask datasketch as before. ``tests/test_startup.py``
checks every entry against datasketch.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from typing import Any

import numpy as np

__all__ = ["TABLE", "datasketch_version", "pinned_band_params", "pinned_permutations"]

TABLE = "datasketch_pinned.json"


@lru_cache(maxsize=1)
def datasketch_version() -> str | None:
    """The installed datasketch's version (``datasketch.__version__``, read without importing it), or None.

    Read from the ``Version:`` line of the ``datasketch-*.dist-info/METADATA`` beside the package
    ``import datasketch`` would load (what pip installs). ``importlib.metadata`` is asked only when that
    is not there (an egg, a source checkout on the path): importing it costs ~20 ms (the email parser)
    of every command that makes signatures.
    """
    version = _dist_info_version()
    if version is not None:
        return version
    from importlib import metadata

    try:
        return metadata.version("datasketch")
    except metadata.PackageNotFoundError:
        return None


def _dist_info_version() -> str | None:
    """The ``Version:`` of the one ``datasketch-*.dist-info`` beside the importable package, or None."""
    name = version = None
    try:
        spec = find_spec("datasketch")
        folder = os.path.dirname(os.path.dirname(spec.origin)) if spec is not None and spec.origin else None
        infos = [e.path for e in os.scandir(folder) if e.name.lower().startswith("datasketch-")
                 and e.name.endswith(".dist-info")] if folder else []
        if len(infos) != 1:
            return None
        with open(os.path.join(infos[0], "METADATA"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():  # the headers end at the first blank line
                    break
                key, _, value = line.partition(":")
                if key == "Name":
                    name = value.strip()
                elif key == "Version":
                    version = value.strip()
    except (OSError, ValueError, ImportError):
        return None
    return version if name is not None and name.lower() == "datasketch" else None


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    """The pinned answers, or an empty table when the installed datasketch is not the version they came from."""
    installed = datasketch_version()
    if installed is None:
        return {}
    data = json.loads(resources.files("dedup").joinpath("data").joinpath(TABLE).read_text(encoding="utf-8"))
    if data.get("datasketch") != installed or data.get("scheme") != "affine32":
        return {}
    return {
        "permutations": {(int(e["num_perm"]), int(e["seed"])): (e["a"], e["b"]) for e in data["permutations"]},
        "band_params": {(float(t), int(p), float(w)): (int(b), int(r)) for t, p, w, b, r in data["band_params"]},
    }


def pinned_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``MinHash(num_perm, seed, scheme="affine32").permutations`` as uint32 arrays, if pinned."""
    found = _table().get("permutations", {}).get((num_perm, seed))
    if found is None:
        return None
    return np.array(found[0], dtype=np.uint32), np.array(found[1], dtype=np.uint32)


def pinned_band_params(threshold: float, num_perm: int, fp_weight: float) -> tuple[int, int] | None:
    """``(MinHashLSH.b, MinHashLSH.r)`` for ``threshold``, ``num_perm`` and ``weights=(fp_weight, 1 - fp_weight)``, if pinned."""
    return _table().get("band_params", {}).get((float(threshold), int(num_perm), float(fp_weight)))

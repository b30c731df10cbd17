"""SciPy's sparse matrices for dedup, loaded without NumPy's optional submodules.

Every module that builds a sparse matrix takes ``sp`` from here. SciPy's
vendored array-API layer (``scipy._lib.array_api_compat.numpy``, imported by
``scipy.sparse``) clones NumPy's namespace with ``from numpy import *`` and a
``getattr`` of every name in ``dir(numpy)``; NumPy loads its submodules
lazily, so that clone imports ``numpy.f2py``, ``numpy.testing``,
``numpy.ma``, ``numpy.polynomial`` and the rest, which dedup never uses.
Measured on this kind of machine: ``import scipy.sparse`` after NumPy 0.14 s
-> 0.05-0.08 s when those names are hidden while SciPy clones the namespace,
paid by every run that verifies a pair (``tests/test_startup.py`` checks
that they stay unloaded).

The names hidden are not in the array API standard, which is all that
namespace serves: code written against it never asks for them. NumPy's own
``__all__`` and ``__dir__`` are restored at once. A process that imported
``scipy.sparse`` before has nothing to do here.
"""

from __future__ import annotations

import sys

__all__ = ["sp"]

# NumPy's lazily loaded submodules outside the array API (numpy.linalg and numpy.fft are in it: SciPy's layer
# imports its own wrappers of them).
_NOT_ARRAY_API = frozenset({"char", "ctypeslib", "f2py", "ma", "polynomial", "rec", "strings", "testing"})


def _load():  # type: ignore[no-untyped-def]
    if "scipy.sparse" in sys.modules:
        import scipy.sparse

        return scipy.sparse
    import numpy

    names, listing = numpy.__all__, numpy.__dir__
    numpy.__all__ = [n for n in names if n not in _NOT_ARRAY_API]
    numpy.__dir__ = lambda: [n for n in listing() if n not in _NOT_ARRAY_API]  # type: ignore[method-assign]
    try:
        import scipy.sparse
    finally:
        numpy.__all__, numpy.__dir__ = names, listing  # type: ignore[method-assign]
    return scipy.sparse


sp = _load()

"""numba for dedup's compiled kernels, loaded without the SciPy import of numba's BLAS check.

Every module with a kernel takes ``numba`` from here. The first kernel a
process compiles or loads from numba's cache makes numba load its typing and
lowering registries; one of them, ``numba.np.arraymath``, checks on import
whether SciPy's BLAS is there by importing ``scipy.linalg`` (and with it
``numpy.f2py``): measured on this kind of machine, a process's first kernel
call 0.52 -> 0.39 s without it (numba's import included; the registries
0.30 -> 0.15 s), paid by each process that sketches, verifies or scores
stories with the compiled kernels.

dedup's kernels call no BLAS routine, so the check is told "no BLAS" and
SciPy's linear algebra is not imported. What that changes for numba in this
process: ``np.convolve`` and ``np.correlate`` in compiled code use numba's
own loop instead of BLAS. ``np.dot``, ``@`` and ``np.linalg`` are unchanged:
they ask SciPy themselves when a kernel uses them
(``numba.np.linalg.ensure_blas`` is restored at once).
"""

from __future__ import annotations

import sys

import numba

__all__ = ["numba"]


def _no_blas() -> None:
    raise ImportError("dedup's compiled kernels use no BLAS: SciPy's linear algebra is not imported for numba's check")


def _registries_without_blas_check() -> None:
    """Import ``numba.np.arraymath`` (which numba's registries would import at the first kernel) with its BLAS
    check answered without SciPy. A process that imported it already has paid the check: nothing to do."""
    if "numba.np.arraymath" in sys.modules:
        return
    import numba.np.linalg as linalg

    ensure_blas = linalg.ensure_blas
    linalg.ensure_blas = _no_blas
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = ensure_blas
    arraymath.ensure_blas = ensure_blas  # its one use, the check, is done: the name is numba's own again


_registries_without_blas_check()

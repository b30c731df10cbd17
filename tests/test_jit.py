"""numba as the kernels get it (``dedup.jit``): no SciPy linear algebra for its BLAS check, numba's BLAS use unchanged.

Each check runs in a fresh process: what a process imports is decided once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _fresh(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_kernel_loads_without_scipy_linear_algebra():
    out = _fresh("""
        import json, sys
        import numpy as np
        from dedup.config import MinHashConfig
        from dedup.sketch.compiled import minhash_signatures
        from dedup.sketch.signatures import minhash_signatures as numpy_signatures
        from dedup.text.compiled import token_hashes
        h = np.arange(1, 40, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        same = bool((minhash_signatures(h, np.array([0, 39]), MinHashConfig())
                     == numpy_signatures(h, np.array([0, 39]), MinHashConfig())).all())
        token_hashes(["one two three"])
        print(json.dumps({"same": same, "linalg": "scipy.linalg" in sys.modules}))
    """)
    assert out == {"same": True, "linalg": False}


def test_numba_still_reaches_blas_for_a_dot_product():
    # the check is answered for the registries only: a kernel of someone else's that calls np.dot gets SciPy's BLAS
    out = _fresh("""
        import json, sys
        import numpy as np
        from dedup.jit import numba
        import numba.np.linalg as linalg
        restored = linalg.ensure_blas.__module__ == "numba.np.linalg"
        dot = numba.njit(lambda a, b: np.dot(a, b))
        a = np.arange(4.0)
        print(json.dumps({"dot": float(dot(a, a)), "restored": restored, "linalg": "scipy.linalg" in sys.modules}))
    """)
    assert out == {"dot": 14.0, "restored": True, "linalg": True}

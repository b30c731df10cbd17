"""Build dedup/data/datasketch_pinned.json: datasketch's answers for common settings (see dedup/sketch/pinned.py).

A run needs two things from datasketch, the affine32 permutations of
``MinHash(num_perm, seed)`` and the band layout ``MinHashLSH`` picks for a
threshold; importing datasketch to ask costs ~0.4 s (it loads SciPy's
integrators and redis). This script asks datasketch once, for every setting
in the grid below, and stores the answers with the datasketch version; dedup
uses them only while that version is installed.

Rebuild after upgrading datasketch (``tests/test_startup.py`` fails until
then, and runs fall back to importing datasketch).

Usage: ``python scripts/build_datasketch_pinned.py``
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path

from datasketch import MinHash, MinHashLSH

NUM_PERMS = (64, 128, 256)  # --num-perm values worth pinning (128 is the default)
SEEDS = (1,)  # MinHashConfig.seed
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # --lsh-threshold 0.05 .. 0.95 (default 0.3)
FP_WEIGHTS = (0.5,)  # IndexConfig.fp_weight
OUT = Path(__file__).resolve().parent.parent / "dedup" / "data" / "datasketch_pinned.json"


def build() -> dict:
    """The table: datasketch's version and scheme, permutations and band layouts of the grid."""
    perms = []
    for num_perm in NUM_PERMS:
        for seed in SEEDS:
            a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
            perms.append({"num_perm": num_perm, "seed": seed, "a": [int(x) for x in a], "b": [int(x) for x in b]})
    bands = []
    for num_perm in NUM_PERMS:
        for threshold in THRESHOLDS:
            for w in FP_WEIGHTS:
                lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(w, 1.0 - w))
                bands.append([threshold, num_perm, w, int(lsh.b), int(lsh.r)])
    return {
        "datasketch": metadata.version("datasketch"),
        "scheme": "affine32",
        "note": "written by scripts/build_datasketch_pinned.py; band_params rows are [threshold, num_perm, fp_weight, bands, rows]",
        "permutations": perms,
        "band_params": bands,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="where to write the table")
    args = ap.parse_args(argv)
    table = build()
    # one permutation entry per line keeps the file reviewable in a diff
    lines = [json.dumps({k: v for k, v in table.items() if k not in ("permutations", "band_params")}, ensure_ascii=False)[:-1]]
    lines.append(', "permutations": [\n' + ",\n".join(json.dumps(p) for p in table["permutations"]) + "\n]")
    lines.append(', "band_params": [\n' + ",\n".join(json.dumps(b) for b in table["band_params"]) + "\n]}\n")
    text = "".join(lines)
    assert json.loads(text) == table
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(table['permutations'])} permutation sets, {len(table['band_params'])} band layouts "
          f"(datasketch {table['datasketch']})")


if __name__ == "__main__":
    main()

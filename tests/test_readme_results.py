"""The README's generated Results section matches the committed results/*.json (scripts/readme_results.py --check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_results_section_is_up_to_date() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_results.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_check_names_a_stale_section(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_results
    finally:
        sys.path.pop(0)
    stale = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    stale.write_text(text.replace(readme_results.END, "a stale line\n" + readme_results.END, 1), encoding="utf-8")
    old_root = readme_results.ROOT
    readme_results.ROOT = tmp_path
    try:
        (tmp_path / "results").symlink_to(ROOT / "results")
        assert readme_results.main(["--check"]) == 1
        assert stale.read_text(encoding="utf-8").count("a stale line") == 1  # --check writes nothing
    finally:
        readme_results.ROOT = old_root

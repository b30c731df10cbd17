"""The tests mirror the package: every module of ``dedup`` has a test file that imports it, or is named here with
the test file that exercises it through its caller. A new module without a test fails this test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Modules tested through the entry point that drives them (a real server, the CLI, a flow), not by import.
THROUGH = {
    "dedup.__main__": ("test_startup.py", "python -m dedup runs the CLI"),
    "dedup.cli.options": ("test_cli.py", "the generated options, --config and one-line errors, through the commands"),
    "dedup.flows.history": ("test_index.py", "dedupe --index: day by day vs batch, reruns, kill -9, two writers"),
    "dedup.flows.story_history": ("test_stories_index.py", "stories --index: two feeds vs one batch, reruns, kill -9"),
    "dedup.io.console": ("test_cli.py", "progress bars and the one-line summaries, through every command"),
    "dedup.io.repeats_out": ("test_repeats.py", "the four files of dedup repeats, through the CLI"),
    "dedup.jobs.evaluate": ("test_eval.py", "dedup eval, through the CLI"),
    "dedup.verify.kernels": ("test_verify_scores.py", "the compiled merge scores bit for bit as the SciPy path (score_pairs(compiled=True))"),
    "dedup.jobs.serve": ("test_serve.py", "dedup serve started for real on a loopback port"),
    "dedup.serve.app": ("test_serve.py", "every endpoint of a real server"),
    "dedup.serve.page": ("test_serve.py", "the pages of a real server, in headless Chromium"),
    "dedup.store.story_redis": ("test_stories_index.py", "stories tracked in a real redis-server"),
    "dedup.store.contained_redis": ("test_index.py", "the containers of one text on a real redis-server, as the export names them"),
    "dedup.store.redis_lock": ("test_index.py", "the writer and tracker locks on a real redis-server: a wait, one called off"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted((ROOT / "dedup").rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _public(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                names |= set(ast.literal_eval(node.value))
            except ValueError:  # an __all__ built by an expression: its public functions and classes still count
                pass
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            names.add(node.name)
    return names


def _referenced(module: str, path: Path, texts: dict[str, str]) -> bool:
    """Some test file names ``module`` or imports it (or one of its public names) from its package."""
    parent, leaf = module.rsplit(".", 1) if "." in module else ("", module)
    names = _public(path)
    for text in texts.values():
        if re.search(rf"\b{re.escape(module)}\b", text):
            return True
        for m in re.finditer(rf"from {re.escape(parent)} import \(?([^)\n]+(?:\n[ \t]+[^)\n]+)*)", text):
            imported = set(re.findall(r"\w+", m.group(1)))
            if leaf in imported or names & imported:
                return True
    return False


def test_every_module_has_a_test_file() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py")}
    missing = [m for m, p in _modules().items() if m not in THROUGH and not _referenced(m, p, texts)]
    assert not missing, f"modules without a test file (add one, or name it in THROUGH with the file that drives it): {missing}"


def test_the_files_named_for_modules_tested_through_their_callers_exist() -> None:
    modules = _modules()
    for module, (test_file, _) in THROUGH.items():
        assert module in modules, f"{module} is gone: remove it from THROUGH"
        assert (ROOT / "tests" / test_file).is_file(), test_file

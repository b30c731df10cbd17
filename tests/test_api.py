import subprocess
import sys

import dedup


def test_public_api_is_pinned() -> None:
    assert dedup.__all__ == [
        "Article", "BadRecord", "ClusterConfig", "ConfigError", "DedupConfig", "DedupError", "DedupResult",
        "IndexConfig", "InputError", "InputFormatError", "InputNotFoundError", "MinHashConfig", "NormalizeConfig",
        "OutputError", "ReadConfig", "RepeatsConfig", "Runtime", "ShingleConfig", "StoriesConfig", "VerifyConfig",
        "__version__", "clean", "dedupe", "find_repeats", "normalize", "read_articles", "similarity", "stories",
    ]
    for name in dedup.__all__:
        assert getattr(dedup, name) is not None


def test_errors_inherit_builtins() -> None:
    assert issubclass(dedup.InputFormatError, ValueError) and issubclass(dedup.InputFormatError, dedup.DedupError)
    assert issubclass(dedup.ConfigError, ValueError)
    assert issubclass(dedup.InputNotFoundError, FileNotFoundError)
    assert issubclass(dedup.OutputError, OSError)


def test_worker_modules_stay_light() -> None:
    code = "import sys, dedup.sketch.prepare; print('sklearn' in sys.modules, 'datasketch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

"""dedup.io.paths: URL or local path, storage options; a local output place needs no object-storage layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dedup.errors import ConfigError
from dedup.io.paths import is_url, parse_storage_options

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("arg, url", [("s3://b/k.jsonl", True), ("gs://b/", True), ("https://x.org/f", True),
                                      ("feed.jsonl", False), ("C://feed", False), ("/tmp/s3://x", False), (Path("s3://x"), False)])
def test_is_url(arg: object, url: bool) -> None:
    assert is_url(arg) is url


def test_storage_options_parse_json_values_and_keep_the_last_of_a_key() -> None:
    assert parse_storage_options(["anon=true", "n=3", "anon=false", "name=x=y"]) == (("anon", False), ("n", 3), ("name", "x=y"))
    assert parse_storage_options(None) == ()
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_storage_options(["=1"])


def test_a_local_output_place_is_the_folder_itself_and_loads_no_object_storage(tmp_path: Path) -> None:
    code = ("import sys\nfrom dedup.io.writers import staged_output\n"
            f"with staged_output({str(tmp_path / 'out')!r}) as place:\n    print(place)\n"
            "print('dedup.io.remote' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(tmp_path / "out"), "False"]

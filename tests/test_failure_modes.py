"""Failure modes of the batch commands (user audit): each test fails on the code before its fix.

1  a UTF-16 feed or pairs file is refused whole, in one line naming it and its encoding, also with --skip-bad
   (its lines were split at the byte 0x0A: 6 records were "22 bad records", 21 in the other byte order);
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app

runner = CliRunner()

# U+010A and U+0A0A hold the byte 0x0A in UTF-16; Arabic as in the feeds
TEXTS = ["قال الرئيس في مؤتمر صحفي إن المحادثات كانت مثمرة \u010a وإن الجانبين اتفقا على مواصلة الحوار",
         "heavy rain flooded roads in the north \u0a0a of the country and schools closed for two days",
         "president xi told foreign minister lavrov in beijing that china and russia must strengthen support"]


def _records(command: str) -> str:
    if command == "similarity":
        rows = [{"id": f"p{k}", "text1": t, "text2": t + " again"} for k, t in enumerate(TEXTS)]
    else:
        rows = [{"id": f"a{k}", "text": t, "date": "2024-03-01"} for k, t in enumerate(TEXTS * 2)]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats", "similarity"])
@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
                         ids=["le", "be"])
def test_a_utf16_file_is_refused_in_one_line(tmp_path: Path, command: str, bom: bytes, codec: str) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(bom + _records(command).encode(codec))
    good = tmp_path / "good.jsonl"  # read first: the UTF-16 file is refused even after good records
    good.write_text(_records(command), encoding="utf-8")
    out = tmp_path / ("o.jsonl" if command == "similarity" else "out")
    inputs = [feed] if command == "similarity" else [good, feed]
    r = runner.invoke(app, [command, *map(str, inputs), "--out", str(out), "--skip-bad"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines() == [
        f"dedup: error: {feed}: the file is UTF-16 (it starts with its byte-order mark), not UTF-8, and was not read; "
        f"convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8 {feed} > utf8-feed.jsonl"]
    assert not out.exists() or not (out / "summary.json").exists()

"""Random feeds, and the properties every reader and command keeps on them (issue 15's fuzz harness).

:func:`make_feed` writes one random input, drawn from ``rng`` (a
``random.Random``, or hypothesis's ``st.randoms()`` so that hypothesis can
shrink it): JSONL with broken lines, wrong types, lone surrogates, NUL bytes,
bidi controls, empty and huge texts, blank and over-long lines, a UTF-16
byte-order mark; CSV and TSV with broken quoting and wrong field counts; JSON
documents; ``.txt`` folders; zip archives with empty members; gzip, whole or
truncated; random bytes. :func:`check_readers` and :func:`check_command` run
it and return the properties it broke:

* ``traceback``: an exception other than :class:`~dedup.errors.DedupError` escaped
  (a reader), or the command ended in an uncaught exception or printed a traceback;
* ``exit_code``: the command exited with anything but 0 or 1;
* ``miscounted``: the per-article output (``decisions.jsonl``, ``articles.jsonl``,
  ``stories.jsonl``) does not have one line per input record: not articles +
  bad records of its own ``summary.json``, not the null-id lines = bad records,
  or, for JSONL whose records can be counted by the documented rules alone
  (:func:`jsonl_records`), not that count;
* ``complete_after_failure``: a command that exited 1 left a ``summary.json``;
* ``invalid_article``: a reader returned an article with a non-string or
  surrogate-holding field, or a repeated id.

Used by ``tests/test_fuzz.py`` (hypothesis, a fast profile) and
``scripts/fuzz.py`` (the long run that writes ``results/fuzz.json``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import traceback
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMANDS = {"dedupe": "decisions.jsonl", "repeats": "articles.jsonl", "stories": "stories.jsonl"}
FORMATS = ("jsonl", "jsonl", "jsonl", "jsonl.gz", "json", "csv", "tsv", "txt", "zip", "bytes")

_WORDS = ("the council met on monday to discuss water plan for eastern district city president xi lavrov beijing "
          "china russia support consensus reported tuesday heavy rain flooded roads north schools closed "
          "قال الرئيس إن الاجتماع كان مثمرا وزير خارجية الصين روسيا بكين يوم الثلاثاء").split()
_ODD = ("\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200f", "\u0301", "\ufeff", "\u2028", "\x00", "\x1b", "\r",
        "\t", "\\", '"', ",", "'", "\U0001f600", "\u0651", "\u064b", "ـ", "<script>", "&amp;", "\ud800", "\udfff")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Feed:
    """One random input: the path to give the commands, its format, and what is known of its records."""

    path: Path
    kind: str
    limit: int  # --max-record-bytes
    records: int | None  # input records by the documented rules, when they can be counted without the reader


# ------------------------------------------------------------------ drawing


def _text(rng: Any, limit: int) -> str:
    """An article text: words (so that copies and near copies happen), odd characters, or nothing."""
    roll = rng.random()
    if roll < 0.08:
        return ""
    if roll < 0.12:
        return " \n\t "
    if roll < 0.17:  # huge: around a small record limit, else long (tens of kB; the 16 MiB limit: tests/test_hardening.py)
        size = limit if limit < 2**16 else 60_000
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(size // 12, size // 4 + 10)))
    if roll < 0.2:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 60)))
    words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 60))]
    for _ in range(rng.randint(0, 3) if rng.random() < 0.3 else 0):
        words.insert(rng.randint(0, len(words)), rng.choice(_ODD))
    paragraphs = " ".join(words).replace(" . ", "\n")
    if rng.random() < 0.2:  # a repeated paragraph, for repeats
        paragraphs = paragraphs + "\n" + paragraphs
    return paragraphs


def _value(rng: Any, limit: int) -> Any:
    """A field value of any JSON type (or a Python one json can still write)."""
    return rng.choice([
        None, True, False, 0, -1, 3.5, 1e308, "", "x", [], {}, [1, "a"], {"k": "v"},
        _text(rng, limit), rng.choice(_ODD), str(rng.randint(0, 5)), "2025-07-15", "2025-07-15T10:00:00Z", "not a date",
    ])


def _record(rng: Any, limit: int, k: int) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.75:
        rec["id"] = rng.choice([f"a{k}", f"a{k}", f"a{k}", f"a{rng.randint(0, k)}", k, str(k)])
    elif roll < 0.9:
        rec["id"] = _value(rng, limit)
    text_key = rng.choice(["text", "text", "text", "content", "Text", "body", "words"])
    rec[text_key] = _text(rng, limit) if rng.random() < 0.9 else _value(rng, limit)
    for key in ("title", "date", "source"):
        if rng.random() < 0.5:
            rec[key] = _value(rng, limit) if rng.random() < 0.3 else (
                _text(rng, limit)[:80] if key == "title" else rng.choice(["s1", "s2", "2025-07-15", "\u202es3"]))
    if rng.random() < 0.1:
        rec = dict(reversed(list(rec.items())))
    return rec


def _encode(line: str) -> bytes:
    return line.encode("utf-8", "surrogatepass")  # a lone surrogate written raw is invalid UTF-8: a bad line too


def _jsonl_line(rng: Any, limit: int, k: int) -> bytes:
    roll = rng.random()
    if roll < 0.7:
        rec = _record(rng, limit, k)
        return _encode(json.dumps(rec, ensure_ascii=rng.random() < 0.5))
    if roll < 0.74:
        return b""
    if roll < 0.77:
        return rng.choice([b"   ", b"\t", b"\r", b"\x0c", "\u3000".encode()])
    if roll < 0.82:
        good = json.dumps(_record(rng, limit, k)).encode()
        return good[: rng.randint(0, len(good))]  # truncated
    if roll < 0.85:
        return rng.choice([b"[1, 2]", b"42", b"null", b'"text"', b"true", b"[]", b"{}"])
    if roll < 0.87:
        return b"[" * rng.randint(1000, 20000) + b"]" * rng.randint(0, 3)  # nested deeper than the parser's stack
    if roll < 0.9:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))).replace(b"\n", b" ")
    if roll < 0.93:
        return b'{"id": "n%d", "text": "caf\xe9 \xff\xfe"}' % k
    if roll < 0.95:
        return b'{"id": "z%d", "text": "a\x00b c d e f g h"}' % k
    if roll < 0.97:
        return b'{"id": "s%d", "text": "abc \\ud800 def ghi jkl mno pqr stu vwx yz1 2345"}' % k
    size = min(limit, 2**16)  # over a small limit; a long line under the default one
    return b'{"id": "o%d", "text": "' % k + b"word " * rng.randint(size // 5, size // 5 + 50) + b'"}'


def _jsonl_bytes(rng: Any, limit: int) -> bytes:
    lines = [_jsonl_line(rng, limit, k) for k in range(rng.randint(0, 14))]
    end = rng.choice([b"\n", b"\n", b"\r\n"])
    data = end.join(lines) + (end if rng.random() < 0.8 else b"")
    if rng.random() < 0.03:
        data = b"\xef\xbb\xbf" + data  # a UTF-8 byte-order mark: dropped
    if rng.random() < 0.02:
        data = "\n".join(json.dumps(_record(rng, limit, k)) for k in range(3)).encode("utf-16")
    return data


def _csv_bytes(rng: Any, limit: int, sep: str) -> bytes:
    header = rng.choice([["id", "text"], ["id", "text", "title", "date", "source"], ["text"], ["id", "body"],
                         ["id", "id", "text"], ["x", "y"], ["url", "content", "published"]])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=rng.choice(["\n", "\r\n"]))
    writer.writerow(header)
    for k in range(rng.randint(0, 10)):
        row = [rng.choice([f"a{k}", str(k), f"a{rng.randint(0, k)}"]) if h in ("id", "url") else _text(rng, limit)
               for h in header]
        roll = rng.random()
        if roll < 0.08:
            row = row[:-1]  # a field short
        elif roll < 0.12:
            row = row + ["extra"]
        if roll > 0.93:  # written by hand: a stray quote, or a delimiter left unquoted
            buf.write(sep.join(row).replace(rng.choice(["a", "e", " "]), rng.choice(['"', sep, '""']), 1) + "\n")
        elif 0.9 < roll <= 0.93:
            buf.write("\n")
        else:
            writer.writerow(row)
    data = _encode(buf.getvalue())
    if rng.random() < 0.05:
        at = rng.randint(0, len(data))
        data = data[:at] + b'"' + data[at:]
    return data


def _json_bytes(rng: Any, limit: int) -> bytes:
    records = [_record(rng, limit, k) if rng.random() < 0.85 else _value(rng, limit) for k in range(rng.randint(0, 8))]
    roll = rng.random()
    doc: Any = records if roll < 0.6 else {"articles": records} if roll < 0.8 else {"a": records, "b": [1]} if roll < 0.85 else _value(rng, limit)
    data = _encode(json.dumps(doc, ensure_ascii=rng.random() < 0.5))
    if rng.random() < 0.1:
        data = data[: rng.randint(0, len(data))]
    return data


def jsonl_records(data: bytes, limit: int) -> int:
    """The records of JSONL ``data`` by ``docs/inputs.md`` alone: lines that are not blank, and lines over the limit.

    A line is what ends at ``\\n``; it is blank when it decodes as UTF-8 to
    whitespace only; a line of more than ``limit`` bytes is a record (a bad
    one) without being looked at.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    n = 0
    for k, line in enumerate(lines):
        if len(line) > limit:
            n += 1
            continue
        try:
            text = line.decode("utf-8-sig" if k == 0 else "utf-8")
        except UnicodeDecodeError:
            n += 1
            continue
        n += bool(text.strip())
    return n


def make_feed(rng: Any, folder: Path) -> Feed:
    """Write one random input into ``folder`` (which must exist and be empty)."""
    kind = rng.choice(FORMATS)
    limit = rng.choice([16 * 2**20, 16 * 2**20, 400, 3000])
    if kind == "jsonl":
        data = _jsonl_bytes(rng, limit)
        path = folder / "feed.jsonl"
        path.write_bytes(data)
        return Feed(path, kind, limit, jsonl_records(data, limit))
    if kind == "jsonl.gz":
        data = _jsonl_bytes(rng, limit)
        packed = gzip.compress(data)
        truncated = rng.random() < 0.15
        path = folder / "feed.jsonl.gz"
        path.write_bytes(packed[: rng.randint(0, len(packed) - 1)] if truncated else packed)
        return Feed(path, kind, limit, None if truncated else jsonl_records(data, limit))
    if kind in ("csv", "tsv"):
        path = folder / f"feed.{kind}"
        path.write_bytes(_csv_bytes(rng, limit, "," if kind == "csv" else "\t"))
        return Feed(path, kind, limit, None)
    if kind == "json":
        path = folder / "feed.json"
        path.write_bytes(_json_bytes(rng, limit))
        return Feed(path, kind, limit, None)
    if kind == "txt":
        path = folder / "texts"
        path.mkdir()
        n = rng.randint(0, 4)
        for k in range(n):
            body = _encode(_text(rng, limit)) if rng.random() < 0.85 else bytes(rng.getrandbits(8) for _ in range(30))
            (path / f"{k:02d}-{rng.choice(['a', 'b', 'ث'])}.txt").write_bytes(body)
        if rng.random() < 0.2:
            (path / ".hidden.txt").write_bytes(b"not an article")
        return Feed(path, kind, limit, n)
    if kind == "zip":
        path = folder / "feed.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for k in range(rng.randint(0, 3)):
                roll = rng.random()
                if roll < 0.55:
                    zf.writestr(f"m{k}.jsonl", _jsonl_bytes(rng, limit))
                elif roll < 0.75:
                    zf.writestr(f"m{k}.json", _json_bytes(rng, limit))
                elif roll < 0.9:
                    zf.writestr(f"m{k}.jsonl", b"")
                else:
                    zf.writestr(f"notes{k}.txt", b"ignored")
        if rng.random() < 0.05:
            path.write_bytes(path.read_bytes()[: rng.randint(0, path.stat().st_size)])
        return Feed(path, kind, limit, None)
    path = folder / rng.choice(["noise.jsonl", "noise.csv", "noise.json"])  # random bytes
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))))
    return Feed(path, kind, limit, None)


# ------------------------------------------------------------------ checking


def _failure(kind: str, where: str, detail: str) -> dict[str, str]:
    return {"kind": kind, "where": where, "detail": detail[-1500:]}


def check_readers(feed: Feed) -> list[dict[str, str]]:
    """Read ``feed`` with and without ``skip_bad``: only :class:`DedupError`, valid articles, every record counted."""
    from dedup.config import ReadConfig
    from dedup.errors import DedupError
    from dedup.io.readers import read_articles

    failures = []
    for skip_bad in (False, True):
        where = f"read_articles(skip_bad={skip_bad})"
        try:
            articles, bad = read_articles([feed.path], ReadConfig(skip_bad=skip_bad, max_record_bytes=feed.limit))
        except DedupError:
            continue
        except BaseException:  # noqa: BLE001 - anything else is what the harness looks for
            failures.append(_failure("traceback", where, traceback.format_exc()))
            continue
        ids = [a.id for a in articles]
        odd = [a for a in articles if not all(isinstance(v, str) and not _SURROGATE.search(v)
                                              for v in (a.id, a.text, a.title, a.source, a.date or ""))]
        if odd or len(set(ids)) != len(ids):
            failures.append(_failure("invalid_article", where, repr(odd[:1] or ids)))
        if feed.records is not None and len(articles) + len(bad) != feed.records:
            failures.append(_failure("miscounted", where, f"{len(articles)} articles + {len(bad)} bad != {feed.records} records"))
    return failures


class Invoker:
    """The ``dedup`` command line, called in this process (the click command is built once)."""

    def __init__(self) -> None:
        import typer.main
        from typer.testing import CliRunner

        from dedup.cli import app

        self._runner = CliRunner()
        self._cli = typer.main.get_command(app)

    def __call__(self, args: Sequence[str]) -> tuple[int | None, str, str | None]:
        """``(exit code, output, traceback of an uncaught exception or None)``."""
        with self._runner.isolation() as streams:
            code: Any = 0
            tb = None
            try:
                self._cli.main(args=list(args), prog_name="dedup")
            except SystemExit as exc:
                code = 0 if exc.code is None else exc.code
            except BaseException:  # noqa: BLE001
                code, tb = None, traceback.format_exc()
            finally:
                import sys

                sys.stdout.flush()
                sys.stderr.flush()
            output = streams[2].getvalue().decode("utf-8", "replace")
        return code, output, tb


def check_command(invoke: Invoker, feed: Feed, command: str, skip_bad: bool, out: Path) -> list[dict[str, str]]:
    """Run ``dedup COMMAND FEED --out OUT`` (``out`` must not exist) and check every property of its outcome."""
    args = [command, str(feed.path), "--out", str(out), "-q", "--max-record-bytes", str(feed.limit)]
    args += ["--skip-bad"] if skip_bad else []
    return check_outcome(feed, command, skip_bad, out, *invoke(args))


def check_outcome(
    feed: Feed, command: str, skip_bad: bool, out: Path, code: int | None, output: str, tb: str | None
) -> list[dict[str, str]]:
    """The properties a run of ``command`` on ``feed`` broke, from its exit code, output and ``out`` folder."""
    where = f"dedup {command} <{feed.kind}> --max-record-bytes {feed.limit}" + (" --skip-bad" if skip_bad else "")
    if tb is not None or "Traceback" in output:
        return [_failure("traceback", where, tb or output)]
    if code not in (0, 1):
        return [_failure("exit_code", where, f"exit code {code!r}: {output}")]
    summary = out / "summary.json"
    if code == 1:
        if summary.exists():
            return [_failure("complete_after_failure", where, f"summary.json after exit 1: {output}")]
        if "error" not in output:
            return [_failure("exit_code", where, f"exit 1 without an error line: {output!r}")]
        return []
    if not summary.exists():
        return [_failure("complete_after_failure", where, "exit 0 without summary.json")]
    counts = json.loads(summary.read_text(encoding="utf-8"))["counts"]
    # split at "\n" only: ids and reasons may hold U+2028 and other characters str.splitlines() breaks at
    rows = [json.loads(line) for line in (out / COMMANDS[command]).read_text(encoding="utf-8").split("\n")[:-1]]
    n_bad = sum(r["id"] is None for r in rows)
    problems = []
    if len(rows) != counts["articles"] + counts["bad_records"]:
        problems.append(f"{len(rows)} lines != {counts['articles']} articles + {counts['bad_records']} bad records")
    if n_bad != counts["bad_records"] or (not skip_bad and n_bad):
        problems.append(f"{n_bad} null-id lines, {counts['bad_records']} bad records, skip_bad={skip_bad}")
    if feed.records is not None and len(rows) != feed.records:
        problems.append(f"{len(rows)} lines != {feed.records} input records")
    return [_failure("miscounted", where, "; ".join(problems))] if problems else []

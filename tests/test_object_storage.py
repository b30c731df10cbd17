"""Object storage and HTTP (issue 17): feeds read from s3:// and http(s):// URLs, outputs written to s3://.

S3 here is a real S3 API over HTTP: moto's server (``ThreadedMotoServer``) on
a free loopback port, which s3fs reaches through the standard environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, …) exactly as it would reach
AWS or MinIO. Nothing of dedup is mocked: the CLI lists, streams and uploads
through fsspec and s3fs, and the same feed read from a local file must give
the same decisions, byte for byte. HTTP is Python's ``http.server`` serving a
temporary folder on loopback. The module is skipped (with the reason) only
when moto or s3fs is not installed (``pip install -e '.[test]'`` installs
them).
"""

from __future__ import annotations

import bz2
import functools
import gzip
import http.server
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed: pip install -e '.[test]'")
s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed: pip install -e '.[test]' (or 'dedup[cloud]')")

from _servers import free_port  # noqa: E402
from test_formats import csv_bytes, feed, jsonl_bytes, newsplease_tree, parquet_table, pq  # noqa: E402

from dedup.cli import app  # noqa: E402

runner = CliRunner()
_ENV = {  # a closed world: no profile, config file or instance metadata of the machine running the tests
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, and the environment pointing s3fs at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS"):
            mp.delenv(key, raising=False)
        for key, value in {**_ENV, "AWS_ENDPOINT_URL": url}.items():
            mp.setenv(key, value)
        yield url
    server.stop()


@pytest.fixture
def s3(endpoint: str) -> s3fs.S3FileSystem:
    """A client of the server, to put objects and look at outputs (a new one per test: no listings cached)."""
    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False)


@pytest.fixture
def bucket(s3: s3fs.S3FileSystem) -> str:
    name = f"news-{uuid.uuid4().hex[:12]}"
    s3.mkdir(name)
    return name


def run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [*map(str, args), "-q"] if args[0] != "similarity" else list(map(str, args)))
    return result.exit_code, result.output


def local_run(tmp: Path, command: str = "dedupe") -> Path:
    """The outputs of ``command`` on the feed read from a local JSONL file ``tmp/feed.jsonl``."""
    feed_file = tmp / "feed.jsonl"
    feed_file.write_bytes(jsonl_bytes(feed()))
    code, output = run(command, feed_file, "--out", tmp / f"local-{command}")
    assert code == 0, output
    return tmp / f"local-{command}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return local_run(tmp_path_factory.mktemp("reference"))


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dedup: error: "), output
    assert "Traceback" not in output
    return lines[0]


# --------------------------------------------------------------------------- reading


def _parquet_prefix(s3: Any, root: str, rows: list[dict]) -> str:
    table = parquet_table(rows)
    for k, (start, stop) in enumerate(((0, 10), (10, 20), (20, len(rows)))):
        with s3.open(f"{root}/ds/date=2024-03-{k:02d}/part-{k}.parquet", "wb") as out:
            pq.write_table(table.slice(start, stop - start), out, row_group_size=7)
    s3.pipe_file(f"{root}/ds/_SUCCESS", b"")
    return f"s3://{root}/ds/"


def _newsplease_prefix(s3: Any, root: str, rows: list[dict], tmp: Path) -> str:
    tree = newsplease_tree(tmp / "np", rows)
    for path in sorted(tree.rglob("*.json")):
        s3.pipe_file(f"{root}/crawl/{path.relative_to(tree).as_posix()}", path.read_bytes())
    return f"s3://{root}/crawl"  # a prefix named without the slash is a folder too


def _put(s3: Any, key: str, data: bytes) -> str:
    s3.pipe_file(key, data)
    return f"s3://{key}"


def _shards(s3: Any, root: str, rows: list[dict]) -> str:
    """Spark-like output: part files (one compressed), a marker and a checksum, under a prefix."""
    s3.pipe_file(f"{root}/out/part-00000.jsonl", jsonl_bytes(rows[:12]))
    s3.pipe_file(f"{root}/out/part-00001.jsonl.gz", gzip.compress(jsonl_bytes(rows[12:])))
    s3.pipe_file(f"{root}/out/_SUCCESS", b"")
    s3.pipe_file(f"{root}/out/.part-00000.jsonl.crc", b"\x00")
    return f"s3://{root}/out/"


SOURCES = {  # id: how to put the feed in the bucket, returning the URL to read
    "object": lambda s3, b, rows, tmp: _put(s3, f"{b}/feeds/feed.jsonl", jsonl_bytes(rows)),
    "gzip-object": lambda s3, b, rows, tmp: _put(s3, f"{b}/feeds/feed.jsonl.gz", gzip.compress(jsonl_bytes(rows))),
    "bz2-csv-object": lambda s3, b, rows, tmp: _put(s3, f"{b}/feed.csv.bz2", bz2.compress(csv_bytes(rows))),
    "prefix-of-shards": lambda s3, b, rows, tmp: _shards(s3, b, rows),
    "glob": lambda s3, b, rows, tmp: _shards(s3, b, rows).rstrip("/") + "/part-*",
    "parquet-prefix": lambda s3, b, rows, tmp: _parquet_prefix(s3, b, rows),
    "newsplease-prefix": lambda s3, b, rows, tmp: _newsplease_prefix(s3, b, rows, tmp),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_dedupe_from_s3_gives_the_local_decisions(s3: Any, bucket: str, tmp_path: Path, reference: Path, source: str) -> None:
    url = SOURCES[source](s3, bucket, feed(), tmp_path)
    code, output = run("dedupe", url, "--out", tmp_path / "out")
    assert code == 0, output
    assert (tmp_path / "out" / "decisions.jsonl").read_bytes() == (reference / "decisions.jsonl").read_bytes()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["inputs"] == [url]


def test_an_object_is_streamed_in_ranges_not_downloaded_whole(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.remote
    from dedup.io.readers import read_articles

    rows = [{**r, "url": f"{r['url']}/{k}"} for k in range(100) for r in feed()]  # 3000 records, about 3.5 MB
    data = jsonl_bytes(rows)
    url = _put(s3, f"{bucket}/big.jsonl", data)
    ranges: list[tuple[int, int]] = []
    real = s3fs.core.S3File._fetch_range

    def fetch(self: Any, start: int, end: int) -> bytes:
        ranges.append((start, end))
        return real(self, start, end)

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", fetch)
    monkeypatch.setattr(dedup.io.remote, "BLOCK", 1 << 16)
    articles, _ = read_articles([url])
    assert [a.id for a in articles] == [r["url"] for r in rows]
    assert len(ranges) >= 3 and max(end - start for start, end in ranges) <= (1 << 20) + (1 << 16)  # buffer + block
    assert ranges[0][0] == 0 and ranges[-1][1] >= len(data)


def test_unique_parquet_copies_the_rows_of_s3_parquet(s3: Any, bucket: str, tmp_path: Path) -> None:
    url = _parquet_prefix(s3, bucket, feed())
    code, output = run("dedupe", url, "--out", tmp_path / "out", "--output-format", "parquet")
    assert code == 0, output
    kept = pq.read_table(tmp_path / "out" / "unique.parquet")
    decisions = pq.read_table(tmp_path / "out" / "decisions.parquet").to_pylist()
    assert kept.column("url").to_pylist() == [d["id"] for d in decisions if d["status"] != "duplicate"]
    assert str(kept.schema.field("date_publish").type) == "timestamp[us]"  # the rows themselves, not JSON text


def test_prefix_mixing_kinds_is_refused_with_the_counts(s3: Any, bucket: str, tmp_path: Path) -> None:
    s3.pipe_file(f"{bucket}/mixed/a.txt", b"notes")
    s3.pipe_file(f"{bucket}/mixed/feed.jsonl", jsonl_bytes(feed()))
    code, output = run("dedupe", f"s3://{bucket}/mixed/", "--out", tmp_path / "out")
    assert code == 1
    line = one_line(output)
    assert f"s3://{bucket}/mixed/: the prefix holds several kinds of input (1 .txt, 1 feed" in line
    code, output = run("dedupe", f"s3://{bucket}/mixed/", "--format", "jsonl", "--out", tmp_path / "out")
    assert code == 0, output


def test_stories_repeats_and_similarity_read_s3(s3: Any, bucket: str, tmp_path: Path) -> None:
    url = _put(s3, f"{bucket}/feed.jsonl.gz", gzip.compress(jsonl_bytes(feed())))
    for command, name in (("stories", "stories.jsonl"), ("repeats", "articles.jsonl")):
        local = local_run(tmp_path, command)
        code, output = run(command, url, "--out", tmp_path / command)
        assert code == 0, output
        assert (tmp_path / command / name).read_bytes() == (local / name).read_bytes()
    pairs = [{"id": "p1", "text1": feed()[0]["maintext"], "text2": feed()[16]["maintext"]}]
    pairs_url = _put(s3, f"{bucket}/pairs.jsonl", jsonl_bytes(pairs))
    code, output = run("similarity", pairs_url, "--out", f"s3://{bucket}/scored/pairs.jsonl")
    assert code == 0, output
    [row] = [json.loads(line) for line in s3.cat_file(f"{bucket}/scored/pairs.jsonl").splitlines()]
    assert (row["id"], row["verdict"]) == ("p1", "duplicate")
    assert s3.ls(f"{bucket}/scored") == [f"{bucket}/scored/pairs.jsonl"]  # no probe or summary beside it


# --------------------------------------------------------------------------- writing


def test_output_to_s3_holds_the_local_files(s3: Any, bucket: str, tmp_path: Path, reference: Path) -> None:
    feed_file = reference.parent / "feed.jsonl"
    code, output = run("dedupe", feed_file, "--out", f"s3://{bucket}/runs/today/")
    assert code == 0, output
    local = sorted(p.name for p in reference.iterdir())
    assert sorted(Path(k).name for k in s3.find(f"{bucket}/runs/today")) == local
    for name in local:
        remote = s3.cat_file(f"{bucket}/runs/today/{name}")
        if name == "summary.json":  # the same run but for its timings
            strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "timings_seconds"}  # noqa: E731
            assert strip(remote) == strip((reference / name).read_bytes())
        else:
            assert remote == (reference / name).read_bytes(), name
    # the other format replaces the files of this one, as in a local folder
    code, output = run("dedupe", feed_file, "--out", f"s3://{bucket}/runs/today", "--output-format", "parquet")
    assert code == 0, output
    names = {Path(k).name for k in s3.find(f"{bucket}/runs/today")}
    assert names >= {"decisions.parquet", "pairs.parquet", "summary.json", "unique.parquet"}
    assert not {n for n in names if n.endswith(".jsonl")}
    # another command's run replaces them all, as in a local folder (a summary.json vouches for one run)
    code, output = run("stories", feed_file, "--out", f"s3://{bucket}/runs/today")
    assert code == 0, output
    names = {Path(k).name for k in s3.find(f"{bucket}/runs/today")}
    assert names == {"events.json", "report.html", "stories.jsonl", "summary.json"}


def test_a_failed_run_publishes_nothing(s3: Any, bucket: str, tmp_path: Path, reference: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    feed_file = reference.parent / "feed.jsonl"
    out = f"s3://{bucket}/run/"
    assert run("dedupe", feed_file, "--out", out)[0] == 0
    before = {k: s3.cat_file(k) for k in s3.find(f"{bucket}/run")}
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl_bytes(feed()) + b'{"url": "x", oops\n')
    code, output = run("dedupe", bad, "--out", out)
    assert code == 1 and f"{bad}:31: malformed JSON" in one_line(output)
    import dedup.io.dedupe_out

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dedup.io.dedupe_out, "summary", interrupted)  # Ctrl-C while the files are written
    code, output = run("dedupe", feed_file, "--out", out)
    assert code == 130, output
    assert {k: s3.cat_file(k) for k in s3.find(f"{bucket}/run")} == before  # the last complete run, untouched
    assert not list(Path(tempfile.gettempdir()).glob(f"dedup-{os.getpid()}-*"))  # the staging folder is removed


def test_an_upload_that_stops_leaves_no_summary(s3: Any, bucket: str, reference: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed_file = reference.parent / "feed.jsonl"
    out = f"s3://{bucket}/run/"
    assert run("dedupe", feed_file, "--out", out)[0] == 0
    real, calls = s3fs.S3FileSystem._put_file, []

    async def flaky(self: Any, lpath: str, rpath: str, **kwargs: Any) -> Any:
        calls.append(rpath)
        if len(calls) == 2:
            raise ConnectionResetError("connection reset by peer")
        return await real(self, lpath, rpath, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", flaky)
    code, output = run("dedupe", feed_file, "--out", out)
    assert code == 1
    assert re.search(rf"{re.escape(out)}: the upload stopped after 1 of \d+ files: connection reset by peer", one_line(output))
    assert "incomplete (no summary.json)" in output
    assert not s3.exists(f"{bucket}/run/summary.json")


def test_unwritable_destinations_fail_before_the_run(bucket: str, tmp_path: Path, reference: Path) -> None:
    feed_file = reference.parent / "feed.jsonl"
    code, output = run("dedupe", feed_file, "--out", "s3://no-such-bucket-here/out/")
    assert code == 1
    assert one_line(output) == ("dedup: error: s3://no-such-bucket-here/out/: cannot write outputs there: "
                                "no such bucket; check the bucket name (and the endpoint)")
    code, output = run("dedupe", feed_file, "--out", "https://example.org/out/")
    assert code == 1 and "cannot be written to an http(s):// URL" in one_line(output)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("path", "reason"), [
    ("{bucket}/feeds/missing.jsonl", "no such object; check the URL"),
    ("no-such-bucket-here/feed.jsonl", "no such bucket; check the bucket name (and the endpoint)"),
    ("{bucket}/nothing-here/", "no objects under this prefix; check the URL"),
    ("{bucket}/feeds/*.csv", "no object matches this pattern; check it (and the bucket)"),
], ids=["key", "bucket", "prefix", "glob"])
def test_missing_objects_are_one_line_naming_the_url(bucket: str, tmp_path: Path, path: str, reason: str) -> None:
    url = "s3://" + path.format(bucket=bucket)
    code, output = run("dedupe", url, "--out", tmp_path / "out")
    assert one_line(output) == f"dedup: error: {url}: {reason}"
    assert code == run("dedupe", tmp_path / "missing.jsonl", "--out", tmp_path / "out")[0] == 1


def test_a_missing_key_in_a_bucket_named_bucket_is_no_such_object(s3: Any, tmp_path: Path) -> None:
    """s3fs names a missing key by its path: the word "bucket" in a bucket's name ("news-bucket") is not a missing bucket."""
    name = f"news-bucket-{uuid.uuid4().hex[:8]}"
    s3.mkdir(name)
    url = f"s3://{name}/feeds/missing.jsonl"
    code, output = run("dedupe", url, "--out", tmp_path / "out")
    assert (code, one_line(output)) == (1, f"dedup: error: {url}: no such object; check the URL")


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress], ids=["plain", "gzip"])
def test_a_bad_line_in_an_object_names_the_url_and_line(s3: Any, bucket: str, tmp_path: Path, compress: Any) -> None:
    data = jsonl_bytes(feed()[:5]) + b'{"url": "x", "maintext": \n' + jsonl_bytes(feed()[5:])
    url = _put(s3, f"{bucket}/feed.jsonl" + (".gz" if compress is gzip.compress else ""), compress(data))
    code, output = run("dedupe", url, "--out", tmp_path / "out")
    assert code == 1
    assert one_line(output).startswith(f"dedup: error: {url}:6: malformed JSON (Expecting value at column 26)")
    code, output = run("dedupe", url, "--out", tmp_path / "out", "--skip-bad")
    assert code == 0, output
    skipped = [json.loads(line) for line in (tmp_path / "out" / "decisions.jsonl").read_text().splitlines()][5]
    assert (skipped["status"], skipped["file"], skipped["line"]) == ("skipped", url, 6)


def test_no_credentials_and_no_endpoint_are_one_line(bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"s3://{bucket}/feed.jsonl"
    with monkeypatch.context() as mp:
        mp.delenv("AWS_ACCESS_KEY_ID")
        mp.delenv("AWS_SECRET_ACCESS_KEY")
        code, output = run("dedupe", url, "--out", tmp_path / "out")
    assert code == 1
    assert one_line(output) == (f"dedup: error: {url}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                "(or AWS_PROFILE), or pass --storage-option anon=true for a public bucket")
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries, or this takes ~15 s
    for args in ([url, "--storage-option", f"endpoint_url={closed}"], [tmp_path / "f.jsonl", "--out", "s3://b/out/",
                                                                        "--storage-option", f"endpoint_url={closed}"]):
        (tmp_path / "f.jsonl").write_bytes(jsonl_bytes(feed()))
        code, output = run("dedupe", *args, *(() if "--out" in args else ("--out", tmp_path / "out")))
        assert code == 1
        assert f"cannot reach the storage endpoint (Could not connect to the endpoint URL: \"{closed}/" in one_line(output)
        assert "check the URL, AWS_ENDPOINT_URL (or --storage-option endpoint_url=…) and the network" in output


def test_storage_options_and_the_fsspec_environment(endpoint: str, s3: Any, bucket: str, tmp_path: Path,
                                                    reference: Path) -> None:
    url = _put(s3, f"{bucket}/feed.jsonl", (reference.parent / "feed.jsonl").read_bytes())
    code, output = run("dedupe", url, "--out", tmp_path / "out", "--storage-option", "nonsense")
    assert code == 1 and "--storage-option 'nonsense': expected KEY=VALUE" in one_line(output)
    # a fresh process configured only through fsspec's variable, as a deployment would be
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | {"FSSPEC_S3_ENDPOINT_URL": endpoint}
    proc = subprocess.run([sys.executable, "-m", "dedup", "dedupe", url, "--out", str(tmp_path / "env"), "-q"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env" / "decisions.jsonl").read_bytes() == (reference / "decisions.jsonl").read_bytes()


def test_without_the_extra_a_url_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec now fails, as without dedup[cloud]
    code, output = run("dedupe", "s3://news/feed.jsonl", "--out", tmp_path / "out")
    assert code == 1
    assert one_line(output) == ("dedup: error: s3://news/feed.jsonl: reading and writing s3:// URLs needs fsspec, "
                                "which is not installed; pip install 'dedup[cloud]'")


def test_gs_without_gcsfs_names_its_extra(tmp_path: Path) -> None:
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("gcsfs is installed: the message for its absence cannot be seen")
    code, output = run("dedupe", "gs://news/feed.jsonl", "--out", tmp_path / "out")
    assert code == 1
    assert one_line(output) == ("dedup: error: gs://news/feed.jsonl: gs:// URLs need gcsfs, which is not installed; "
                                "pip install 'dedup[gcs]'")


def test_the_plain_cli_imports_no_storage_package() -> None:
    code = "import sys, dedup.cli; print(sorted(m for m in ('fsspec', 's3fs', 'aiohttp', 'boto3', 'botocore', 'moto') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


# --------------------------------------------------------------------------- HTTP


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``http.server`` serving a temporary folder on a loopback port: ``(base URL, folder)``."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()
    thread.join()


def test_dedupe_from_http(web: tuple[str, Path], tmp_path: Path, reference: Path) -> None:
    base, root = web
    (root / "feed.jsonl").write_bytes(jsonl_bytes(feed()))
    (root / "feed.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(feed())))
    for url in (f"{base}/feed.jsonl", f"{base}/feed.jsonl.gz?token=abc"):  # a query (a signed URL's) is not the name
        code, output = run("dedupe", url, "--out", tmp_path / "out")
        assert code == 0, output
        assert (tmp_path / "out" / "decisions.jsonl").read_bytes() == (reference / "decisions.jsonl").read_bytes()
    code, output = run("dedupe", f"{base}/missing.jsonl", "--out", tmp_path / "out")
    assert code == 1 and one_line(output) == f"dedup: error: {base}/missing.jsonl: no such object; check the URL"
    (root / "bad.jsonl").write_bytes(jsonl_bytes(feed()[:2]) + b"{oops}\n")
    code, output = run("dedupe", f"{base}/bad.jsonl", "--out", tmp_path / "out")
    assert code == 1 and one_line(output).startswith(f"dedup: error: {base}/bad.jsonl:3: malformed JSON")
    closed = f"http://127.0.0.1:{free_port()}/feed.jsonl"
    code, output = run("dedupe", closed, "--out", tmp_path / "out")
    assert code == 1 and one_line(output).startswith(f"dedup: error: {closed}: cannot reach the storage endpoint")


def test_s3_options_leave_http_inputs_of_the_run_alone(web: tuple[str, Path], endpoint: str, s3: Any, bucket: str,
                                                       tmp_path: Path, reference: Path) -> None:
    """Storage options go to every URL: S3's endpoint_url made each read of an https:// input of the same run fail
    ("no such object"; aiohttp's request took it as an argument). It is left out there, with a warning."""
    base, root = web
    rows = feed()
    first = _put(s3, f"{bucket}/feeds/first.jsonl", jsonl_bytes(rows[:15]))
    (root / "rest.jsonl").write_bytes(jsonl_bytes(rows[15:]))
    code, output = run("dedupe", first, f"{base}/rest.jsonl", "--out", tmp_path / "out",
                       "--storage-option", f"endpoint_url={endpoint}")
    assert code == 0, output
    assert output.strip() == f"dedup: warning: {base}/rest.jsonl: --storage-option endpoint_url left out: not an option of http(s):// URLs"
    assert (tmp_path / "out" / "decisions.jsonl").read_bytes() == (reference / "decisions.jsonl").read_bytes()


# --------------------------------------------------------------------------- side inputs


def test_eval_takes_its_gold_file_from_a_url_as_feeds_do(web: tuple[str, Path], s3: Any, bucket: str, tmp_path: Path,
                                                          reference: Path) -> None:
    """``dedup eval --gold`` was a local path only: an https:// or s3:// URL became the path ``https:/host/…`` ("cannot
    open the file"). It is now read as a feed's URL is (compressed too), and a missing object or an unreachable
    server is the same one line as for a feed."""
    base, root = web
    rows = feed()
    gold = jsonl_bytes([{"id1": rows[0]["url"], "id2": rows[16]["url"], "label": "DUP"},  # an exact copy
                        {"id1": rows[0]["url"], "id2": rows[1]["url"], "label": "NO"}])
    (tmp_path / "gold.jsonl").write_bytes(gold)
    (root / "gold.jsonl.gz").write_bytes(gzip.compress(gold))

    def score(where: object) -> tuple[int, str]:
        result = runner.invoke(app, ["eval", str(reference), "--gold", str(where)])
        return result.exit_code, result.output

    code, output = score(tmp_path / "gold.jsonl")
    assert code == 0, output
    expected = {k: v for k, v in json.loads(output).items() if k != "gold"}
    assert expected["pairs"] == 2 and expected["pairwise"]["f1"] == 1.0
    for url in (f"{base}/gold.jsonl.gz?sig=abc", _put(s3, f"{bucket}/labels/gold.jsonl", gold)):
        code, output = score(url)
        assert code == 0, output
        report = json.loads(output)
        assert report.pop("gold") == url and report == expected
    closed = f"http://127.0.0.1:{free_port()}/gold.jsonl"
    for url in (f"{base}/missing.jsonl", f"s3://{bucket}/labels/missing.jsonl", "s3://no-such-bucket-here/gold.jsonl", closed):
        code, output = score(url)
        feed_code, feed_output = run("dedupe", url, "--out", tmp_path / "out")
        assert code == feed_code == 1 and one_line(output) == one_line(feed_output), url
        assert one_line(output).startswith(f"dedup: error: {url}: "), output


def test_a_compressed_side_input_at_a_signed_url_is_decompressed(web: tuple[str, Path], tmp_path: Path) -> None:
    """A side input's compression was told by the whole URL, so ``pairs.jsonl.gz?sig=…`` (a signed URL) was read as
    plain text ("looks like UTF-16"), where a feed's URL is named without its query."""
    base, root = web
    rows = feed()
    (root / "pairs.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes([{"id": "p1", "text1": rows[0]["maintext"],
                                                                      "text2": rows[16]["maintext"]}])))
    code, output = run("similarity", f"{base}/pairs.jsonl.gz?sig=abc", "--out", tmp_path / "scored.jsonl")
    assert code == 0, output
    [row] = [json.loads(line) for line in (tmp_path / "scored.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (row["id"], row["verdict"]) == ("p1", "duplicate")


def test_eval_scores_a_run_written_to_s3_as_the_same_run_in_a_folder(web: tuple[str, Path], s3: Any, bucket: str,
                                                                       tmp_path: Path, reference: Path) -> None:
    """``dedup eval RUN`` took a local folder only (typer: "Directory 's3://…' does not exist", exit 2) while
    ``--out`` writes runs to s3:// and ``--gold`` reads URLs. A run at a URL is now scored as its local copy would
    be, in either output format, and the errors name the URL: no run there, no such bucket, another command's run."""
    base, root = web
    rows = feed()
    gold = tmp_path / "gold.jsonl"
    gold.write_bytes(jsonl_bytes([{"id1": rows[0]["url"], "id2": rows[16]["url"], "label": "DUP"},
                                  {"id1": rows[0]["url"], "id2": rows[1]["url"], "label": "NO"}]))

    def score(where: object, *more: object) -> tuple[int, str]:
        result = runner.invoke(app, ["eval", str(where), "--gold", str(gold), *map(str, more)])
        return result.exit_code, result.output

    code, output = score(reference)
    assert code == 0, output
    expected = {k: v for k, v in json.loads(output).items() if k != "run"}
    assert expected["pairs"] == 2 and "pairwise_with_edges" in expected
    feed_file = reference.parent / "feed.jsonl"
    for fmt in ("jsonl", "parquet"):
        url = f"s3://{bucket}/runs/{fmt}/"
        assert run("dedupe", feed_file, "--out", url, "--output-format", fmt)[0] == 0
        code, output = score(url)
        assert code == 0, output
        report = json.loads(output)
        assert report.pop("run") == url and report == expected, fmt
    for name in ("summary.json", "decisions.jsonl", "pairs.jsonl"):  # a run served over https:// too (read-only)
        (root / "run" / name).parent.mkdir(exist_ok=True)
        (root / "run" / name).write_bytes((reference / name).read_bytes())
    code, output = score(f"{base}/run")
    assert code == 0 and {k: v for k, v in json.loads(output).items() if k != "run"} == expected, output
    assert not list(Path(tempfile.gettempdir()).glob(f"dedup-{os.getpid()}-*"))  # the fetched copies are removed
    assert run("stories", feed_file, "--out", f"s3://{bucket}/runs/stories/")[0] == 0
    for url, said in ((f"s3://{bucket}/runs/nothing/", "no summary.json: not a finished run of dedup dedupe or dedup stories"),
                      ("s3://no-such-bucket-here/run/", "no such bucket"),
                      (f"s3://{bucket}/runs/stories", "a stories run, not a dedupe run: --level group")):
        code, output = score(url, *(("--level", "group") if "stories" in url else ()))
        assert code == 1 and one_line(output).startswith(f"dedup: error: {url.rstrip('/')}"), output
        assert said in output and "dedup-" not in output  # the URL named, never the temporary copy

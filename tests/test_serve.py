"""``dedup serve`` as a real server (``python -m dedup serve`` under uvicorn, on free loopback ports).

One server on an SQLite index and one on a real redis-server (skipped only when
redis-server is missing), both with a token file, a 1 MiB body limit and
``chunk_size = 4`` (so at most 40 articles per request). Every endpoint, the
auth, the limits, bad inputs, concurrent posts, decisions equal to ``dedup
dedupe --index`` batch by batch, the OpenAPI description against what the
server answered, and the page rendered by headless Chromium with hostile text.
"""

from __future__ import annotations

import collections
import html
import json
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from _servers import SEEDS, as_records, batches, free_port, start_redis, start_serve, stop
from typer.testing import CliRunner

from dedup.cli import app as cli
from dedup.flows.similarity import similarity
from dedup.store.history import open_index

try:
    import fastapi  # noqa: F401
    import httpx
    import uvicorn  # noqa: F401
except ImportError:  # the server tests skip; the missing-extra message is still tested
    httpx = None  # type: ignore[assignment]

TOKEN = "s3cret-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RLO = "\u202e"
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
SEEN: set[tuple[str, str, int]] = set()  # (method, route template, status) the servers answered, for the OpenAPI check


class Server:
    def __init__(self, kind: str, location: str, port: int, config: Path) -> None:
        self.kind, self.location, self.config = kind, location, config
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, headers=AUTH, timeout=60)

    def call(self, method: str, path: str, route: str | None = None, **kw) -> httpx.Response:
        res = self.client.request(method, path, **kw)
        SEEN.add((method, route or path.split("?")[0], res.status_code))
        return res

    def post(self, records, **kw) -> httpx.Response:
        return self.call("POST", "/v1/articles", json=records, **kw)

    def stored_ids(self) -> list[str]:
        idx = open_index(self.location, create=False)
        try:
            return [r["id"] for r in idx.export()]
        finally:
            idx.close()


def test_without_the_serve_extra_the_command_says_what_to_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi → ImportError
    res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db")])
    assert res.exit_code == 1 and "pip install 'dedup[serve]'" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "h.db").exists()


def test_a_bad_token_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("two words\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db"), "--token-file", str(tmp_path / "token")])
    assert res.exit_code == 1 and "one token" in res.output and "Traceback" not in res.output


def test_a_port_in_use_is_one_line_before_the_index_is_made(tmp_path: Path) -> None:
    """uvicorn said it in its log after the index was created, and exited 3."""
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra: pip install 'dedup[serve]'")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db"), "--port", str(port)])
    assert res.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}: the port is in use" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "h.db").exists()


@pytest.mark.parametrize("model", ["missing", "not-a-model"])
def test_a_bad_decision_model_is_one_line_before_the_index_is_made(tmp_path: Path, model: str) -> None:
    """It was loaded by the engine's warm-up, after the server said it listened: a traceback, exit 3."""
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra: pip install 'dedup[serve]'")
    path = tmp_path / model
    if model == "not-a-model":
        path.write_text('{"features": 1}', encoding="utf-8")
    res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db"), "--port", str(free_port()),
                                   "--decision-model", str(path)])
    assert res.exit_code == 1 and f"{path}: " in res.output and "decision model" in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "h.db").exists()


def test_the_command_passes_its_options_to_the_app(monkeypatch, tmp_path: Path) -> None:
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra: pip install 'dedup[serve]'")
    import uvicorn

    ran: dict = {}

    def run(self, sockets=None) -> None:
        self.started = True
        ran.update(app=self.config.app, host=self.config.host, port=self.config.port)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    (tmp_path / "cfg.toml").write_text("[runtime]\nchunk_size = 7\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db"), "--host", "0.0.0.0", "--port", "8123", "--coalesce",
                                   "--window-days", "3", "--max-body-mb", "2", "--config", str(tmp_path / "cfg.toml")])
    assert res.exit_code == 0, res.output
    assert "without --token-file" in res.output and (ran["host"], ran["port"]) == ("0.0.0.0", 8123)
    engine = ran["app"].state.engine
    try:
        assert engine.coalesce and engine.window_days == 3 and engine.max_batch == 70 and (tmp_path / "h.db").exists()
        limits = [m for m in ran["app"].user_middleware if m.cls.__name__ == "BodyLimit"]
        assert limits and limits[0].kwargs["max_bytes"] == 2 << 20
    finally:
        engine.close()


def test_an_ipv6_host_is_shown_in_brackets(monkeypatch, tmp_path: Path) -> None:
    """It printed http://::1:PORT/, which no browser or curl reads as a URL."""
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra: pip install 'dedup[serve]'")
    import socket

    import uvicorn

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
    except OSError:
        pytest.skip("no IPv6 loopback here")

    def run(self, sockets=None) -> None:
        self.started = True
        self.config.app.state.engine.close()

    monkeypatch.setattr(uvicorn.Server, "run", run)
    res = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "h.db"), "--host", "::1", "--port", str(port)])
    assert res.exit_code == 0 and f"on http://[::1]:{port}/ (Ctrl-C stops)" in res.output, res.output


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra (pip install 'dedup[serve]') and the tests httpx (the test extra)")
    work = tmp_path_factory.mktemp("serve")
    (work / "token").write_text(TOKEN + "\n", encoding="utf-8")
    config = work / "dedup.toml"
    config.write_text("[runtime]\nchunk_size = 4\n", encoding="utf-8")
    common = ["--token-file", str(work / "token"), "--max-body-mb", "1", "--config", str(config)]
    redis_proc, redis_url, skip = None, None, None
    try:
        redis_proc, redis_url = start_redis(work)
    except pytest.skip.Exception as exc:
        skip = str(exc)
    wanted = [("sqlite", str(work / "history.db"))] + ([("redis", f"{redis_url}?prefix=s{uuid.uuid4().hex[:6]}")] if redis_url else [])
    ports = [free_port() for _ in wanted]
    procs = []
    try:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(len(wanted)) as pool:  # start together: imports take seconds
            futures = [pool.submit(start_serve, ["--index", loc, *common], port, TOKEN, work / f"{kind}.log")
                       for (kind, loc), port in zip(wanted, ports)]
            procs = [f.result() for f in futures]
        running = {kind: Server(kind, loc, port, config) for (kind, loc), port in zip(wanted, ports)}
        yield running, skip
        for s in running.values():
            s.client.close()
    finally:
        for p in procs:
            stop(p)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def server(request, servers) -> Server:
    running, skip = servers
    if request.param not in running:
        pytest.skip(skip or f"no {request.param} server")
    return running[request.param]


@pytest.fixture
def sqlite_server(servers) -> Server:
    return servers[0]["sqlite"]


def _cli_decisions(tmp: Path, batch_records: list[list[dict]], location: str, config: Path) -> list[list[dict]]:
    out = []
    for k, records in enumerate(batch_records):
        feed = tmp / f"batch{k}.jsonl"
        feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        res = CliRunner().invoke(cli, ["dedupe", str(feed), "--out", str(tmp / f"out{k}"), "--index", location,
                                       "--config", str(config), "-q"])
        assert res.exit_code == 0, res.output
        lines = [json.loads(x) for x in (tmp / f"out{k}" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
        assert all(d.pop("file") is d.pop("line") is None for d in lines)  # a bad record's place in a file: a post has none
        out.append(lines)
    return out


# --- the API -------------------------------------------------------------------------------


def test_decisions_equal_dedupe_with_index_batch_by_batch_and_every_endpoint(server: Server, tmp_path: Path) -> None:
    records = [as_records(b) for b in batches()]
    served = []
    for batch in records:
        res = server.post(batch)
        assert res.status_code == 200, res.text
        served.append(res.json())
    cli_location = str(tmp_path / "cli.db") if server.kind == "sqlite" else server.location.replace("?prefix=", "?prefix=cli")
    assert served == _cli_decisions(tmp_path, records, cli_location, server.config)
    by_id = {d["id"]: d for batch in served for d in batch}
    assert by_id["b2"]["duplicate_of"] == "b1" and by_id["lone-copy"]["seen_before"] == {"date": "2024-05-01T09:00:00Z", "source": "wire"}
    assert by_id["short1"]["status"] == "skipped" and by_id["b3"]["relation"] == "exact"

    art = server.call("GET", "/v1/articles/b2", "/v1/articles/{article_id}").json()
    assert (art["id"], art["status"], art["group"], art["duplicate_of"], art["source"]) == ("b2", "duplicate", "b1", "b1", "outlet")
    assert "keeper" not in art  # the stored record names its keeper as decisions.jsonl and `dedup index export` do
    assert art["text"] == batches()[0][2].text and art["scores"]["jaccard"] > 0.5
    assert art["reason"] == f"{art['relation']} copy of b1"  # said from what is stored, as `dedup index export` says it (was "")
    assert server.call("GET", "/v1/articles/b1", "/v1/articles/{article_id}").json()["reason"] == "kept: the keeper of group b1"
    missing = server.call("GET", "/v1/articles/nothing-here", "/v1/articles/{article_id}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"

    group = server.call("GET", "/v1/groups/b1", "/v1/groups/{group}").json()
    assert group["keeper"] == "b1" and [m["id"] for m in group["members"]] == ["b1", "b2", "b3", "b4"]
    assert group["pairs"] and all({p["id1"], p["id2"]} <= {"b1", "b2", "b3", "b4"} for p in group["pairs"])
    lone = server.call("GET", "/v1/groups/lone", "/v1/groups/{group}").json()
    assert [m["id"] for m in lone["members"]] == ["lone", "lone-copy"] and lone["keeper"] == "lone"
    assert server.call("GET", "/v1/groups/f0", "/v1/groups/{group}").status_code == 404  # alone: no group

    # field aliases of the readers, and an id with slashes and Arabic in the path
    url_id = "http://example.com/news/خبر?id=1"
    res = server.post([{"URL": url_id, "Content": batches()[0][0].text + " وأضاف", "headline": "عنوان"}])
    assert res.status_code == 200 and res.json()[0]["duplicate_of"] == "lone"
    got = server.call("GET", "/v1/articles/" + quote(url_id, safe=""), "/v1/articles/{article_id}").json()
    assert got["id"] == url_id and got["title"] == "عنوان"

    a, b = batches()[0][1].text, batches()[2][0].text
    sim = server.call("POST", "/v1/similarity", json={"text1": a, "text2": b}).json()
    ref = similarity([a], [b])
    assert sim["verdict"] == ref.verdict[0] == "duplicate" and sim["jaccard"] == round(float(ref.jaccard[0]), 4)
    assert set(sim) == {"jaccard", "containment", "cosine", "story_score", "probability", "verdict", "relation", "reason"}
    assert sim["relation"] == ref.relation[0] and sim["reason"] is None
    assert sim["probability"] == round(float(ref.probability[0]), 4) >= 0.5  # the learned decision's, as dedupe's
    short = server.call("POST", "/v1/similarity", json={"text1": "two words", "text2": a}).json()
    assert short["verdict"] == "skipped" and short["jaccard"] is None and short["probability"] is None
    wrong = server.call("POST", "/v1/similarity", json=[{"text1": a, "text2": b}])  # it said "an array of article records"
    assert wrong.status_code == 422 and wrong.json()["message"] == "the body must be an object {text1, text2} (title1, title2 optional), got an array"

    total = sum(len(b) for b in records) + 1
    health = server.call("GET", "/healthz").json()
    assert health == {"status": "ok", "location": server.location, "next_row": total}  # `location`, as `dedup index stats`
    assert sorted(server.stored_ids()) == sorted([r["id"] for b in records for r in b] + [url_id])
    metrics = server.call("GET", "/metrics").text
    assert 'dedup_http_requests_total{endpoint="/v1/articles",method="POST",status="200"}' in metrics
    assert 'dedup_http_request_duration_seconds_bucket{endpoint="/v1/articles",le="+Inf"}' in metrics
    assert f"dedup_articles_indexed_total {total}" in metrics and 'dedup_errors_total{kind="not_found"}' in metrics


def test_a_keeper_stored_alone_names_its_group_once_copies_joined_it(server: Server) -> None:
    """GET /v1/articles/ID of the keeper said "group": null after its copies came: a client could not tell it had any."""
    tag = uuid.uuid4().hex[:6]
    rng = random.Random(tag)
    vocabulary = sorted({w for d in batches() for a in d for w in a.text.split()})
    text = " ".join(rng.choice(vocabulary) for _ in range(200))  # a text of its own
    first = server.post([{"id": f"{tag}-k", "text": text + " " + tag}])
    assert first.status_code == 200 and first.json()[0]["group"] is None
    assert server.call("GET", f"/v1/articles/{tag}-k", "/v1/articles/{article_id}").json()["group"] is None  # alone
    copy = server.post([{"id": f"{tag}-c", "text": text + " " + tag + " شارك"}])
    assert copy.json()[0]["duplicate_of"] == f"{tag}-k" and copy.json()[0]["group"] == f"{tag}-k", copy.text
    keeper = server.call("GET", f"/v1/articles/{tag}-k", "/v1/articles/{article_id}").json()
    assert keeper["group"] == f"{tag}-k" and keeper["status"] == "kept" and keeper["duplicate_of"] is None
    group = server.call("GET", f"/v1/groups/{tag}-k", "/v1/groups/{group}").json()
    assert [(m["id"], m["group"]) for m in group["members"]] == [(f"{tag}-k", f"{tag}-k"), (f"{tag}-c", f"{tag}-k")]


def test_a_copy_whose_keeper_was_pruned_names_it_as_the_export_does(location: str, tmp_path: Path) -> None:
    """`dedup index prune` removed the keeper K of the copy D. GET /v1/articles/D said "keeper": null, "copy of row
    0, no longer in the index (pruned)", while `dedup index export` names K with keeper_pruned true; the group said
    keeper null, and the page "the keeper was pruned" without naming it. N, posted after the prune, copies D."""
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra (pip install 'dedup[serve]') and the tests httpx (the test extra)")
    from dedup.jobs.index import prune_index
    from dedup.serve.engine import Engine
    from dedup.types import Article

    text = ("The finance minister announced on Tuesday a new package of measures to support small businesses hit by "
            "rising energy prices across the country this winter.")
    engine = Engine(location)
    try:
        engine.add([Article("K", text, date="2024-03-01"), Article("D", text + " Reporting by Jane Doe.", date="2024-03-02")])
    finally:
        engine.close()
    assert prune_index(location, "2024-03-02", echo=lambda _: None) == 1
    port = free_port()
    proc = start_serve(["--index", location], port, log=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            posted = client.post("/v1/articles", json=[{"id": "N", "text": text + " Reporting by Jane Doe. More.", "date": "2024-03-03"}])
            assert posted.status_code == 200 and posted.json()[0]["duplicate_of"] == "D", posted.text
            d, n = (client.get(f"/v1/articles/{i}").json() for i in ("D", "N"))
            group = client.get("/v1/groups/K").json()
            home = client.get("/").text
            pairs = [client.get("/pair", params=ab) for ab in ({"a": "K", "b": "D"}, {"a": "D", "b": "K"})]
    finally:
        stop(proc)
    for page in pairs:  # the side by side of a copy and its pruned keeper said "'K' is not in the index"
        assert page.status_code == 404 and "not in the index" not in page.text, page.text
        assert '<bdi dir="ltr">K</bdi> was pruned from the index' in page.text, page.text
        assert 'its copy <bdi dir="ltr">D</bdi>' in page.text and "near copy, scored against it when decided" in page.text
        assert 'href="/v1/articles/D"' in page.text and 'href="/v1/groups/K"' in page.text
    exported = {r["id"]: r for r in _export(location)}
    assert (d["duplicate_of"], d["keeper_pruned"], d["keeper_row"]) == ("K", True, 0), d
    assert d["reason"] == exported["D"]["reason"] == "near copy of K (row 0), since pruned from the index"
    assert (exported["D"]["duplicate_of"], exported["D"]["keeper_pruned"]) == ("K", True)
    assert (n["duplicate_of"], n["keeper_pruned"], n["reason"]) == ("D", False, exported["N"]["reason"]), n
    assert (group["keeper"], group["keeper_pruned"]) == ("K", True) and [m["id"] for m in group["members"]] == ["D", "N"]
    assert [(m["duplicate_of"], m["keeper_pruned"]) for m in group["members"]] == [("K", True), ("D", False)]
    section = home.split('data-group="K"')[1].split("</section>")[0]
    assert 'the keeper <bdi dir="ltr">K</bdi> was pruned from the index' in section, section
    assert 'copy of <bdi dir="ltr">K</bdi>, pruned from the index' in section and "/pair?a=D&amp;b=N" in section


def test_an_article_names_its_containers_and_a_groups_members_their_events(location: str, tmp_path: Path) -> None:
    """GET /v1/articles/{id} had no contained_in (`dedup index export` and decisions.jsonl name the stored articles
    holding its text); GET /v1/groups/{group} gave its members "contained_in" none and "event": null, "not
    tracked", for articles `dedup stories --index` had placed into events."""
    if httpx is None:
        pytest.skip("dedup serve needs the serve extra (pip install 'dedup[serve]') and the tests httpx (the test extra)")
    seeds = [p.read_text(encoding="utf-8") for p in SEEDS]
    roundup = "\n".join(seeds[:3])
    days = [[{"id": "T", "text": seeds[0], "source": "c", "date": "2024-03-01T12:00:00Z"},
             {"id": "alone", "text": seeds[4], "source": "c", "date": "2024-03-01T13:00:00Z"}],
            [{"id": "L1", "text": roundup, "source": "a", "date": "2024-03-02T10:00:00Z"},  # holds the stored T
             {"id": "L-late", "text": roundup, "source": "b", "date": "2024-03-02T11:00:00Z"}],
            [{"id": "U", "text": seeds[1], "source": "e", "date": "2024-03-03T12:00:00Z"}]]  # inside the stored L1
    for k, day in enumerate(days):
        feed = tmp_path / f"day{k}.jsonl"
        feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in day), encoding="utf-8")
        res = CliRunner().invoke(cli, ["stories", str(feed), "--index", location, "--out", str(tmp_path / f"out{k}"), "-q"])
        assert res.exit_code == 0, res.output
    exported = {r["id"]: r for r in _export(location)}
    assert exported["T"]["contained_in"] == exported["U"]["contained_in"] == ["L1", "L-late"]
    port = free_port()
    proc = start_serve(["--index", location], port, log=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            articles = {i: client.get(f"/v1/articles/{i}").json() for i in exported}
            group = client.get("/v1/groups/L1").json()
            # an edit of U, inside the stored L1: its decision named L1 alone (L-late shares L1's representative)
            edit = seeds[1].replace(" ", " تغيير ", 1)
            posted = client.post("/v1/articles", json=[{"id": "W", "text": edit, "date": "2024-03-04T12:00:00Z"}])
    finally:
        stop(proc)
    assert posted.status_code == 200, posted.text
    assert posted.json()[0]["contained_in"] == ["L1", "L-late"] == {r["id"]: r for r in _export(location)}["W"]["contained_in"]
    for i, art in articles.items():
        assert art["contained_in"] == exported[i]["contained_in"], (i, art)
        assert art["event"] is not None, art
    members = {m["id"]: m for m in group["members"]}
    assert {"L1", "L-late", "U"} <= set(members), group
    for i, m in members.items():
        assert m["contained_in"] == exported[i]["contained_in"], m
        assert (m["event"], m["storyline"]) == (articles[i]["event"], articles[i]["storyline"]), m


def test_concurrent_posts_are_serialized_and_lose_nothing(server: Server, tmp_path: Path) -> None:
    """Four clients post at once while `dedup dedupe --index` adds a feed to the same index from this process."""
    rng = random.Random(5)
    words = sorted({w for d in batches() for a in d for w in a.text.split()})
    tag = uuid.uuid4().hex[:6]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(60))

    shared = [{"id": f"{tag}-shared{k}", "text": text()} for k in range(3)]  # posted by every client, and by the CLI
    plan = [[[{"id": f"{tag}-t{t}-p{p}-{k}", "text": text()} for k in range(6)] + (shared if p == 0 else []) for p in range(3)]
            for t in range(4)]
    cli_feed = [{"id": f"{tag}-cli{k}", "text": text()} for k in range(8)] + shared
    answers: list[list[dict]] = []
    failures: list[str] = []
    cli_rows: list[list[dict]] = []

    def work(posts: list[list[dict]]) -> None:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as client:
            for batch in posts:
                res = client.post("/v1/articles", json=batch)
                if res.status_code != 200:
                    failures.append(res.text)
                else:
                    answers.append(res.json())

    def cli_writer() -> None:
        cli_rows.append(_cli_decisions(tmp_path, [cli_feed], server.location, server.config)[0])

    threads = [threading.Thread(target=work, args=(posts,)) for posts in plan] + [threading.Thread(target=cli_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(answers) == 12 and len(cli_rows) == 1
    decided = [d for a in answers for d in a] + cli_rows[0]
    added = collections.Counter(d["id"] for d in decided if not d["reason"].startswith("skipped: already in the index"))
    acknowledged = {d["id"] for d in decided}
    assert acknowledged == {r["id"] for posts in plan for b in posts for r in b} | {r["id"] for r in cli_feed}
    assert set(added) == acknowledged and set(added.values()) == {1}  # each id added once, by whoever came first
    stored = collections.Counter(i for i in server.stored_ids() if i.startswith(tag))
    assert set(stored) == acknowledged and set(stored.values()) == {1}


@pytest.mark.parametrize("coalesce", [False, True], ids=["one-run-per-batch", "coalesce"])
def test_engine_runs_one_batch_at_a_time_or_coalesces_the_waiting_ones(tmp_path: Path, monkeypatch, coalesce: bool) -> None:
    from dedup.runtime import Runtime
    from dedup.serve.engine import Engine
    from dedup.serve.intake import read_records

    engine = Engine(str(tmp_path / "h.db"), runtime=Runtime(chunk_size=4), coalesce=coalesce)  # runs of at most 40
    rng = random.Random(3)
    words = sorted({w for d in batches() for a in d for w in a.text.split()})
    posts = [[{"id": f"p{t}-{k}", "text": " ".join(rng.choice(words) for _ in range(50))} for k in range(6)] for t in range(6)]
    posts[5][0] = dict(posts[4][0])  # an id in two batches: never in one run
    runs: list[int] = []
    real = engine._decide

    first_in = threading.Event()

    def counting(articles):
        first_in.set()
        if coalesce and not runs:  # hold the first run (batch 0's) until every other batch waits
            for _ in range(200):
                if len(engine._queue) == 5:
                    break
                time.sleep(0.02)
        runs.append(len(articles))
        return real(articles)

    monkeypatch.setattr(engine, "_decide", counting)
    answers: dict[int, list[dict]] = {}
    threads = [threading.Thread(target=lambda t=t: answers.__setitem__(t, engine.add(read_records(posts[t])))) for t in range(6)]
    try:
        threads[0].start()
        assert first_in.wait(60)
        for t in threads[1:]:
            t.start()
        for t in threads:
            t.join()
    finally:
        engine.close()
    assert all([d["id"] for d in answers[t]] == [r["id"] for r in posts[t]] for t in range(6))
    assert sum(runs) == 36
    assert runs == [6] * 6 if not coalesce else (len(runs) == 3 and runs[0] == 6)  # the shared id splits the waiting five
    stored = collections.Counter(r["id"] for r in _export(str(tmp_path / "h.db")))
    assert set(stored.values()) == {1} and len(stored) == 35
    shared = [d for t in (4, 5) for d in answers[t] if d["id"] == posts[4][0]["id"]]
    assert sorted(d["reason"].startswith("skipped: already in the index") for d in shared) == [False, True]


def _export(location: str) -> list[dict]:
    idx = open_index(location, create=False)
    try:
        return list(idx.export())
    finally:
        idx.close()


# --- auth, limits, bad input ----------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
                         ids=["none", "wrong-token", "no-scheme", "basic"])
@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("GET", "/"), ("GET", "/metrics"), ("POST", "/v1/articles"),
                                         ("GET", "/v1/articles/b1"), ("GET", "/openapi.json")])
def test_every_request_needs_the_token(sqlite_server: Server, headers: dict, method: str, path: str) -> None:
    res = httpx.request(method, sqlite_server.url + path, headers=headers, json=[{"id": "x", "text": "y"}] if method == "POST" else None)
    assert res.status_code == 401 and res.json()["error"] == "unauthorized" and res.headers["www-authenticate"].startswith("Bearer")
    SEEN.add((method, path.replace("/b1", "/{article_id}"), 401))
    assert "x" not in sqlite_server.stored_ids()


def test_bodies_over_the_limit_get_413_and_add_nothing(sqlite_server: Server) -> None:
    before = sqlite_server.call("GET", "/healthz").json()["next_row"]
    big = [{"id": f"big{k}", "text": "word " * 30_000} for k in range(8)]  # ~1.2 MB of JSON
    res = sqlite_server.post(big)
    assert res.status_code == 413 and res.json()["error"] == "too_large"
    body = json.dumps(big).encode()

    def chunks():  # no Content-Length: the server counts while reading
        for k in range(0, len(body), 64 * 1024):
            yield body[k : k + 64 * 1024]

    res = sqlite_server.call("POST", "/v1/articles", content=chunks(), headers={"Content-Type": "application/json"})
    assert res.status_code == 413 and "1048576 bytes" in res.json()["message"]
    many = [{"id": f"many{k}", "text": f"short text number {k}"} for k in range(41)]  # 10 × chunk_size = 40 per request
    res = sqlite_server.post(many)
    assert res.status_code == 413 and "at most 40" in res.json()["message"]
    assert sqlite_server.post(many[:40]).status_code == 200
    assert sqlite_server.call("GET", "/healthz").json()["next_row"] == before + 40


@pytest.mark.parametrize("body,status,error,index,rid,says", [
    (b'[{"id": "j1", "text": "x"', 400, "bad_json", None, None, "not valid JSON"),
    (b'[{"id": "j1", "text": "abc', 400, "bad_json", None, None, "Unterminated string starting at character 22"),
    (b'{"id": "j1", "text": "x"}', 422, "invalid_body", None, None, "must be an array of article records, got an object (one record"),
    (b'[{"id": "ok1", "text": "fine text"}, {"id": "nt1", "title": "no text"}]', 422, "invalid_record", 1, "nt1", "no 'text' field"),
    (b'[{"id": "ok2", "text": "fine"}, {"id": "nt2", "text": null}]', 422, "invalid_record", 1, "nt2", "JSON null"),
    (b'[{"id": "ok3", "text": "a"}, {"id": "ok3", "text": "b"}]', 422, "invalid_record", 1, "ok3",
     "repeated id 'ok3': first at records[0], again at records[1]; ids must be unique (fix the input)"),
    (b'[{"id": "ok4", "text": "a"}, {"text": "no id"}]', 422, "invalid_record", 1, None, "id field 'id' is missing"),
    (b'[{"text": "no id at all"}]', 422, "invalid_record", 0, None, "no id field"),
    (b'[{"id": "ok5", "text": "a"}, {"id": true, "text": "b"}]', 422, "invalid_record", 1, None,
     "the field 'id': must be a string or a number, got a boolean"),
    (b'[{"id": "ok6", "text": "a"}, {"id": "n6", "text": 5}]', 422, "invalid_record", 1, "n6", "'text'"),
    (b'[{"id": "ok7", "text": "a"}, "just a string"]', 422, "invalid_record", 1, None, "records[1]"),
    ('[{"id": "cp", "text": "مصر"}]'.encode("cp1256"), 400, "bad_request", None, None, "send UTF-8"),
    # the 422 quotes the id, which UTF-8 cannot encode: it was a 500 "internal" (UnicodeEncodeError)
    (b'[{"id": "ok8", "text": "a"}, {"id": "\\ud800x", "text": "b"}]', 422, "invalid_record", 1, "\ud800x",
     "the id holds a lone surrogate (\\ud800 at character 0)"),
    (b'[{"id": "ok9", "text": "a \\udc00 b"}]', 422, "invalid_record", 0, "ok9", "the text holds a lone surrogate"),
    # a GET of its id could not be asked for (the connection was reset)
    (b'[{"id": "ok10", "text": "a"}, {"id": "' + b"x" * 2049 + b'", "text": "b"}]', 422, "invalid_record", 1, "x" * 2049,
     "the id is 2049 characters long; the service takes ids of at most 2048"),
], ids=["truncated-json", "unterminated-string", "not-an-array", "no-text", "null-text", "repeated-id", "missing-id", "no-id-field", "bool-id",
        "number-text", "string-record", "not-utf8", "surrogate-id", "surrogate-text", "long-id"])
def test_bad_input_is_a_json_error_naming_the_record_and_adds_nothing(sqlite_server: Server, body, status, error, index, rid, says) -> None:
    res = sqlite_server.call("POST", "/v1/articles", content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == status, res.text
    err = res.json()
    assert err["error"] == error and says in err["message"], err
    # the service has no --skip-bad nor --id-field, and names records 0-based (it said request:#2 of records[1])
    for cli_only in ("--skip-bad", "--id-field", "request:#", "this file"):
        assert cli_only not in err["message"], err
    if index is not None:
        assert err["record"] == {"index": index, "id": rid}
    stored = set(sqlite_server.stored_ids())
    assert not {"j1", "ok1", "nt1", "ok2", "ok3", "ok4", "ok5", "ok6", "ok7", "ok8", "ok9", "ok10"} & stored  # all or nothing


def test_errors_are_counted_by_their_own_kind_and_the_page_counts_the_articles_held(sqlite_server: Server) -> None:
    """A body that is not an array was answered invalid_body and counted invalid_record; the page said "N rows" of
    the rows ever given (pruned ones too), not the articles the index holds."""
    def count(kind: str) -> float:
        text = sqlite_server.call("GET", "/metrics").text
        line = next((x for x in text.splitlines() if x.startswith(f'dedup_errors_total{{kind="{kind}"}}')), None)
        return 0.0 if line is None else float(line.split()[-1])

    before = {k: count(k) for k in ("invalid_body", "invalid_record")}
    res = sqlite_server.call("POST", "/v1/articles", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert res.status_code == 422 and res.json()["error"] == "invalid_body"
    assert count("invalid_body") == before["invalid_body"] + 1 and count("invalid_record") == before["invalid_record"]
    page = sqlite_server.call("GET", "/").text
    assert f" · {len(sqlite_server.stored_ids())} articles · " in page and " rows · " not in page


def test_the_page_says_how_many_groups_it_shows_in_what_order_and_how_to_see_more(sqlite_server: Server) -> None:
    """On an index of 20,329 articles the page listed 20 groups under "latest duplicate groups" and "20329 articles":
    nothing said how many groups were shown, that "latest" is the order articles were added in (a group of
    yesterday's articles added today comes first), or that ``?limit=`` shows more."""
    MAX_LIMIT = 200  # the page's largest ?limit= (dedup.serve.page.MAX_LIMIT; _PAGES says 1 to 200)

    tag = uuid.uuid4().hex[:8]
    for k in range(2):  # two groups of two copies, unlike each other
        words = " ".join(f"w{k}x{tag}{j}" for j in range(60))
        assert sqlite_server.post([{"id": f"lim{tag}{k}a", "text": words}, {"id": f"lim{tag}{k}b", "text": words}]).status_code == 200
    one = sqlite_server.call("GET", "/?limit=1", "/").text
    assert one.count('<section class="group" data-group=') == 1
    assert "1 group, newest first (by the latest article added)" in one and f'href="/?limit={MAX_LIMIT}"' in one
    every = sqlite_server.call("GET", f"/?limit={MAX_LIMIT}", "/").text
    n = every.count('<section class="group" data-group=')
    assert n >= 2 and f"{n} groups, newest first" in every and f'href="/?limit={MAX_LIMIT}"' not in every
    assert sqlite_server.call("GET", f"/?limit={MAX_LIMIT + 1}", "/").status_code == 422


@pytest.mark.parametrize("path", ["/v1/articles", "/v1/similarity"])
def test_a_compressed_body_is_a_415_saying_so(sqlite_server: Server, path: str) -> None:
    """A gzip body was told 'send UTF-8 (e.g. iconv -f WINDOWS-1256 -t UTF-8 first)'."""
    import gzip

    body = [{"id": "gz1", "text": "some text"}] if path == "/v1/articles" else {"text1": "a b", "text2": "a c"}
    res = sqlite_server.call("POST", path, content=gzip.compress(json.dumps(body).encode()),
                             headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert res.status_code == 415 and res.json()["error"] == "unsupported_encoding", res.text
    assert "compressed request bodies are not accepted (Content-Encoding: gzip)" in res.json()["message"]
    assert "gz1" not in sqlite_server.stored_ids()


def test_similarity_weighs_the_dates_and_outlets_of_a_body_and_refuses_an_unreadable_date(sqlite_server: Server) -> None:
    """POST /v1/similarity reads ``date1``/``date2``/``source1``/``source2`` as `dedup similarity` does: one outlet's
    copy ten days later is no copy for the learned decision; an unreadable date is a 422 naming the field."""
    text = SEEDS[0].read_text(encoding="utf-8")
    body = {"text1": text, "text2": text[: len(text) // 2]}
    alone = sqlite_server.call("POST", "/v1/similarity", json=body)
    dated = sqlite_server.call("POST", "/v1/similarity",
                               json=body | {"date1": "2024-03-01", "date2": "2024-03-11", "source1": "wire", "source2": "wire"})
    assert alone.status_code == dated.status_code == 200, (alone.text, dated.text)
    assert dated.json()["probability"] < alone.json()["probability"]
    bad = sqlite_server.call("POST", "/v1/similarity", json=body | {"date2": "next week"})
    assert bad.status_code == 422 and "the field 'date2' is not an ISO-8601 date" in bad.json()["message"], bad.text


@pytest.mark.parametrize("field", ["text1", "text2", "title2"])
def test_a_lone_surrogate_in_a_similarity_body_is_a_422_naming_the_field(sqlite_server: Server, field: str) -> None:
    """The normalizer cannot encode it: it was a 500 "internal" (UnicodeEncodeError in text/normalize.py)."""
    body = {"text1": "one two three four five six", "text2": "one two three four five seven"}
    body[field] = body.get(field, "") + " \\ud800 more"
    res = sqlite_server.call("POST", "/v1/similarity", content=json.dumps(body).replace("\\\\", "\\").encode(),
                             headers={"Content-Type": "application/json"})
    assert res.status_code == 422, res.text
    err = res.json()
    assert err["error"] == "invalid_body" and f"the field {field!r} holds a lone surrogate (\\ud800 at character" in err["message"]


@pytest.mark.parametrize("path", ["/", "/healthz", "/metrics", "/v1/articles/b1"])
def test_head_answers_as_get_without_a_body(sqlite_server: Server, path: str) -> None:
    """Uptime monitors use HEAD: it answered 405."""
    head = sqlite_server.client.head(path)
    get = sqlite_server.client.get(path)
    assert head.status_code == get.status_code and head.content == b"", head.text
    assert head.headers["content-type"] == get.headers["content-type"]
    if path == "/healthz":
        assert head.headers["content-length"] == get.headers["content-length"]
    assert sqlite_server.client.head("/v1/articles").status_code == 405  # a POST route is still not a GET
    metrics = sqlite_server.client.get("/metrics").text  # counted by route template, not as "unmatched"
    assert 'endpoint="unmatched",method="HEAD",status="200"' not in metrics and 'method="HEAD",status="200"' in metrics


@pytest.mark.parametrize("address,says", [("/?limit=0", "the query parameter 'limit': Input should be greater than or equal to 1"),
                                           ("/?limit=many", "the query parameter 'limit'"),
                                           ("/pair?a=b1", "the query parameter 'b': Field required"),
                                           ("/event?limit=5", "the query parameter 'e': Field required"),
                                           ("/event?e=x&limit=abc", "the query parameter 'limit'")])
def test_a_bad_query_parameter_of_a_page_is_a_short_page_about_it(sqlite_server: Server, address: str, says: str) -> None:
    """It answered JSON 'invalid_body' (nothing was wrong with a body)."""
    from html import unescape

    res = sqlite_server.call("GET", address, address.split("?")[0])
    assert res.status_code == 422 and res.headers["content-type"].startswith("text/html"), res.text
    assert says in unescape(res.text) and "<h1>bad address</h1>" in res.text and "body" not in unescape(res.text).split("<body>")[1].split("</body>")[0]
    assert "default-src 'none'" in res.headers["content-security-policy"]


def test_the_pair_page_labels_which_containment_each_number_is(sqlite_server: Server) -> None:
    """The edge's row showed containment_1_in_2 under 'containment', the keeper row the larger of the two ways."""
    import re
    from html import unescape

    rng = random.Random(99)
    vocabulary = sorted({w for d in batches() for a in d for w in a.text.split()})
    words = [rng.choice(vocabulary) for _ in range(300)]  # a text of its own; the copy is its first two thirds
    res = sqlite_server.post([{"id": "cont-full", "text": " ".join(words)}, {"id": "cont-part", "text": " ".join(words[:200])}])
    assert res.status_code == 200 and res.json()[1]["duplicate_of"] == "cont-full", res.text
    page = sqlite_server.call("GET", "/pair?a=cont-full&b=cont-part", "/pair")
    assert page.status_code == 200
    assert '<bdi dir="ltr">cont-full</bdi>' in page.text  # an id reads left to right (an URL's Arabic slug kept its order)
    text = re.sub(r"<[^>]+>", "", unescape(page.text))
    cells = re.findall(r"(\d\.\d{3}) \((A in B|B in A|shorter in longer)\)", text)
    kinds = [k for _, k in cells]
    assert kinds.count("A in B") == kinds.count("B in A") >= 1 and kinds.count("shorter in longer") >= 1, text[:3000]
    ab, ba = (next(float(v) for v, k in cells if k == way) for way in ("A in B", "B in A"))
    assert ba > ab  # the part is contained in the full text, not the other way
    assert "A · cont-full" in text and "B · cont-part" in text


def test_an_unreadable_date_is_a_warning_in_the_answer_row(sqlite_server: Server) -> None:
    """It was stored as undated without a word (dedup dedupe warns on stderr)."""
    res = sqlite_server.post([{"id": "dated-bad", "text": "a text with a date nobody can read", "date": "yesterday"},
                              {"id": "dated-ok", "text": "a text with a date in ISO 8601 form", "date": "2024-03-01"}])
    assert res.status_code == 200, res.text
    bad, ok = res.json()
    assert bad["warnings"] == ["the date 'yesterday' could not be read (ISO 8601 expected, e.g. 2024-03-01T09:00:00Z): "
                               "the article is stored undated"]
    assert "warnings" not in ok
    assert sqlite_server.call("GET", "/v1/articles/dated-bad", "/v1/articles/{article_id}").json()["date"] is None
    again = sqlite_server.post([{"id": "dated-ok", "text": "a text with a date in ISO 8601 form", "date": "yesterday"}])
    assert "warnings" not in again.json()[0]  # already in the index: its stored record (dated) stands, nothing stored


# --- the page in a real browser ---------------------------------------------------------------

_PROBE = """<script>
const out = {};
const sides = document.querySelectorAll('article');
out.articles = sides.length;
out.marks = document.querySelectorAll('mark').length;
out.directions = Array.from(document.querySelectorAll('article p[dir=auto]')).map(p => getComputedStyle(p).direction);
const meta = sides[0].querySelector('p.meta');
const bdis = meta.querySelectorAll('bdi');
out.isolated = Array.from(bdis).map(b => getComputedStyle(b).unicodeBidi);
const date = bdis[2].firstChild;  // the date follows the hostile source: it must still read left to right
const at = k => { const r = document.createRange(); r.setStart(date, k); r.setEnd(date, k + 1); return r.getBoundingClientRect().left; };
out.date_ltr = at(0) < at(1) && at(1) < at(2);
out.scripts = document.scripts.length;
document.body.setAttribute('data-probe', JSON.stringify(out));
</script>"""


# the home page's tables: a header, a role, a date or a score never wraps (they broke mid-word: "keepe|r",
# "containme|nt"), long ids and sources wrap anywhere instead; in a narrow window a group's table scrolls in its box,
# the page does not grow wider; in a desktop window nothing scrolls
_LAYOUT_PROBE = """<script>
const lines = el => { const r = document.createRange(); r.selectNodeContents(el);
  return new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top))).size; };
const cells = Array.from(document.querySelectorAll('section.group th, section.group td.nw')).filter(c => c.textContent.trim());
const out = {cells: cells.length, ids: document.querySelectorAll('section.group td.id').length,
  broken: cells.filter(c => lines(c) > 1).map(c => c.textContent.trim()),
  wider: document.documentElement.scrollWidth > window.innerWidth,
  scrolled: Array.from(document.querySelectorAll('section.group')).filter(g => g.scrollWidth > g.clientWidth).length};
document.body.setAttribute('data-probe', JSON.stringify(out));
</script>"""


def _tags_and_links(page: str) -> tuple[set[str], list[str]]:
    from html.parser import HTMLParser

    seen: tuple[set[str], list[str]] = (set(), [])

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen[0].add(tag)
            seen[1].extend(v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "data", "poster"))

    Parser().feed(page)
    return seen


def _chromium_dom(target: str, profile: Path, window: str = "800,600") -> str:
    proc = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         f"--window-size={window}", "--dump-dom", target],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_page_renders_in_headless_chromium_with_rtl_and_hostile_text_escaped(sqlite_server: Server, tmp_path: Path) -> None:
    d1 = batches()[0]
    arabic = d1[0].text
    evil = {"id": "evil<b>1</b>", "text": HOSTILE + "\n" + arabic + "\n" + RLO + "tail", "title": HOSTILE,
            "source": RLO + HOSTILE, "date": "2024-05-09T10:00:00"}
    copy = {"id": "evil-copy", "text": arabic + "\nشارك", "title": "نسخة", "source": "مصدر", "date": "2024-05-09T11:00:00"}
    res = sqlite_server.post([evil, copy])
    assert res.status_code == 200 and {d["status"] for d in res.json()} >= {"duplicate"}
    home = sqlite_server.call("GET", "/")
    assert home.status_code == 200 and "default-src 'none'" in home.headers["content-security-policy"]
    keeper = next(d["duplicate_of"] for d in res.json() if d["status"] == "duplicate")
    other = "evil-copy" if keeper != "evil-copy" else evil["id"]
    pair = sqlite_server.call("GET", f"/pair?a={quote(evil['id'], safe='')}&b={quote(copy['id'], safe='')}", "/pair")
    assert pair.status_code == 200 and "<mark>" in pair.text
    missing = sqlite_server.call("GET", "/pair?a=nothing&b=b1", "/pair")
    assert missing.status_code == 404 and "&#x27;nothing&#x27; is not in the index" in missing.text  # the one missing, named
    assert "neither &#x27;x&#x27; nor &#x27;y&#x27; is in the index" in sqlite_server.call("GET", "/pair?a=x&b=y", "/pair").text
    assert f'href="/pair?a={quote(keeper, safe="")}&amp;b={quote(other, safe="")}"'.replace("<", "%3C") in home.text or \
        quote(other, safe="") in home.text
    for page in (home.text, pair.text):
        assert "&lt;script&gt;" in page and RLO in page
        tags, links = _tags_and_links(page)
        assert not tags & {"script", "img", "iframe", "link", "object", "embed", "b"}, tags  # no element from the feed
        assert links and all(v.startswith("/") and not v.startswith("//") for v in links)  # nothing loaded from elsewhere

    (tmp_path / "home.html").write_text(home.text, encoding="utf-8")
    (tmp_path / "pair.html").write_text(pair.text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = _chromium_dom((tmp_path / "home.html").as_uri(), tmp_path / "profile")
    assert "<script" not in dom and "<img" not in dom and "&lt;script&gt;" in dom and "pwned" not in dom.split("<title>")[1].split("</title>")[0]
    assert 'data-group="' in dom and "side by side" in dom and "<bdi>" in dom
    (tmp_path / "layout.html").write_text(home.text.replace("</body>", _LAYOUT_PROBE + "</body>"), encoding="utf-8")
    for window, scrolled in (("760,900", None), ("1280,900", 0)):
        dom = _chromium_dom((tmp_path / "layout.html").as_uri(), tmp_path / "profile", window=window)
        layout = json.loads(dom.split("data-probe=\"")[1].split('"')[0].replace("&quot;", '"'))
        assert layout["cells"] >= 10 and layout["ids"] >= 2 and layout["broken"] == [] and layout["wider"] is False, layout
        assert scrolled is None or layout["scrolled"] == scrolled, layout
    dom = _chromium_dom((tmp_path / "pair.html").as_uri(), tmp_path / "profile")
    probe = json.loads(dom.split("data-probe=\"")[1].split('"')[0].replace("&quot;", '"'))
    assert probe["articles"] == 2 and probe["marks"] >= 2 and probe["scripts"] == 1  # only the probe runs
    assert "rtl" in probe["directions"] and "ltr" in probe["directions"]  # Arabic paragraphs right to left, the Latin one not
    assert set(probe["isolated"]) == {"isolate"} and probe["date_ltr"] is True


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_an_editor_opens_the_page_of_a_service_with_a_token_in_headless_chromium(sqlite_server: Server, tmp_path: Path) -> None:
    """A browser cannot send a bearer token: the page was a JSON 401 to every editor. It sends the token as the
    password of Basic authentication; without it, it gets a page saying what to enter."""
    host = sqlite_server.url.split("://", 1)[1]
    dom = _chromium_dom(f"http://editor:{TOKEN}@{host}/", tmp_path / "profile")
    assert "Latest duplicate groups" in dom or "duplicate groups" in dom.lower(), dom[:2000]
    assert "unauthorized" not in dom and "needs its token" not in dom
    dom = _chromium_dom(f"http://editor:wrong@{host}/", tmp_path / "profile2")
    assert "duplicate groups" not in dom.lower(), dom[:2000]  # (headless, it cannot ask: an empty page)
    # what a browser without the token is answered: the challenge that makes it ask, and a page saying what to enter
    ask = httpx.get(sqlite_server.url + "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert ask.status_code == 401 and ask.headers["www-authenticate"].startswith("Basic realm=")
    assert "needs its token" in ask.text and "--token-file" in ask.text


_HEADLINE_PROBE = """<script>
const out = {};
for (const g of document.querySelectorAll('section.group[data-group]')) {
  const h = g.querySelector('h2'), none = g.querySelector('p.none');
  out[g.dataset.group] = h ? {text: h.textContent, direction: getComputedStyle(h).direction} : {none: none && none.textContent};
}
out.scripts = document.scripts.length;
document.body.setAttribute('data-probe', JSON.stringify(out));
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_each_group_on_the_home_page_shows_its_keepers_headline_in_headless_chromium(tmp_path: Path) -> None:
    """The page listed the groups by ids only when the keeper had no title (user audit): an editor could not browse
    it. Each group shows its keeper's headline, else the start of its text, escaped and in its own direction; the
    index keeps neither, so a group whose keeper came from `dedup dedupe --index` says why it has none."""
    d1 = batches()[0]
    arabic, latin = d1[0].text, "Heavy rain flooded the coastal road overnight and the ferry service stopped " * 6
    feed = tmp_path / "cli.jsonl"  # a group added by the CLI: no text kept anywhere
    feed.write_text("".join(json.dumps({"id": i, "text": latin + tail, "date": "2024-05-01"}) + "\n"
                            for i, tail in (("cli-k", ""), ("cli-c", " More."))), encoding="utf-8")
    loc = str(tmp_path / "h.db")
    res = CliRunner().invoke(cli, ["dedupe", str(feed), "--out", str(tmp_path / "out"), "--index", loc, "-q"])
    assert res.exit_code == 0, res.output
    port = free_port()
    proc = start_serve(["--index", loc], port, log=tmp_path / "serve.log")
    try:
        posted = httpx.post(f"http://127.0.0.1:{port}/v1/articles", timeout=60, json=[
            {"id": "t-k", "title": "عنوان الخبر " + HOSTILE, "text": arabic, "date": "2024-05-02T09:00:00"},
            {"id": "t-c", "title": "نسخة", "text": arabic + "\nشارك", "date": "2024-05-02T10:00:00"},
            {"id": "u-k", "text": "خبر بلا عنوان\n" + d1[1].text, "date": "2024-05-03T09:00:00"},  # no title
            {"id": "u-c", "text": "خبر بلا عنوان\n" + d1[1].text + "\nشارك", "date": "2024-05-03T10:00:00"}])
        assert posted.status_code == 200 and [d["status"] for d in posted.json()] == ["kept", "duplicate"] * 2, posted.text
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text
    finally:
        stop(proc)
    assert "&lt;script&gt;" in home and "<script" not in home and "<img" not in home
    (tmp_path / "home.html").write_text(home.replace("</body>", _HEADLINE_PROBE + "</body>"), encoding="utf-8")
    dom = _chromium_dom((tmp_path / "home.html").as_uri(), tmp_path / "profile")
    probe = json.loads(html.unescape(dom.split('data-probe="')[1].split('"')[0]))
    assert probe.pop("scripts") == 1 and set(probe) == {"t-k", "u-k", "cli-k"}, probe
    assert probe["t-k"] == {"text": "عنوان الخبر " + HOSTILE, "direction": "rtl"}  # escaped, right to left
    start = " ".join(("خبر بلا عنوان\n" + d1[1].text).split())[:60]  # the start of its text, as one line
    assert probe["u-k"]["text"].startswith(start) and probe["u-k"]["direction"] == "rtl", probe["u-k"]
    assert "no headline" in probe["cli-k"]["none"] and "dedup dedupe --index" in probe["cli-k"]["none"]


# --- last: the OpenAPI description against everything the servers answered above ----------------


def test_openapi_describes_what_the_server_answered(sqlite_server: Server) -> None:
    assert sqlite_server.call("GET", "/nowhere").json()["error"] == "not_found"  # unknown route: a JSON 404 too
    spec = sqlite_server.call("GET", "/openapi.json").json()
    assert "bearer" in json.dumps(spec["components"]["securitySchemes"]).lower()
    for method, route, status in sorted(SEEN):
        if route not in spec["paths"]:
            assert (route, status) in {("/nowhere", 404), ("/openapi.json", 200), ("/openapi.json", 401)}
            continue
        op = spec["paths"][route][method.lower()]
        assert str(status) in op["responses"] or (status == 200 and "200" in op["responses"]), (method, route, status)
        if status >= 400 and "text/html" not in op["responses"][str(status)].get("content", {}):
            assert op["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    post = spec["paths"]["/v1/articles"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith("/ArticleIn")
    decision = spec["components"]["schemas"]["Decision"]["properties"]
    assert set(decision) == {"id", "status", "group", "duplicate_of", "relation", "scores", "reason", "contained_in", "seen_before",
                             "repeats", "warnings"}


def test_the_home_page_boxes_the_events_of_several_reports_and_lists_single_reports_a_line_each() -> None:
    """On a busy feed most of the latest events are single reports: a box each buried the events several reports
    carry. Those come first, boxed; the single reports follow, one line each (headline linking to the event's page,
    outlet, date), escaped."""
    from dedup.serve.page import render_groups

    def event(name: str, size: int, label: str, first: float) -> dict:
        return {"event": name, "label": label, "size": size, "sources": ["وكالة"], "first": first, "last": first + 60,
                "members": [name] + [f"{name}-{k}" for k in range(1, size)]}

    events = [event("s1", 1, HOSTILE, 1.7e9 + 300), event("m1", 3, "قمة", 1.7e9 + 200), event("s2", 1, "", 1.7e9 + 100),
              event("m2", 2, "لقاء", 1.7e9)]
    page = render_groups([], {}, "h.db", 0, events)
    boxes = [page.index(f'<section class="group event" data-event="{n}"') for n in ("m1", "m2")]
    singles = page.index('<section class="group singles">')
    assert boxes[0] < boxes[1] < singles  # newest first among each kind
    assert page.index('<li data-event="s1">') < page.index('<li data-event="s2">')
    assert 'href="/event?e=s2" dir="auto">s2</a>' in page  # no headline: the id stands in
    assert "&lt;script&gt;" in page and "<script" not in page and "<img" not in page
    assert page.count('<section class="group event"') == 2
    capped = render_groups([], {}, "h.db", 0, events, boxes=1)  # the page's ?limit= caps the boxes
    assert 'data-event="m1"' in capped and 'data-event="m2"' not in capped and '<li data-event="s2">' in capped


def test_the_reports_of_an_event_whose_first_report_was_pruned_open_beside_the_earliest_left() -> None:
    """After `dedup index prune` took an event's first report (the event keeps its name), every report of its page
    and of its box on the home page linked side by side with it: "'FIRST' is not in the index", 37 times on the
    desk's largest event. They open beside the earliest report left, and the page says why."""
    from types import SimpleNamespace

    from dedup.serve.page import render_event, render_groups

    reports = [SimpleNamespace(id=i, source="وكالة", time=1.7e9 + k, label=f"خبر {k}") for k, i in enumerate(["r1", "r2", "r3"])]
    gone = {"event": "first", "label": "خبر 1", "size": 3, "sources": ["وكالة"], "first": 1.7e9, "last": 1.7e9 + 2,
            "members": ["r1", "r2", "r3"], "reports": reports}
    for page in (render_event(gone), render_groups([], {}, "h.db", 3, [gone])):
        assert "/pair?a=first" not in page, page
        assert "/pair?a=r1&amp;b=r2" in page and "/pair?a=r1&amp;b=r3" in page and "b=r1" not in page
    assert "earliest report left" in render_event(gone) and "was pruned from the index" in render_event(gone)
    kept = {**gone, "event": "r1", "label": "خبر 0"}  # not pruned: as before
    assert "first report" in render_event(kept) and "was pruned" not in render_event(kept)
    assert "/pair?a=r1&amp;b=r2" in render_event(kept)


def test_the_service_pages_write_dates_as_the_reports_do() -> None:
    """The service's pages wrote ISO forms (2024-05-01T09:00:00Z, from the index), both report.html pages
    '2024-05-01 09:00 UTC': two forms for people across the pages. Every page now writes the reports' form (the day
    alone at midnight UTC); the JSON keeps ISO 8601."""
    from types import SimpleNamespace

    from dedup.io.safe_html import shown_date
    from dedup.results import DUPLICATE, KEPT
    from dedup.serve import page as pages
    from dedup.serve.views import GroupView, PairView
    from dedup.store.index import ArticleRecord
    from dedup.types import timestamp

    def rec(row: int, aid: str, date: str | None, status: int) -> ArticleRecord:
        return ArticleRecord(row, aid, date, timestamp(date), "وكالة", 100, status, "k", 0, 0, row, 0 if row == 0 else 2,
                             (0.9, 0.9, 0.9, float("nan")), "")

    keeper, copy = rec(0, "k", "2024-05-01T09:00:00Z", KEPT), rec(1, "c", "2024-05-02T00:00:00Z", DUPLICATE)
    undated = rec(2, "u", None, DUPLICATE)
    group = GroupView("k", [keeper, copy, undated], keeper, [], {0: keeper, 1: copy, 2: undated})
    reports = [SimpleNamespace(id=i, source="وكالة", time=timestamp(d), label=i)
               for i, d in (("r1", "2024-05-01T09:00:00Z"), ("r2", "2024-05-03T17:45:10Z"))]
    event = {"event": "r1", "label": "قمة", "size": 2, "sources": ["وكالة"], "first": reports[0].time,
             "last": reports[1].time, "members": ["r1", "r2"], "reports": reports}
    single = {**event, "event": "s1", "size": 1, "last": reports[0].time, "members": ["s1"], "reports": reports[:1]}
    written = {
        "home": pages.render_groups([group], {}, "h.db", 3, [event, single]),
        "event": pages.render_event(event),
        "pair": pages.render_pair(PairView(keeper, undated, {}, [], None), ([], [])),
        "pruned": pages.render_pruned_keeper("k", copy),
    }
    for name, page in written.items():
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page), name  # no ISO form left for people
    home = written["home"]
    assert '<bdi dir="ltr">2024-05-01 09:00 UTC</bdi>' in home and '<bdi dir="ltr">2024-05-02</bdi>' in home
    assert "2024-05-01 09:00 UTC – 2024-05-02 ·" in home  # the group's span, from the keeper to the copy
    assert "2024-05-01 09:00 UTC – 2024-05-03 17:45 UTC" in home  # the event's span
    assert "· 2024-05-01 09:00 UTC</span></li>" in home  # the single report's line
    assert "2024-05-01 09:00 UTC – 2024-05-03 17:45 UTC" in written["event"] and "2024-05-03 17:45 UTC</bdi>" in written["event"]
    assert "2024-05-01 09:00 UTC</bdi>" in written["pair"] and '<bdi dir="ltr">undated</bdi>' in written["pair"]
    assert '<bdi dir="ltr">2024-05-02</bdi>' in written["pruned"]
    assert shown_date(keeper.date) == "2024-05-01 09:00 UTC"  # the reports' own form (dedupe and stories report.html)
    assert keeper.to_json()["date"] == "2024-05-01T09:00:00Z"  # the JSON unchanged

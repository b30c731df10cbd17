"""dedup.serve.metrics: counters and a latency histogram in the Prometheus text format, parsed back here."""

from __future__ import annotations

import re
import threading

import pytest

from dedup.serve.metrics import BUCKETS, Metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples by (name, sorted labels); checks the format on the way (HELP and TYPE before each family)."""
    assert text.endswith("\n")
    samples: dict = {}
    typed: dict[str, str] = {}
    helped: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name in helped and kind in ("counter", "histogram")
            typed[name] = kind
            continue
        m = _SAMPLE.match(line)
        assert m is not None, line
        name, _, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name.startswith("dedup_http_request_duration") else name
        assert family in typed, f"{name} before its TYPE line"
        if labels:
            pairs = _LABEL.findall(labels)
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, labels
        else:
            pairs = []
        key = (name, tuple(sorted((k, _unescape(v)) for k, v in pairs)))
        assert key not in samples, f"{key} twice"
        samples[key] = float(value)
    return samples


def test_an_empty_registry() -> None:
    samples = _parse(Metrics().render())
    assert samples == {
        ("dedup_articles_indexed_total", ()): 0.0,
        ("dedup_decisions_total", (("status", "kept"),)): 0.0,
        ("dedup_decisions_total", (("status", "duplicate"),)): 0.0,
        ("dedup_decisions_total", (("status", "skipped"),)): 0.0,
    }


def test_requests_are_counted_by_endpoint_method_and_status() -> None:
    m = Metrics()
    for endpoint, method, status in [("/v1/articles", "POST", 200), ("/v1/articles", "POST", 200), ("/v1/articles", "POST", 413),
                                     ("/v1/articles/{id}", "GET", 404), ("/healthz", "GET", 200)]:
        m.observe(endpoint, method, status, 0.01)
    s = _parse(m.render())
    req = {labels: v for (name, labels), v in s.items() if name == "dedup_http_requests_total"}
    assert req == {
        (("endpoint", "/v1/articles"), ("method", "POST"), ("status", "200")): 2,
        (("endpoint", "/v1/articles"), ("method", "POST"), ("status", "413")): 1,
        (("endpoint", "/v1/articles/{id}"), ("method", "GET"), ("status", "404")): 1,
        (("endpoint", "/healthz"), ("method", "GET"), ("status", "200")): 1,
    }


@pytest.mark.parametrize(
    "seconds",
    [
        pytest.param([0.003], id="one-fast"),
        pytest.param([0.005, 0.1, 10.0], id="on-the-bounds"),
        pytest.param([0.0, 0.0049, 0.26, 2.4999, 11.0, 300.0], id="spread-and-over-the-last"),
        pytest.param([], id="none"),
    ],
)
def test_the_histogram_is_cumulative(seconds: list[float]) -> None:
    m = Metrics()
    m.observe("/other", "GET", 200, 0.5)  # another endpoint has its own series
    for t in seconds:
        m.observe("/v1/articles", "POST", 200, t)
    s = _parse(m.render())
    ep = ("endpoint", "/v1/articles")
    if not seconds:
        assert not any(dict(labels).get("endpoint") == "/v1/articles" for _, labels in s)
        return
    for bound in BUCKETS:
        expected = sum(t <= bound for t in seconds)
        assert s[("dedup_http_request_duration_seconds_bucket", tuple(sorted([ep, ("le", repr(bound))])))] == expected, bound
    assert s[("dedup_http_request_duration_seconds_bucket", tuple(sorted([ep, ("le", "+Inf")])))] == len(seconds)
    assert s[("dedup_http_request_duration_seconds_count", (ep,))] == len(seconds)
    assert s[("dedup_http_request_duration_seconds_sum", (ep,))] == pytest.approx(sum(seconds), abs=1e-6)


def test_buckets_are_increasing() -> None:
    assert list(BUCKETS) == sorted(set(BUCKETS)) and BUCKETS[0] > 0


def test_indexed_decisions_and_errors() -> None:
    m = Metrics()
    m.indexed(5)
    m.indexed(0)
    m.indexed(2)
    m.decided("kept", 3)
    m.decided("duplicate")
    m.decided("duplicate", 4)
    for kind in ("too_large", "unauthorized", "too_large", "bad_json"):
        m.error(kind)
    s = _parse(m.render())
    assert s[("dedup_articles_indexed_total", ())] == 7
    assert {lab[0][1]: v for (n, lab), v in s.items() if n == "dedup_decisions_total"} == {"kept": 3, "duplicate": 5, "skipped": 0}
    assert {lab[0][1]: v for (n, lab), v in s.items() if n == "dedup_errors_total"} == {"too_large": 2, "unauthorized": 1, "bad_json": 1}


def test_runs_appear_only_when_given() -> None:
    m = Metrics()
    assert "dedup_index_runs_total" not in m.render()
    s = _parse(m.render(runs=(3, 7)))
    assert s[("dedup_index_runs_total", ())] == 3 and s[("dedup_index_run_batches_total", ())] == 7


def test_label_values_are_escaped() -> None:
    m = Metrics()
    odd = 'a"b\\c\nd'
    m.observe(odd, "GET", 200, 0.01)
    m.error(odd)
    text = m.render()
    assert 'endpoint="a\\"b\\\\c\\nd"' in text and "\nd\"" not in text  # one line per sample
    s = _parse(text)
    assert s[("dedup_errors_total", (("kind", odd),))] == 1


def test_the_output_is_sorted_and_stable() -> None:
    a, b = Metrics(), Metrics()
    calls = [("/b", "GET", 200), ("/a", "POST", 500), ("/a", "GET", 200), ("/b", "GET", 404)]
    for endpoint, method, status in calls:
        a.observe(endpoint, method, status, 0.02)
    for endpoint, method, status in reversed(calls):
        b.observe(endpoint, method, status, 0.02)
    for kind in ("z", "a"):
        a.error(kind)
    for kind in ("a", "z"):
        b.error(kind)
    assert a.render() == b.render()
    lines = [line for line in a.render().splitlines() if line.startswith("dedup_http_requests_total")]
    assert lines == sorted(lines)


def test_updates_from_many_threads_are_all_counted() -> None:
    m = Metrics()

    def work() -> None:
        for _ in range(500):
            m.observe("/v1/articles", "POST", 200, 0.001)
            m.indexed(1)
            m.decided("kept")
            m.error("internal")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = _parse(m.render())
    ep = ("endpoint", "/v1/articles")
    assert s[("dedup_http_requests_total", (ep, ("method", "POST"), ("status", "200")))] == 4000
    assert s[("dedup_http_request_duration_seconds_count", (ep,))] == 4000
    assert s[("dedup_articles_indexed_total", ())] == 4000
    assert s[("dedup_decisions_total", (("status", "kept"),))] == 4000
    assert s[("dedup_errors_total", (("kind", "internal"),))] == 4000

"""What ``GET /metrics`` shows, in the Prometheus text exposition format (version 0.0.4).

Written by hand rather than with ``prometheus_client``: a handful of series
in one process need no dependency, and a :class:`Metrics` object belongs to
one app (``prometheus_client`` registers into a global registry, so two apps
in one process, as in tests, would share or clash). Series:

* ``dedup_http_requests_total{endpoint,method,status}``: every response, by
  route template (``/v1/articles/{id}``, never the raw path: bounded labels);
* ``dedup_http_request_duration_seconds{endpoint}``: a latency histogram;
* ``dedup_articles_indexed_total``: articles this process added to the index;
* ``dedup_decisions_total{status}``: decisions returned (kept, duplicate, skipped);
* ``dedup_errors_total{kind}``: rejected or failed requests by kind
  (unauthorized, too_large, unsupported_encoding, unsupported_media_type, bad_json, invalid_record, not_found,
  index_unavailable, internal);
* ``dedup_index_runs_total`` and ``dedup_index_run_batches_total``: runs of the
  flow against the index and the posted batches they decided (more batches
  than runs when waiting batches are coalesced), when the app passes them.
"""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["BUCKETS", "Metrics"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in kw.items()) + "}"


class Metrics:
    """Counters and a latency histogram, safe to update from any thread.

    >>> m = Metrics()
    >>> m.observe("/healthz", "GET", 200, 0.003)
    >>> m.indexed(5)
    >>> text = m.render()
    >>> 'dedup_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1' in text
    True
    >>> 'dedup_http_request_duration_seconds_bucket{endpoint="/healthz",le="0.005"} 1' in text
    True
    >>> "dedup_articles_indexed_total 5" in text
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)
        self._indexed = 0
        self._decisions: dict[str, int] = defaultdict(int)
        self._errors: dict[str, int] = defaultdict(int)

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(endpoint, method, str(status))] += 1
            counts = self._buckets.setdefault(endpoint, [0] * len(BUCKETS))
            for k, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[k] += 1
            self._sum[endpoint] += seconds
            self._count[endpoint] += 1

    def indexed(self, n: int) -> None:
        with self._lock:
            self._indexed += n

    def decided(self, status: str, n: int = 1) -> None:
        with self._lock:
            self._decisions[status] += n

    def error(self, kind: str) -> None:
        with self._lock:
            self._errors[kind] += 1

    def render(self, runs: tuple[int, int] | None = None, placed: tuple[int, int] | None = None) -> str:
        """The exposition text (``text/plain; version=0.0.4``); ``runs``: (flow runs, batches they decided);
        ``placed`` (with ``--stories-every``): (articles placed into events, articles given up)."""
        with self._lock:
            out = ["# HELP dedup_http_requests_total HTTP responses by route, method and status.",
                   "# TYPE dedup_http_requests_total counter"]
            for (endpoint, method, status), n in sorted(self._requests.items()):
                out.append(f"dedup_http_requests_total{_labels(endpoint=endpoint, method=method, status=status)} {n}")
            out += ["# HELP dedup_http_request_duration_seconds Time from the request to the end of the response.",
                    "# TYPE dedup_http_request_duration_seconds histogram"]
            for endpoint in sorted(self._buckets):
                for bound, n in zip(BUCKETS, self._buckets[endpoint]):
                    out.append(f"dedup_http_request_duration_seconds_bucket{_labels(endpoint=endpoint, le=repr(bound))} {n}")
                total = self._count[endpoint]
                out.append(f"dedup_http_request_duration_seconds_bucket{_labels(endpoint=endpoint, le='+Inf')} {total}")
                out.append(f"dedup_http_request_duration_seconds_sum{_labels(endpoint=endpoint)} {self._sum[endpoint]:.6f}")
                out.append(f"dedup_http_request_duration_seconds_count{_labels(endpoint=endpoint)} {total}")
            out += ["# HELP dedup_articles_indexed_total Articles this process added to the history index.",
                    "# TYPE dedup_articles_indexed_total counter", f"dedup_articles_indexed_total {self._indexed}",
                    "# HELP dedup_decisions_total Decisions returned, by status.", "# TYPE dedup_decisions_total counter"]
            for status in ("kept", "duplicate", "skipped"):
                out.append(f"dedup_decisions_total{_labels(status=status)} {self._decisions[status]}")
            out += ["# HELP dedup_errors_total Requests rejected or failed, by kind.", "# TYPE dedup_errors_total counter"]
            for kind, n in sorted(self._errors.items()):
                out.append(f"dedup_errors_total{_labels(kind=kind)} {n}")
        if runs is not None:
            out += ["# HELP dedup_index_runs_total Runs of the flow against the index.", "# TYPE dedup_index_runs_total counter",
                    f"dedup_index_runs_total {runs[0]}",
                    "# HELP dedup_index_run_batches_total Posted batches decided by those runs.",
                    "# TYPE dedup_index_run_batches_total counter", f"dedup_index_run_batches_total {runs[1]}"]
        if placed is not None:
            out += ["# HELP dedup_events_placed_total Articles this process placed into events (--stories-every).",
                    "# TYPE dedup_events_placed_total counter", f"dedup_events_placed_total {placed[0]}",
                    "# HELP dedup_events_given_up_total Articles whose placement into events was given up.",
                    "# TYPE dedup_events_given_up_total counter", f"dedup_events_given_up_total {placed[1]}"]
        return "\n".join(out) + "\n"

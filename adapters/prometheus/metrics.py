"""Every Prometheus metric portside exports, in one place.

They are module-level objects, as prometheus-client wants them. Under ``portside serve``
with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set before this module is imported
(``entrypoints.http.metrics``), and each process writes its values there; ``/metrics``
adds them up. Gauges of live things (connections, pool) use ``livesum``: a process that
exits stops counting.

Figures that are the database's truth (jobs by status, outbox lag, campaign deliveries)
are not here: ``/metrics`` reads them at scrape time, so they agree across every process
and host.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "CACHE_ERRORS",
    "CACHE_HITS",
    "CACHE_MISSES",
    "CACHE_REQUESTS",
    "DB_POOL",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "LOGIN_FAILURES",
    "LOGIN_LOCKOUTS",
    "RATE_LIMIT_FAILED_OPEN",
    "RATE_LIMIT_REJECTIONS",
    "TELEGRAM_SENDS",
    "WEBSOCKETS",
]

HTTP_REQUESTS = Counter(
    "portside_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "portside_http_request_duration_seconds",
    "Time from the request's arrival to its response's end, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL = Gauge(
    "portside_db_pool_connections",
    "Database connections checked out of the pool (in_use) and requests waiting for one (waiting).",
    ["state"],
    multiprocess_mode="livesum",
)
CACHE_REQUESTS = Counter(
    "portside_cache_requests",
    "Cache calls by result: hit or miss (reads), or error (the store did not answer; the call was bypassed).",
    ["result"],
)
CACHE_HITS = CACHE_REQUESTS.labels(result="hit")
CACHE_MISSES = CACHE_REQUESTS.labels(result="miss")
CACHE_ERRORS = CACHE_REQUESTS.labels(result="error")
RATE_LIMIT_REJECTIONS = Counter(
    "portside_rate_limit_rejections",
    "Requests refused with 429 by a rate limit or throttle, by limit.",
    ["limit"],
)
RATE_LIMIT_FAILED_OPEN = Counter(
    "portside_rate_limit_failed_open",
    "Hits let through unchecked because the limiter's store did not answer.",
)
LOGIN_FAILURES = Counter(
    "portside_login_failures",
    "Password checks that failed (unknown e-mail, wrong password, inactive account).",
)
LOGIN_LOCKOUTS = Counter(
    "portside_login_lockouts",
    "Logins refused unchecked because the e-mail is locked after too many failures.",
)
WEBSOCKETS = Gauge(
    "portside_websocket_connections",
    "Authenticated WebSocket connections being served.",
    multiprocess_mode="livesum",
)
TELEGRAM_SENDS = Counter(
    "portside_telegram_sends",
    "Bot API sendMessage calls by outcome: accepted, not_sent (to be retried), rejected, unknown.",
    ["outcome"],
)

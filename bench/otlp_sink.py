"""A stand-in OTLP/HTTP collector for the benchmarks' ``--tracing``: it reads every export,
answers 200 with an empty body, and counts what it got.

    .venv/bin/python -m bench.otlp_sink [--port 4318] [--spans]

On SIGTERM it prints ``exports=<n> bytes=<n>`` (with ``--spans``, the spans by name) and
exits: the proof that spans were sent.
``sink()`` runs it as a process for the length of a ``with`` block and yields its endpoint
(what ``PORTSIDE_OTEL_ENDPOINT`` takes); ``traced()`` wraps it for the benchmarks'
``--tracing [RATIO]`` and yields the settings that trace to it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["add_tracing_argument", "sink", "traced"]

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"


class _Counts:
    exports = 0
    bytes = 0
    spans: Counter[str] | None = None
    """With ``--spans``: the spans received, by name (parsing costs the sink CPU)."""


def _count_spans(body: bytes) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    assert _Counts.spans is not None
    request = ExportTraceServiceRequest.FromString(body)
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            _Counts.spans.update(span.name for span in scope.spans)


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            _Counts.exports += 1
            _Counts.bytes += len(body)
            if _Counts.spans is not None:
                _count_spans(body)
            writer.write(_OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(port: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(_serve_one, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    spans = ""
    if _Counts.spans is not None:
        spans = f" spans={sum(_Counts.spans.values())} {dict(_Counts.spans.most_common(8))}"
    print(f"exports={_Counts.exports} bytes={_Counts.bytes}{spans}", flush=True)


@contextmanager
def sink(port: int = 4318) -> Iterator[str]:
    """The sink as a process while the block runs; yields its endpoint. Prints what it
    received when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.otlp_sink", "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise SystemExit("the OTLP sink did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        time.sleep(0.5)  # what the exporters still batch
        process.terminate()
        received, _ = process.communicate(timeout=10)
        print(f"OTLP sink received: {received.strip()}")


def add_tracing_argument(parser: argparse.ArgumentParser) -> None:
    """``--tracing [RATIO]``: trace to the sink, every request (no ratio, or 1) or the
    ratio of them that the SDK's ``parentbased_traceidratio`` head sampler keeps."""
    parser.add_argument(
        "--tracing",
        type=float,
        nargs="?",
        const=1.0,
        default=None,
        metavar="RATIO",
        help="trace portside's requests to a local OTLP sink (bench.otlp_sink): all of them, or RATIO of them",
    )


def _tracing_settings(endpoint: str, ratio: float) -> dict[str, str]:
    """What a served portside traces to ``endpoint`` with: every trace, or ``ratio`` of
    them chosen by trace id (a caller's sampled flag is followed either way)."""
    if not 0 < ratio <= 1:
        raise SystemExit(f"--tracing takes a ratio in (0, 1], not {ratio}")
    settings = {"PORTSIDE_OTEL_ENDPOINT": endpoint}
    if ratio < 1:
        settings |= {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": str(ratio)}
    return settings


@contextmanager
def traced(ratio: float | None) -> Iterator[dict[str, str]]:
    """With a ratio, the sink for the block and the settings that trace to it; without,
    no sink and no settings."""
    if ratio is None:
        yield {}
        return
    with sink() as endpoint:
        yield _tracing_settings(endpoint, ratio)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--spans", action="store_true", help="parse the exports and count the spans by name")
    arguments = parser.parse_args()
    if arguments.spans:
        _Counts.spans = Counter()
    asyncio.run(_main(arguments.port))

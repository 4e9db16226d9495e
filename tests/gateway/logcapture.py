"""Capture what the root logger writes, through the gateway's JSON formatter, as parsed lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.observability import JsonFormatter


@contextmanager
def json_log_lines(level: int = logging.INFO) -> Iterator[list[dict[str, object]]]:
    """Every line logged meanwhile (at ``level`` or above), formatted by JsonFormatter and parsed; the list
    fills when the block ends."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous or logging.WARNING, level))
    lines: list[dict[str, object]] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))


def raw_request(port: int, head: bytes, timeout: float = 10.0) -> bytes:
    """Send a raw HTTP/1.1 request head to 127.0.0.1:port and return the response head (or b"" if the
    server closed the connection without one)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
        except OSError:
            pass  # the server may refuse and close before reading everything
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        return data

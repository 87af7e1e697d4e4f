"""``peer_is_ending``: whether the other end of an idle connection is closing it, asked of the
socket itself, without a round trip and without waiting."""

from __future__ import annotations

import asyncio
import socket

__all__ = ["peer_is_ending"]


def peer_is_ending(transport: asyncio.BaseTransport | None) -> bool:
    """Whether the server is ending the idle connection under ``transport``: one peek that
    takes no byte and does not wait (a system call). A connection that owes no reply gets
    nothing unasked, so anything to read means the end: a server that shuts down sends its
    farewell, if any, then closes (or resets) the socket. The event loop may not have read
    that yet; the socket knows. No transport: False (nothing to ask)."""
    if transport is None or transport.is_closing():
        return transport is not None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        probe = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.fileno())
    except (OSError, ValueError):
        return True  # no usable descriptor: a fresh connection is the safe side
    try:
        if probe.gettimeout() is not None:  # a process-wide default timeout would make recv wait
            probe.settimeout(0.0)
        probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False  # open, and nothing to read
    except OSError:
        return True  # reset
    else:
        return True  # an error message or the end of the stream
    finally:
        probe.detach()  # the descriptor stays the transport's

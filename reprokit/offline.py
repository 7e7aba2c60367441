"""A guard that makes any network connection fail loudly.

The claim suite promises that with ``REPROKIT_DATA_DIR`` set nothing is downloaded; the project's
conftest installs this guard for the whole session in that case, so a connection attempt anywhere
(a loader falling back to a download, a library phoning home) fails the test that made it instead
of passing silently. Loopback and Unix sockets stay open: xdist, a local browser and the like.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

_LOCAL = ("127.", "::1", "localhost")
_original = socket.socket.connect
_original_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """A test tried to reach the network although REPROKIT_DATA_DIR promised an offline run."""


def _refuse(what: str) -> NetworkBlocked:
    return NetworkBlocked(f"network access ({what}) attempted with REPROKIT_DATA_DIR set: every data "
                          "file must come from that folder")


def _check(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        if not host.startswith(_LOCAL):
            raise _refuse(f"connect to {address!r}")


def _getaddrinfo(host, *args, **kwargs):
    if host is not None and not str(host).startswith(_LOCAL) and str(host) not in ("", "0.0.0.0", "::"):
        raise _refuse(f"name lookup of {host!r}")
    return _original_getaddrinfo(host, *args, **kwargs)


def _connect(self: socket.socket, address):
    _check(self, address)
    return _original(self, address)


def _connect_ex(self: socket.socket, address):
    _check(self, address)
    return _original_ex(self, address)


def is_blocked() -> bool:
    return socket.socket.connect is _connect


def block() -> None:
    """Make every non-loopback connection or name lookup raise NetworkBlocked (Python sockets)."""
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


def unblock() -> None:
    socket.socket.connect = _original  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _original_getaddrinfo


@contextmanager
def blocked() -> Iterator[None]:
    """Block within the ``with``; leave the state as it was found (the session may be blocked)."""
    was = is_blocked()
    block()
    try:
        yield
    finally:
        if not was:
            unblock()

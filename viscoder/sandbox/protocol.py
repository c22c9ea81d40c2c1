"""Length-prefixed JSON frames between the executor and its warm worker (both trusted).

JSON rather than pickle: the worker relays data that scripts produced (figure JSON, PNG
bytes as base64), and nothing a script wrote is ever unpickled. Frames are ASCII (``\\uXXXX``
escapes), so any Python string, lone surrogates included, travels unchanged.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

MAX_FRAME = 512 * 1024 * 1024
_HEADER = struct.Struct(">Q")


class ChannelClosed(ConnectionError):
    """The other side went away."""


def send_frame(sock: socket.socket, obj: Any) -> None:
    # ASCII escapes: a lone surrogate (in a script's code or message) cannot break the framing
    data = json.dumps(obj).encode("ascii")
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_frame(sock: socket.socket) -> Any:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise ChannelClosed(f"frame of {size} bytes exceeds the limit")
    return json.loads(_recv_exact(sock, size))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ChannelClosed("connection closed")
        buf += chunk
    return bytes(buf)

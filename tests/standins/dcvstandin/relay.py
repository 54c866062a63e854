# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Byte relay of the stand-ins' desktop stream route (gateway -> DCV server -> websockify).

The browser's WebSocket handshake passes through untouched: each hop forwards the upgrade
request, and after the `101 Switching Protocols` answer it copies bytes both ways until one side
closes.  The hops never parse WebSocket frames (websockify and noVNC do).
"""

import select
import ssl

BUFFER = 65536
MAX_HEAD = 65536
# The client's WebSocket headers that the gateway passes on to the DCV server.
WEBSOCKET_HEADERS = ("Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                     "Sec-WebSocket-Protocol")


def is_websocket_upgrade(headers):
    """True when the request asks for a WebSocket upgrade (``Connection`` may list several tokens)."""
    connection = [token.strip().lower() for token in headers.get("Connection", "").split(",")]
    return headers.get("Upgrade", "").strip().lower() == "websocket" and "upgrade" in connection


def request_head(handler):
    """The request line and headers of a BaseHTTPRequestHandler request, as the client sent them."""
    head = handler.raw_requestline.rstrip(b"\r\n") + b"\r\n"
    for name, value in handler.headers.raw_items():
        head += ("%s: %s\r\n" % (name, value)).encode("latin-1")
    return head + b"\r\n"


def read_response_head(sock):
    """Read an HTTP response head; return (status, head bytes, bytes received after the head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the peer closed the connection before answering")
        data += chunk
        if len(data) > MAX_HEAD:
            raise ConnectionError("the peer's response head is larger than %d bytes" % MAX_HEAD)
    head, _sep, rest = data.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ConnectionError("the peer answered something that is not HTTP: %r" % head[:80])
    return int(parts[1]), head + b"\r\n\r\n", rest


def header(head, name):
    """The value of header ``name`` in a raw response head, or None."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name.lower().encode("latin-1"):
            return value.strip().decode("latin-1")
    return None


def read_exactly(sock, count, already=b""):
    """Read until ``count`` bytes (including ``already``) arrived or the peer closed."""
    data = already
    while len(data) < count:
        chunk = sock.recv(min(BUFFER, count - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _recv(sock):
    """Non-blocking read: bytes, b"" at end of stream, or None when nothing is ready after all."""
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return sock.recv(BUFFER)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
        return None
    finally:
        sock.settimeout(timeout)


def pipe(first, second, idle_timeout=None):
    """Copy bytes both ways between two connected sockets (plain or TLS) until one side closes.

    Returns the byte counts (first -> second, second -> first).  One thread, select(): a TLS
    socket is never read and written from two threads at once.  TLS records already decrypted
    (``pending()``) are served before waiting again.
    """
    peer = {first: second, second: first}
    count = {first: 0, second: 0}
    try:
        while True:
            ready = [s for s in (first, second) if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _w, _x = select.select([first, second], [], [], idle_timeout)
                if not ready:
                    break
            for sock in ready:
                data = _recv(sock)
                if data is None:
                    continue
                if not data:
                    return count[first], count[second]
                peer[sock].sendall(data)
                count[sock] += len(data)
    except (OSError, ValueError):
        pass  # a reset or a closed socket ends the stream like a clean close
    return count[first], count[second]

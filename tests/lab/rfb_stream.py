"""A minimal VNC client of the lab's desktop stream, standard library only: the WebSocket handshake the stand-in web
viewer's noVNC makes on the gateway (`/standin/stream`, strict TLS trusting only the lab CA, the public name mapped
to host A's address as the PrivateLink endpoint would), RFB 3.8 over binary WebSocket frames (RFC 6455: client
frames masked), and the two things the viewer tests need: pointer events and a framebuffer round trip."""

import base64
import hashlib
import os
import socket
import ssl
import struct
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455


class StreamRefused(Exception):
    def __init__(self, status, head):
        super().__init__("the stream handshake answered %d: %r" % (status, head[:300]))
        self.status = status


class RfbStream:
    """One connection to a desktop URL (https://NAME:PORT/?authToken=T#SESSION) through the gateway."""

    def __init__(self, url, ca_file, address, timeout=30):
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port or 443
        token = urllib.parse.parse_qs(parts.query)["authToken"][0]
        context = ssl.create_default_context(cafile=ca_file)  # only the lab CA; chain and host name checked
        raw = socket.create_connection((address, port), timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname=host)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall((
            "GET /standin/stream?sessionId=%s&authToken=%s HTTP/1.1\r\nHost: %s:%d\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: binary\r\nOrigin: https://%s:%d\r\n\r\n"
            % (urllib.parse.quote(parts.fragment), urllib.parse.quote(token), host, port, key.decode(), host, port)
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _sep, self.pending = head.partition(b"\r\n\r\n")
        status = int(head.split(None, 2)[1]) if head.startswith(b"HTTP/") else 0
        if status != 101:
            self.sock.close()
            raise StreamRefused(status, head)
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if b"sec-websocket-accept: " + accept.lower() not in head.lower():
            raise ConnectionError("the stream's 101 does not accept our WebSocket key: %r" % head)

    # -- WebSocket frames -------------------------------------------------------------------------------------
    def _raw(self, count):
        while len(self.pending) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the stream closed")
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def _frame(self):
        first, second = self._raw(2)
        length = second & 0x7F
        if length == 126:
            length, = struct.unpack(">H", self._raw(2))
        elif length == 127:
            length, = struct.unpack(">Q", self._raw(8))
        mask = self._raw(4) if second & 0x80 else None
        payload = self._raw(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return first & 0x0F, payload

    def send(self, data):
        mask = os.urandom(4)
        length = len(data)
        head = bytes([0x82]) + (bytes([0x80 | length]) if length < 126 else struct.pack(">BH", 0x80 | 126, length))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read(self, count):
        """``count`` bytes of the RFB stream (binary and continuation frames; pings are ignored)."""
        while len(self.buffer) < count:
            opcode, payload = self._frame()
            if opcode == 8:
                raise ConnectionError("the stream sent a WebSocket close: %r" % payload)
            if opcode in (0, 2):
                self.buffer += payload
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    # -- RFB 3.8 (RFC 6143) -----------------------------------------------------------------------------------
    def handshake(self):
        """Version, security type None (the stand-in's x11vnc runs -nopw on loopback), shared ClientInit;
        returns the desktop name."""
        version = self.read(12)
        if not version.startswith(b"RFB 003."):
            raise ConnectionError("not an RFB server: %r" % version)
        self.send(b"RFB 003.008\n")
        count = self.read(1)[0]
        types = self.read(count)
        if 1 not in types:
            raise ConnectionError("no security type None offered: %r" % types)
        self.send(b"\x01")
        if struct.unpack(">I", self.read(4))[0] != 0:
            raise ConnectionError("security handshake failed")
        self.send(b"\x01")  # shared: the owner's and the viewers' connections coexist
        self.width, self.height = struct.unpack(">HH", self.read(4))
        self.bytes_per_pixel = self.read(16)[0] // 8
        name_length, = struct.unpack(">I", self.read(4))
        return self.read(name_length).decode("utf-8", "replace")

    def click(self, x, y):
        """Move the pointer to (x, y), press and release button 1 there: a change of buttons is handed to the X
        server at once (libvncserver defers plain motion, not button changes)."""
        for buttons in (0, 1, 0):
            self.send(struct.pack(">BBHH", 5, buttons, x, y))

    def round_trip(self):
        """Ask for one pixel of the screen and read messages until the update comes: the server has processed
        everything this connection sent before."""
        self.send(struct.pack(">BBHHHH", 3, 0, 0, 0, 1, 1))
        while True:
            kind = self.read(1)[0]
            if kind == 0:  # FramebufferUpdate: raw rectangles (no SetEncodings was sent)
                count, = struct.unpack(">xH", self.read(3))
                for _rectangle in range(count):
                    _x, _y, width, height, encoding = struct.unpack(">HHHHi", self.read(12))
                    if encoding != 0:
                        raise ConnectionError("unexpected encoding %d" % encoding)
                    self.read(width * height * self.bytes_per_pixel)
                return
            if kind == 1:  # SetColourMapEntries
                _first, colours = struct.unpack(">xHH", self.read(5))
                self.read(6 * colours)
            elif kind == 3:  # ServerCutText
                length, = struct.unpack(">xxxI", self.read(7))
                self.read(length)
            elif kind != 2:  # 2 is Bell, without a body
                raise ConnectionError("unexpected RFB server message %d" % kind)

    def close(self):
        self.sock.close()

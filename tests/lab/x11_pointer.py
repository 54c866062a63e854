"""Print where the pointer of an X display is, as "X Y": run on host B (`python3 - :10 < x11_pointer.py`), where
the lab image has no xdotool and no python3-xlib, so it speaks the X11 core protocol itself over the display's
Unix socket: the connection setup (no authorization: Xdcv, the stand-in's Xvfb, runs without -auth, as x11vnc
connects) and one QueryPointer request on the first screen's root window. Standard library only."""

import socket
import struct
import sys


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the X server closed the connection")
        data += chunk
    return data


def pointer(display):
    number = display.lstrip(":").split(".")[0]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect("/tmp/.X11-unix/X%s" % number)
        # little-endian, protocol 11.0, no authorization name or data
        sock.sendall(struct.pack("<BxHHHHxx", 0x6C, 11, 0, 0, 0))
        status, _reason_length, _major, _minor, length = struct.unpack("<BBHHH", read_exactly(sock, 8))
        setup = read_exactly(sock, length * 4)
        if status != 1:
            raise ConnectionError("the X server refused the connection: %r" % setup)
        vendor_length, = struct.unpack_from("<H", setup, 16)
        formats = setup[21]
        screens_at = 32 + (vendor_length + 3) // 4 * 4 + 8 * formats
        root, = struct.unpack_from("<I", setup, screens_at)
        sock.sendall(struct.pack("<BxHI", 38, 2, root))  # QueryPointer
        reply = read_exactly(sock, 32)
        if reply[0] != 1:
            raise ConnectionError("QueryPointer failed: %r" % reply)
        x, y = struct.unpack_from("<hh", reply, 16)
        return x, y


if __name__ == "__main__":
    print("%d %d" % pointer(sys.argv[1]))

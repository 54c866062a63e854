#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect to ADDRESS:PORT, verify the server certificate against CA_FILE for NAME (strict TLS), and
optionally send one HTTP request; print one line and exit 0 when the handshake verified.

usage: tls_probe.py ADDRESS PORT NAME CA_FILE [METHOD PATH]
"""
import socket
import ssl
import sys


def main(argv):
    address, port, name, ca_file = argv[1], int(argv[2]), argv[3], argv[4]
    method, path = (argv[5], argv[6]) if len(argv) > 6 else (None, None)
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        with socket.create_connection((address, port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                status = ""
                if method:
                    request = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (
                        method, path, name, port)
                    tls.sendall(request.encode("ascii"))
                    status = tls.recv(4096).decode("latin-1").split("\r\n", 1)[0]
                print("ok %s:%d verified for %s %s" % (address, port, name, status))
                return 0
    except (OSError, ssl.SSLError) as exc:
        print("fail %s:%d for %s: %s" % (address, port, name, exc))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes that ``link_check`` runs on the host that uses a link: TLS (optionally one HTTP request on top,
optionally through an HTTP proxy), listening sockets and their processes, unit states, live config files.

Standard library only: it runs on any target python (3.6+). Every probe returns a plain dict and never
raises for a network or TLS failure: the failure is the result, classified in ``category``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import socket
import ssl
import tempfile
import time

try:
    from urllib.request import getproxies, proxy_bypass
except ImportError:  # pragma: no cover - python 2 is not a target
    getproxies = proxy_bypass = None

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import (
    ConfigFormatError, parse_java_properties)

# OpenSSL X509_V_ERR_* codes that get their own category.
_NAME_MISMATCH_CODES = (62, 64)  # host name, IP address
_UNTRUSTED_CODES = (2, 18, 19, 20, 21)
_EXPIRED_CODES = (9, 10)

_BODY_CHARS = 400
_SECRET_KEY = re.compile(r"pass|password|secret", re.I)


def _excerpt(raw):
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
    text = text.strip()
    return text[:_BODY_CHARS] + ("..." if len(text) > _BODY_CHARS else "")


def _peer_names(der):
    """SAN/CN of a certificate we could not verify (best effort: CPython's private decoder)."""
    decoder = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if der is None or decoder is None:
        return None
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(ssl.DER_cert_to_PEM_cert(der))
        decoded = decoder(path)
    except Exception:  # pylint: disable=broad-except
        return None
    finally:
        os.unlink(path)
    return _names_from_decoded(decoded)


def _names_from_decoded(decoded):
    names = [value for kind, value in decoded.get("subjectAltName", ()) if kind in ("DNS", "IP Address")]
    issuer = dict(item[0] for item in decoded.get("issuer", ()) if item)
    return {"names": names, "issuer": issuer.get("commonName", ""), "not_after": decoded.get("notAfter", "")}


def _unverified_peer(address, port, server_name, timeout):
    """Fetch the peer certificate without verifying it, only to explain a verification failure."""
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection((address, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                return _peer_names(tls.getpeercert(binary_form=True))
    except (OSError, ValueError):
        return None


def _proxy_for(host):
    """The https proxy the environment sets for ``host`` (None when none or bypassed)."""
    if getproxies is None:
        return None
    proxy = getproxies().get("https")
    if not proxy:
        return None
    try:
        if proxy_bypass(host):
            return None
    except Exception:  # pylint: disable=broad-except
        pass
    match = re.match(r"^(?:(?P<scheme>[a-z]+)://)?(?:(?P<auth>[^@/]*)@)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?",
                     proxy)
    if not match:
        return None
    return {"url": proxy, "host": match.group("host").strip("[]"), "port": int(match.group("port") or 8080),
            "auth": match.group("auth")}


def _read_http_head(sock, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _connect(address, port, timeout, use_proxy, server_name):
    """TCP connection to the target, through the environment's https proxy when asked; returns (sock, proxy)."""
    proxy = _proxy_for(server_name) if use_proxy else None
    if proxy is None:
        return socket.create_connection((address, port), timeout=timeout), None
    sock = socket.create_connection((proxy["host"], proxy["port"]), timeout=timeout)
    request = "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n" % (server_name, port, server_name, port)
    if proxy["auth"]:
        request += "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(proxy["auth"].encode()).decode()
    sock.sendall((request + "\r\n").encode("ascii"))
    head = _read_http_head(sock)
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    match = re.match(r"HTTP/\d\.\d (\d{3})", status_line)
    if not match or match.group(1) != "200":
        sock.close()
        raise ProxyRefused(proxy["url"], status_line or "no answer")
    return sock, proxy


class ProxyRefused(Exception):
    def __init__(self, proxy_url, status_line):
        super(ProxyRefused, self).__init__(status_line)
        self.proxy_url = proxy_url
        self.status_line = status_line


def _classify_os_error(error):
    if isinstance(error, socket.gaierror):
        return "dns"
    if isinstance(error, socket.timeout):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError):
        return "reset"
    return "network"


def tls_probe(host, port, server_name=None, ca_file=None, cert_file=None, key_file=None, method=None,
              path="/", headers=None, body=None, use_proxy=False, timeout=10, address=None):
    """Strict TLS to host:port for ``server_name`` against ``ca_file``; then one HTTP request if ``method``.

    Returns {"ok", "category", "error", "status", "body", "peer", "proxy"}; ``ok`` means the TLS handshake
    verified (and the request got an HTTP answer when one was asked for); the HTTP status is the caller's
    to judge.
    """
    server_name = server_name or host
    address = address or host
    port = int(port)
    result = {"host": host, "port": port, "server_name": server_name, "ca_file": ca_file, "ok": False,
              "category": None, "error": None, "status": None, "body": None, "peer": None, "proxy": None}
    if ca_file and not os.path.isfile(ca_file):
        result.update(category="ca_missing", error="CA file %s does not exist on this host" % ca_file)
        return result
    try:
        context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        if cert_file:
            context.load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as error:
        result.update(category="ca_unreadable", error="cannot load %s: %s" % (ca_file or cert_file, error))
        return result
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    sock = None
    try:
        sock, proxy = _connect(address, port, timeout, use_proxy, server_name)
        result["proxy"] = proxy["url"] if proxy else None
        tls = context.wrap_socket(sock, server_hostname=server_name)
        sock = tls
        cert = tls.getpeercert()
        result["peer"] = _names_from_decoded(cert)
        result["tls_version"] = tls.version()
        if method:
            request_headers = {"Host": "%s:%d" % (server_name, port), "Connection": "close",
                               "Content-Length": str(len(body or b""))}
            request_headers.update(headers or {})
            head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
                "%s: %s\r\n" % item for item in request_headers.items()) + "\r\n"
            tls.sendall(head.encode("latin-1") + (body or b""))
            raw = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                raw += chunk
            status_line, _sep, rest = raw.partition(b"\r\n")
            match = re.match(r"HTTP/\d\.\d (\d{3})", status_line.decode("latin-1"))
            if not match:
                result.update(category="http_garbage", error="no HTTP answer: %r" % _excerpt(raw))
                return result
            result["status"] = int(match.group(1))
            result["body"] = _excerpt(rest.partition(b"\r\n\r\n")[2])
        result["ok"] = True
        return result
    except ProxyRefused as error:
        code = re.search(r" (\d{3})", error.status_line)
        result.update(category="proxy_auth" if code and code.group(1) == "407" else "proxy_refused",
                      proxy=error.proxy_url,
                      error="the HTTP proxy %s answered %s to CONNECT" % (error.proxy_url, error.status_line))
    except ssl.SSLCertVerificationError as error:
        code = getattr(error, "verify_code", None)
        category = ("tls_hostname" if code in _NAME_MISMATCH_CODES else "tls_untrusted" if code in _UNTRUSTED_CODES
                    else "tls_expired" if code in _EXPIRED_CODES else "tls_verify")
        result.update(category=category, error=getattr(error, "verify_message", None) or str(error),
                      peer=_unverified_peer(address, port, server_name, timeout))
    except ssl.SSLError as error:
        result.update(category="tls_handshake", error=str(error))
    except (OSError, ValueError) as error:
        result.update(category=_classify_os_error(error), error=str(error) or error.__class__.__name__)
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    return result


# ------------------------------------------------------------------------------------ listening sockets

def _hex_address(text):
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
    return ip, int(port, 16)


def parse_proc_net_tcp(text):
    """Listening sockets (state 0A) from /proc/net/tcp or tcp6: [(ip, port, inode)]."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != "0A":
            continue
        ip, port = _hex_address(fields[1])
        found.append((ip, port, fields[9]))
    return found


def _socket_owners(proc="/proc"):
    owners = {}
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
            with open(os.path.join(proc, pid, "comm")) as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        links = []
        for fd in fds:
            try:
                links.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:  # closed meanwhile (e.g. the descriptor listdir itself used)
                continue
        for link in links:
            if link.startswith("socket:["):
                owners[link[8:-1]] = (int(pid), comm)
    return owners


def _parent(pid, proc):
    try:
        with open(os.path.join(proc, str(pid), "stat")) as handle:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _ancestors(pid, proc):
    chain = []
    while pid and pid > 1 and len(chain) < 32:
        pid = _parent(pid, proc)
        if pid:
            chain.append(pid)
    return chain


def listeners(proc="/proc"):
    """Every listening TCP socket with the process holding it (process known only when run as root).

    ``ancestors`` lets a caller tell whether the holder belongs to a unit whose main PID is a wrapper.
    """
    owners = _socket_owners(proc)
    found = []
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, "net", name)) as handle:
                text = handle.read()
        except OSError:
            continue
        for ip, port, inode in parse_proc_net_tcp(text):
            pid, comm = owners.get(inode, (None, None))
            found.append({"address": ip, "port": port, "pid": pid, "process": comm,
                          "ancestors": _ancestors(pid, proc) if pid else []})
    return found


# ------------------------------------------------------------------------------------ files

def read_file(path, kind="text", max_bytes=65536, pattern=None, last=5):
    """A live file as the caller needs it: text (tail), properties (secrets redacted) or matching log lines."""
    result = {"path": path, "exists": os.path.exists(path)}
    if not result["exists"]:
        return result
    try:
        with open(path, "rb") as handle:
            if kind == "log":
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 4 * max_bytes))
            data = handle.read() if kind == "log" else handle.read(max_bytes + 1)
    except OSError as error:
        result["error"] = str(error)
        return result
    text = data.decode("utf-8", "replace")
    if kind == "properties":
        try:
            values = parse_java_properties(text)[0]
        except ConfigFormatError as error:
            result["error"] = "not readable as Java properties: %s" % error
            return result
        result["properties"] = dict((key, "(secret)" if _SECRET_KEY.search(key) else value)
                                    for key, value in values.items())
    elif kind == "log":
        regex = re.compile(pattern or ".")
        result["lines"] = [line for line in text.splitlines() if regex.search(line)][-int(last):]
    else:
        result["truncated"] = len(data) > max_bytes
        result["content"] = text[:max_bytes]
    return result


def unit_state(run_command, unit):
    """systemctl's view of a unit: active state and main PID."""
    rc, out, _err = run_command(["systemctl", "show", "-p", "ActiveState", "-p", "MainPID", "-p", "LoadState",
                                 unit])
    state = {"unit": unit}
    if rc != 0:
        state["error"] = "systemctl show failed (rc %s)" % rc
        return state
    for line in out.splitlines():
        key, _sep, value = line.partition("=")
        state[key] = value
    return state


def now():
    return time.time()

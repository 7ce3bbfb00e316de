"""Which OS user owns the client end of a loopback TCP connection (Linux), for the metadata
service: a URL that leaked to another local user (a shared notebook printing `os.environ`) must
still not work for them, and loopback TCP is open to every local user.

Asked of the kernel's socket table by exact address, through sock_diag netlink (what `ss` uses,
no privilege needed, ~25 µs); `/proc/net/tcp` (a scan, milliseconds with thousands of sockets) if
netlink is unavailable. None where neither answers (other systems): the URL's secret alone guards
it there.
"""

from __future__ import annotations

import socket
import struct
import sys

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NO_COOKIE = 0xFFFFFFFF
_LOOPBACK = "127.0.0.1"


def peer_uid(peer: tuple[str, int], port: int) -> int | None:
    """The uid owning the socket `peer` connected to our `port` on 127.0.0.1, or None."""
    if peer[0] != _LOOPBACK or not sys.platform.startswith("linux"):
        return None
    try:
        return _by_netlink(peer[1], port)
    except OSError:
        return _by_proc(peer[1], port)


def _by_netlink(peer_port: int, port: int) -> int | None:
    # inet_diag_req_v2 for one socket: the client's end is (sport=peer_port, dport=port).
    address = socket.inet_aton(_LOOPBACK) + bytes(12)
    sockid = (
        struct.pack("!HH", peer_port, port)
        + address
        + address
        + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    )
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        nl.sendto(header + request, (0, 0))
        reply = nl.recv(8192)
    if len(reply) < 16 + 72 or struct.unpack_from("=H", reply, 4)[0] != _SOCK_DIAG_BY_FAMILY:
        return None  # an error reply: no such socket
    # inet_diag_msg: 4 bytes, the 48-byte sockid, expires, rqueue, wqueue, then uid.
    return int(struct.unpack_from("=I", reply, 16 + 4 + 48 + 12)[0])


def _by_proc(peer_port: int, port: int) -> int | None:
    loopback = f"{struct.unpack('=I', socket.inet_aton(_LOOPBACK))[0]:08X}"
    client, server = f"{loopback}:{peer_port:04X}", f"{loopback}:{port:04X}"
    try:
        with open("/proc/net/tcp") as table:
            for line in table:
                fields = line.split()
                if len(fields) > 7 and fields[1] == client and fields[2] == server:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None

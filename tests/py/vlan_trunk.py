#!/usr/bin/env python3
"""A userspace 802.1Q trunk: stands in for kernel VLAN devices on kernels
built without CONFIG_VLAN_8021Q (the test VM's).

  vlan_trunk.py TRUNK VID:IFACE [VID:IFACE ...]

Frames received on IFACE (untagged, e.g. one end of a veth pair whose
other end sits in a client namespace) are sent out of TRUNK with an
802.1Q tag for VID (TPID 0x8100, PCP 0). Tagged frames received on TRUNK
are untagged and sent out of the IFACE of their VID; other frames are
left to the kernel. Prints "ready" once every socket is bound, then runs
until killed.

The kernel moves a received tag into packet metadata before AF_PACKET
sees the frame, so the VID of a frame from TRUNK comes from the
PACKET_AUXDATA control message (tp_vlan_tci, TP_STATUS_VLAN_VALID), or
from the frame itself when it is still there.
"""
import select
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
PACKET_OUTGOING = 4
TPID = 0x8100


def open_raw(iface, auxdata=False):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    if auxdata:
        s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    return s


def vid_of(frame, ancdata):
    """(vid, untagged frame) of a frame read from the trunk, or None."""
    for level, kind, data in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 20:
            status, _, _, _, _, tci, _ = struct.unpack("=IIIHHHH", data[:20])
            if status & TP_STATUS_VLAN_VALID:
                return tci & 0x0FFF, frame
    if len(frame) >= 18 and struct.unpack("!H", frame[12:14])[0] == TPID:
        tci = struct.unpack("!H", frame[14:16])[0]
        return tci & 0x0FFF, frame[:12] + frame[16:]
    return None


def main(trunk_name, bindings):
    trunk = open_raw(trunk_name, auxdata=True)
    by_vid = {}
    by_fd = {}
    for b in bindings:
        vid, iface = b.split(":", 1)
        s = open_raw(iface)
        by_vid[int(vid)] = s
        by_fd[s.fileno()] = (int(vid), s)
    print("ready", flush=True)
    space = socket.CMSG_SPACE(32)
    while True:
        ready, _, _ = select.select([trunk] + [s for _, s in by_fd.values()], [], [])
        for s in ready:
            if s is trunk:
                frame, anc, _, addr = trunk.recvmsg(65536, space)
                if addr[2] == PACKET_OUTGOING:
                    continue
                tagged = vid_of(frame, anc)
                if tagged and tagged[0] in by_vid:
                    by_vid[tagged[0]].send(tagged[1])
            else:
                vid, sock = by_fd[s.fileno()]
                frame, addr = sock.recvfrom(65536)
                if addr[2] == PACKET_OUTGOING or len(frame) < 14:
                    continue
                tag = struct.pack("!HH", TPID, vid & 0x0FFF)
                trunk.send(frame[:12] + tag + frame[12:])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

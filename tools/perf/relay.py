#!/usr/bin/python3
"""A lossy link in user space: a two-port Ethernet bridge that drops IPv4 UDP at random.

  relay.py --a IF --b IF --loss 0.05 --seed 19 [--stats FILE]

The kernel's sch_netem (the usual way to drop packets) is absent on these machines, so the
bench's lossy link is a namespace of its own holding two veth ends without addresses, and this
process copying every Ethernet frame from one end to the other (AF_PACKET sockets, both
directions). Being a bridge, it is transparent: ARP, the TCP of the signalling and every ICE
candidate pass as on a cable, so the viewer's checks reach the server (and its answers the
viewer) only through here, with no address to advertise and nothing for the server to know.

Each IPv4 UDP frame (STUN, DTLS, SRTP, SRTCP: the media path, both directions) is dropped with
probability --loss, decided by a pseudo-random generator seeded with --seed (one per direction:
the same seed gives the same pattern of drops). Other frames (ARP, TCP) always pass.

The sockets use PACKET_VNET_HDR: every frame comes with its virtio-net header (checksum still
to fill in, GSO segment size) and goes out with it unchanged, so frames whose checksum the
sending veth left to "hardware", or TCP super-frames of up to 64 KiB, cross as they are, with
no checksum to recompute here.

--stats FILE is rewritten about once a second (and on exit) with the counts per direction:
{"a>b": {"frames", "udp", "dropped", "send_errors"}, "b>a": {...}, "loss", "seed"}.
Runs until SIGTERM or SIGINT.
"""
import argparse
import errno
import json
import os
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003  # <linux/if_ether.h>: every protocol
SOL_PACKET = 263  # <linux/socket.h> (Python 3.11 has no socket.SOL_PACKET)
PACKET_VNET_HDR = 15  # <linux/if_packet.h>
PACKET_IGNORE_OUTGOING = 23  # <linux/if_packet.h> (Linux 4.20): not our own sends back
VNET_HDR_LEN = 10  # sizeof(struct virtio_net_hdr), the default header PACKET_VNET_HDR adds
ETH_HLEN = 14
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
IPV4_MIN_HEADER = 20
# A GSO frame is at most 64 KiB plus its Ethernet header; with the virtio header in front.
MAX_FRAME = 65536 + ETH_HLEN + VNET_HDR_LEN
BATCH = 64  # frames taken from one port before looking at the other: neither direction starves
STATS_EVERY_S = 1.0


def open_port(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


def is_udp4(frame):
    """frame: virtio-net header, then the Ethernet frame."""
    eth = VNET_HDR_LEN
    if len(frame) < eth + ETH_HLEN + IPV4_MIN_HEADER:
        return False
    if ((frame[eth + 12] << 8) | frame[eth + 13]) != ETHERTYPE_IPV4:
        return False
    return frame[eth + ETH_HLEN + 9] == IPPROTO_UDP


class Direction:
    def __init__(self, name, src, dst, loss, seed):
        self.name, self.src, self.dst, self.loss = name, src, dst, loss
        self.rng = random.Random(seed)
        self.frames = self.udp = self.dropped = self.send_errors = 0

    def pump(self):
        for _ in range(BATCH):
            try:
                frame, addr = self.src.recvfrom(MAX_FRAME)
            except BlockingIOError:
                return
            if addr[2] == socket.PACKET_OUTGOING:  # in case the kernel lacks PACKET_IGNORE_OUTGOING
                continue
            self.frames += 1
            if is_udp4(frame):
                self.udp += 1
                if self.rng.random() < self.loss:
                    self.dropped += 1
                    continue
            try:
                self.dst.send(frame)
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN):
                    raise
                self.send_errors += 1

    def counts(self):
        return {"frames": self.frames, "udp": self.udp, "dropped": self.dropped, "send_errors": self.send_errors}


def write_stats(path, dirs, args):
    if not path:
        return
    doc = {d.name: d.counts() for d in dirs}
    doc.update({"loss": args.loss, "seed": args.seed})
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="one interface (no address)")
    ap.add_argument("--b", required=True, help="the other interface (no address)")
    ap.add_argument("--loss", type=float, required=True, help="probability that an IPv4 UDP frame is dropped")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--stats", default=None)
    args = ap.parse_args()
    if not 0.0 <= args.loss < 1.0:
        ap.error("--loss must be in [0, 1)")
    a, b = open_port(args.a), open_port(args.b)
    # one generator per direction, both from the seed: the same seed, the same drops
    dirs = [Direction("a>b", a, b, args.loss, args.seed * 2), Direction("b>a", b, a, args.loss, args.seed * 2 + 1)]
    by_fd = {a.fileno(): dirs[0], b.fileno(): dirs[1]}
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    print("relay: bridging %s <-> %s, dropping %.1f %% of IPv4 UDP frames (seed %d)" % (
        args.a, args.b, 100 * args.loss, args.seed), flush=True)
    last = 0.0
    poll = select.poll()
    for fd in by_fd:
        poll.register(fd, select.POLLIN)
    while not stop:
        try:
            ready = poll.poll(STATS_EVERY_S * 1000)
        except InterruptedError:
            continue
        for fd, _ in ready:
            by_fd[fd].pump()
        now = time.monotonic()
        if now - last >= STATS_EVERY_S:
            write_stats(args.stats, dirs, args)
            last = now
    write_stats(args.stats, dirs, args)
    print("relay: %s" % json.dumps({d.name: d.counts() for d in dirs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

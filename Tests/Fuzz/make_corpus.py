#!/usr/bin/env python3
"""Writes the seed corpora Tests/Fuzz/corpus/<target>/ from data already in the repository.

Run it from anywhere: python3 Tests/Fuzz/make_corpus.py (it replaces the corpus directories).
Sources: the SDP offers in Tests/Fixtures/, the RFC 5769 STUN vectors (as in
Tests/ICETests/StunTests.swift), the RTCP packets of Tests/RTPTests/RtcpTests.swift, and
hand-written HTTP requests, JSON, H.264 access units/RTP packets, DTLS records, Y4M files and
Authorization values. Each seed's input format is the one its target's header describes.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(HERE, "corpus")


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


SDP_FIXTURES = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".sdp"))
corpus = {}


def seed(target, name, data):
    corpus.setdefault(target, []).append((name, data))


# ---- sdp: the client offers as they are ----
for n in SDP_FIXTURES:
    seed("sdp", n[:-4], fixture(n))

# ---- json: offers wrapped the way POST /offer sends them, and other API JSON ----
for n in ["gstreamer-1.22-webrtcbin-recvonly-offer.sdp", "aiortc-1.16-recvonly-offer.sdp"]:
    seed("json", "offer-" + n.split("-")[0], json.dumps({"type": "offer", "sdp": fixture(n).decode()}).encode())
seed("json", "status", json.dumps({
    "version": "0.1.0", "source": {"state": "running", "error": None, "fps": 29.97},
    "encoder": {"frames": 1234, "idle_frames": 0, "keyframes": 3, "bitrate": 800000},
    "sessions": [{"id": "a1b2", "state": "connected", "viewers": [1, -2, 3.5e-3, 0]}],
}, separators=(",", ":")).encode())
seed("json", "escapes", b'{"error":"NO_H264","message":"tab\\t nl\\n quote\\" \\u00e9 \\ud83d\\ude00 \\/","n":[-0,1E+2,[[[{}]]]],"t":true,"f":false}')

# ---- http: control byte (bit 0 small limits, bits 1-7 chunk seed) + bytes on the wire ----
offer_body = fixture("gstreamer-1.22-webrtcbin-recvonly-offer.sdp")
seed("http", "get", b"\x00" + b"GET / HTTP/1.1\r\nHost: cam.local:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n")
seed("http", "whep-post", b"\x06" + b"POST /whep HTTP/1.1\r\nHost: cam\r\nContent-Type: application/sdp\r\n"
     + b"Content-Length: " + str(len(offer_body)).encode() + b"\r\n\r\n" + offer_body)
seed("http", "pipelined", b"\x0b" + b"GET /status HTTP/1.1\r\nHost: h\r\n\r\nOPTIONS /whep HTTP/1.1\r\nHost: h\r\n"
     + b"Origin: http://x\r\nAccess-Control-Request-Method: POST\r\n\r\nDELETE /whep/abc%20d HTTP/1.1\r\nHost: h\r\n\r\n"
     + b"PATCH /whep/1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\nGET /late HTTP/1.1\r\n\r\n")
seed("http", "expect-json", b"\x10" + b"POST /offer?x=1&y HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
     + b"Content-Type: application/json\r\nContent-Length: 29, 29\r\n\r\n{\"type\":\"offer\",\"sdp\":\"v=0\"}")
seed("http", "http10-lf", b"\x03" + b"\n\nGET http://cam:8080/status?full HTTP/1.0\nConnection: keep-alive\n\n"
     + b"OPTIONS * HTTP/1.0\n\n")
seed("http", "errors", b"\x00" + b"POST /whep HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
seed("http", "auth", b"\x01" + b"GET /status HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==\r\n"
     + b"Cookie: a=b; c=d\r\n\r\n")

# ---- stun: RFC 5769 vectors (section 2.1-2.3), and requests signed with the target's key ----
def hexbytes(s):
    return bytes.fromhex("".join(s.split()))


rfc_request = hexbytes("""
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf""")
rfc_ipv4 = hexbytes("""
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96""")
rfc_ipv6 = hexbytes("""
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c""")
KEY = b"VOkJxbRl1RmTxUk/WvJxBt"


def stun(msg_type, tid, attrs, key=KEY, fingerprint=True):
    body = b""
    for t, v in attrs:
        body += struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    if key is not None:
        head = struct.pack("!HHI", msg_type, len(body) + 24, 0x2112A442) + tid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += struct.pack("!HH", 0x0008, 20) + mac
    if fingerprint:
        head = struct.pack("!HHI", msg_type, len(body) + 8, 0x2112A442) + tid
        crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += struct.pack("!HHI", 0x8028, 4, crc)
    return struct.pack("!HHI", msg_type, len(body), 0x2112A442) + tid + body


tid = bytes(range(1, 13))
user = (0x0006, b"evtj:h6vY")
seed("stun", "rfc5769-request", rfc_request)
seed("stun", "rfc5769-ipv4-response", rfc_ipv4)
seed("stun", "rfc5769-ipv6-response", rfc_ipv6)
seed("stun", "nominating-request", stun(0x0001, tid, [user, (0x0024, b"\x6e\x7f\x1e\xff"), (0x0025, b""),
                                                    (0x802A, b"\x01\x02\x03\x04\x05\x06\x07\x08")]))
seed("stun", "unknown-attribute", stun(0x0001, tid, [user, (0x0033, b"junk"), (0x8022, b"fuzz")]))
seed("stun", "indication", stun(0x0011, tid, [], key=None))
seed("stun", "wrong-user", stun(0x0001, tid, [(0x0006, b"nope:h6vY")]))

# ---- rtcp: the packets of Tests/RTPTests/RtcpTests.swift and TransportFeedbackTests.swift ----
def be32(v):
    return struct.pack("!I", v)


sender, media = 0x11223344, 0x55667788
block1 = be32(media) + bytes([25, 0xFF, 0xFF, 0xFE]) + be32(70000) + be32(12) + be32(0x12345678) + be32(65536)
block2 = be32(9) + bytes([0, 0, 0, 5]) + be32(1) + be32(2) + be32(3) + be32(4)
cname = b"rtcam-1"
sdes = bytes([0x81, 202, 0, 4]) + be32(sender) + bytes([1, len(cname)]) + cname + b"\0\0\0"
sr = bytes([0x80, 200, 0, 6]) + be32(sender) + be32(0xE1234567) + be32(0x89ABCDEF) + be32(90000) + be32(10) + be32(12000)
seed("rtcp", "sr-sdes", sr + sdes)
seed("rtcp", "sr-blocks", bytes([0x81, 200, 0, 12]) + be32(sender) + be32(1) + be32(2) + be32(3) + be32(4) + be32(5) + block1)
seed("rtcp", "rr-two-blocks", bytes([0x82, 201, 0, 13]) + be32(sender) + block1 + block2)
seed("rtcp", "pli-padded", bytes([0xA1, 206, 0, 3]) + be32(sender) + be32(media) + bytes([0, 0, 0, 4]))
seed("rtcp", "fir", bytes([0x84, 206, 0, 6]) + be32(sender) + be32(0) + be32(media) + bytes([7, 0, 0, 0])
     + be32(media + 1) + bytes([8, 0, 0, 0]))
seed("rtcp", "remb", bytes([0x8F, 206, 0, 6]) + be32(sender) + be32(0) + b"REMB" + bytes([2, 0x0B, 0x71, 0xB0])
     + be32(media) + be32(media + 1))
seed("rtcp", "compound", bytes([0x80, 201, 0, 1]) + be32(sender)
     + bytes([0x81, 202, 0, 3]) + be32(sender) + bytes([1, 2, 0x41, 0x42, 0, 0, 0, 0])
     + bytes([0x81, 205, 0, 3]) + be32(sender) + be32(media) + bytes([0, 5, 0xFF, 0xFF])
     + bytes([0x80, 204, 0, 2]) + be32(sender) + b"NAME"
     + bytes([0x83, 205, 0, 2]) + be32(sender) + be32(media)
     + bytes([0x81, 203, 0, 1]) + be32(sender))


# transport-wide feedback (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1):
# base sequence, status count, 24-bit reference time, feedback count, chunks, deltas, padding
def twcc(base, count, ref, fb, chunks, deltas, p_bit=False):
    fci = struct.pack("!HH", base, count) + struct.pack("!I", ref)[1:] + bytes([fb])
    fci += b"".join(struct.pack("!H", c) for c in chunks) + bytes(deltas)
    pad = (4 - len(fci) % 4) % 4
    fci += bytes(pad - 1) + bytes([pad]) if p_bit and pad else bytes(pad)
    body = be32(sender) + be32(media) + fci
    return bytes([0x8F | (0x20 if p_bit and pad else 0), 205]) + struct.pack("!H", (4 + len(body)) // 4 - 1) + body


# as in Tests/RTPTests/TransportFeedbackTests.swift: run length and both status vector kinds
seed("rtcp", "twcc", twcc(65530, 20, 0xFFFFFE, 7, [0x2003, 0x0005, 0xE181, 0xAC00],
                          [4, 0, 255, 0xFE, 0x70, 10, 0x03, 0xE8, 1, 2, 3, 0]))
seed("rtcp", "twcc-long-run-padded", bytes([0x80, 201, 0, 1]) + be32(sender)
     + twcc(100, 8192, 5, 2, [0x1FFF, 0x2001], [8], p_bit=True))

# ---- h264: byte 0 = mode (see H264RtpFuzz.swift) ----
def nal(t, nri, n, fill):
    return bytes([nri << 5 | t]) + bytes((fill + i) % 251 + 2 for i in range(n - 1))


sps = bytes.fromhex("6742e01fda0280f6c05a808080a0000003002000000781e30654")  # constrained baseline 3.1, 640x480
pps = bytes.fromhex("68ce3c80")
idr = nal(5, 3, 700, 7)
slice_ = nal(1, 2, 90, 11)
annexb = b"".join(b"\0\0\0\1" + x for x in [sps, pps, idr])
seed("h264", "pack-idr", b"\x01" + bytes([100]) + annexb)  # MTU 828: IDR as FU-A
seed("h264", "pack-slice-playout", b"\x03" + bytes([0]) + b"\0\0\1" + slice_ + b"\0\0\0\1" + nal(6, 0, 9, 3) + b"\0")
seed("h264", "pack-idr-alone", b"\x01" + bytes([20]) + b"\0\0\1" + nal(5, 3, 100, 1))
seed("h264", "pack-idr-transport", b"\x05" + bytes([60]) + annexb)  # transport-wide sequence number
seed("h264", "pack-slice-both-extensions", b"\x07" + bytes([3]) + b"\0\0\1" + slice_)


def rtp(seq, ts, marker, payload, pt=102):
    return bytes([0x80, (0x80 if marker else 0) | pt]) + struct.pack("!HII", seq, ts, 0xCAFEF00D) + payload


def framed(packets):
    return b"".join(struct.pack("!H", len(p)) + p for p in packets)


stap = bytes([0x78]) + struct.pack("!H", len(sps)) + sps + struct.pack("!H", len(pps)) + pps
fu = [bytes([0x7C, 0x85]) + idr[1:300], bytes([0x7C, 0x05]) + idr[300:600], bytes([0x7C, 0x45]) + idr[600:]]
seed("h264", "depack-frames", b"\x02" + framed([rtp(1, 3000, False, stap)] + [rtp(2 + i, 3000, i == 2, f) for i, f in enumerate(fu)]
                                              + [rtp(5, 6000, True, slice_)]))
ext = bytes([0x90, 0x80 | 102]) + struct.pack("!HII", 9, 9000, 1) + bytes.fromhex("bede0001") + bytes([0x52, 0, 0, 0])
seed("h264", "depack-gap-ext-padding", b"\x00" + framed([rtp(7, 100, False, slice_), rtp(9, 100, True, slice_),
                                                       ext + slice_, bytes([0xA0, 0x80 | 102]) + struct.pack("!HII", 10, 9000, 1) + slice_ + b"\0\0\3"]))

# ---- dtls: plaintext flights and encrypted records ----
def record(ctype, epoch, seq, body, version=0xFEFD):
    return struct.pack("!BHH", ctype, version, epoch) + seq.to_bytes(6, "big") + struct.pack("!H", len(body)) + body


def handshake(htype, seq, body, offset=0, total=None):
    total = len(body) + offset if total is None else total
    return bytes([htype]) + total.to_bytes(3, "big") + struct.pack("!H", seq) + offset.to_bytes(3, "big") \
        + len(body).to_bytes(3, "big") + body


hello = struct.pack("!H", 0xFEFD) + bytes(range(32)) + b"\0" + b"\0" + struct.pack("!H", 4) + bytes.fromhex("c02bc02c") \
    + b"\1\0" + struct.pack("!H", 9) + bytes.fromhex("000e000500020001 00")
seed("dtls", "client-hello", record(22, 0, 0, handshake(1, 0, hello), version=0xFEFF))
seed("dtls", "server-flight-fragments", record(22, 0, 1, handshake(2, 0, hello[:40]) + handshake(11, 1, b"\x30" * 50, 0, 120))
     + record(22, 0, 2, handshake(11, 1, b"\x30" * 70, 50, 120) + handshake(14, 2, b"")))
seed("dtls", "ccs-finished-app", record(20, 0, 3, b"\1") + record(22, 1, 0, bytes(range(40))) + record(23, 1, 1, b"\xAA" * 30))
seed("dtls", "alert", record(21, 0, 4, b"\2\x28"))

# ---- y4m: files as the y4m: source reads them ----
def y4m(header, w, h, frames, frame_line=b"FRAME"):
    out = header + b"\n"
    for i in range(frames):
        out += frame_line + b"\n" + bytes([i * 10 % 256]) * (w * h) + bytes([i * 10 + 1]) * (w * h // 2)
    return out


seed("y4m", "16x8-3frames", y4m(b"YUV4MPEG2 W16 H8 F25:1 Ip A1:1 C420jpeg", 16, 8, 3))
seed("y4m", "frame-params", y4m(b"YUV4MPEG2 W4 H2 F30000:1001 I? C420paldv XYSCSS=420JPEG", 4, 2, 2, b"FRAME Ixyz X=1"))
seed("y4m", "truncated-last", y4m(b"YUV4MPEG2 H2 W2 C420", 2, 2, 2)[:-3])
seed("y4m", "header-only", b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420mpeg2 XCOLORRANGE=FULL\n")

# ---- auth: Authorization values and --auth-file lines ----
seed("auth", "basic-alice", b"Basic " + base64.b64encode(b"alice:correct horse"))
seed("auth", "basic-bob", b"basic  " + base64.b64encode(b"bob:battery:staple") + b" ")
seed("auth", "bearer", b"Bearer tok-123_abc.DEF~+/=")
salt = bytes(range(16))
digest = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000)
seed("auth", "hash-line", b"carol:pbkdf2-sha256:1000:" + base64.b64encode(salt) + b":" + base64.b64encode(digest))

# ---- record: byte 0 = mode (see RecordFuzz.swift) ----
def au(*nals):
    return b"".join(b"\0\0\0\1" + x for x in nals)


def frames(items):  # (keyframe, ms since the previous frame, access unit)
    return b"".join(bytes([ms << 1 | key]) + len(a).to_bytes(2, "big") + a for key, ms, a in items)


sps_high = bytes.fromhex("67640028acd940780227e5c044000003000400000300f03c60c658")  # x264 1920x1080 High
seed("record", "sps-baseline", b"\x00" + sps)
seed("record", "sps-high-cropped", b"\x00" + sps_high)
seed("record", "sps-high444-scaling", b"\x00" + bytes.fromhex("67f4001e919b281485fc7cf80880000003008000001e078b16cb"))
stream = [(1, 33, au(sps, pps, idr))] + [(0, 33, au(slice_))] * 9 + [(1, 34, au(nal(9, 0, 2, 0), sps, pps, idr))] \
    + [(0, 33, au(nal(6, 0, 9, 3), slice_))] * 4 + [(1, 33, au(sps_high, pps, idr))] + [(0, 120, au(slice_))]
seed("record", "writer-frames", b"\x02" + frames(stream))
ftyp = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso6"
tfdt = b"\0\0\0\x14tfdt\x01\0\0\0" + (0).to_bytes(8, "big")
trun = b"\0\0\0\x24trun\0\0\x07\x01\0\0\0\x01\0\0\0\x74" + (3000).to_bytes(4, "big") + (4).to_bytes(4, "big") \
    + b"\x02\0\0\0"
traf = (8 + 16 + len(tfdt) + len(trun)).to_bytes(4, "big") + b"traf" + b"\0\0\0\x10tfhd\0\x02\0\0\0\0\0\x01" + tfdt + trun
moof = (8 + 16 + len(traf)).to_bytes(4, "big") + b"moof" + b"\0\0\0\x10mfhd\0\0\0\0\0\0\0\x01" + traf
mdhd = b"\0\0\0\x20mdhd" + bytes(12) + (90000).to_bytes(4, "big") + bytes(8)
moov = (8 + 8 + 8 + len(mdhd)).to_bytes(4, "big") + b"moov" + (16 + len(mdhd)).to_bytes(4, "big") + b"trak" \
    + (8 + len(mdhd)).to_bytes(4, "big") + b"mdia" + mdhd
seed("record", "scan-file", b"\x01" + ftyp + moov + moof + b"\0\0\0\x0cmdat\0\0\0\0")
seed("record", "range-name", b"\x03\x03\xe8bytes=0-99")
seed("record", "name", b"\x03\x03\xe82026-12-06T18-46-36Z.mp4")

total = 0
for target, seeds in sorted(corpus.items()):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%-5s %2d seeds, %6d bytes" % (target, len(seeds), sum(len(x) for _, x in seeds)))
print("total %d bytes" % total)

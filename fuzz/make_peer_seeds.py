#!/usr/bin/env python3
"""Write fuzz/corpus/fuzz_peer/: scripts of operations for fuzz_peer.c.

    fuzz/make_peer_seeds.py [OUT_DIR]      (default: fuzz/corpus/fuzz_peer)

Each seed is a session between the fuzzed peer (A) and its live partner (B)
in fuzz_peer's operation language (see the comment at the top of
fuzz_peer.c): complete handshakes either way round, then DCEP messages,
channel data of every PPID, raw SCTP chunks, corrupted SCTP packets,
impaired handshakes, stray datagrams, clock jumps and API calls. Running
fuzz_peer over them with PM_FUZZ_RECORD set records the seeds of the other
targets (fuzz/README.md).
"""
import os
import struct
import sys

A_OFFERS, A_CHANNEL, B_CHANNEL, NEGOTIATED = 1, 2, 4, 8
FROM_A, FROM_B = 0, 1  # datagram direction for DROP/DUP/FLIP


def u16(v):
    return struct.pack(">H", v & 0xFFFF)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def op(code, arg=0):
    return bytes([(arg & 15) << 4 | code])


def step(tens_of_ms=0):
    return op(0, tens_of_ms)


def settle(n=12):
    return step(5) * n


def drop(direction):
    return op(1, direction)


def dup(direction):
    return op(2, direction)


def flip(direction, pos, xor):
    return op(3, direction) + u16(pos) + bytes([xor])


def raw(data, from_b=True):
    return op(4, 1 if from_b else 0) + u16(len(data)) + data


def sctp(chunks):
    return op(5) + u16(len(chunks)) + chunks


def msg(sid, ppid_sel, data, raw_ppid=None):
    sel = bytes([ppid_sel])
    extra = u16(raw_ppid) if raw_ppid is not None else b""
    return op(6) + u16(sid) + sel + extra + u16(len(data)) + data


def mutate(pos, xor):
    return op(7) + u16(pos) + bytes([xor])


def api(side_b, sub, chan=0, operands=b""):
    return op(9 if side_b else 8, sub) + bytes([chan]) + operands


def create(side_b, label, flags=1, value=0):
    return api(side_b, 0, 0, bytes([flags, value, len(label)]) + label)


def send(side_b, chan, length, data=b""):
    return api(side_b, 1, chan, u16(length // 2) + data)


def clock(ms):
    return op(10) + u16(ms)


def cand(line):
    return op(11) + bytes([len(line)]) + line


# PPID selectors of fuzz_peer.c: 50 DCEP, 51 string, 53 binary, 56/57 empty
# string/binary, 52/54 deprecated partial forms; >= 224 reads a raw PPID.
DCEP, STRING, BINARY, STRING_EMPTY, BINARY_EMPTY, STRING_PARTIAL, BINARY_PARTIAL = range(7)
RAW_PPID = 0xE0


def dcep_open(label=b"x", protocol=b"", ctype=0, priority=0, reliability=0, label_len=None,
              protocol_len=None):
    return (bytes([3, ctype]) + u16(priority) + u32(reliability) +
            u16(len(label) if label_len is None else label_len) +
            u16(len(protocol) if protocol_len is None else protocol_len) + label + protocol)


def chunk(ctype, flags, body):
    c = bytes([ctype, flags]) + u16(4 + len(body)) + body
    return c + b"\0" * (-len(c) % 4)


def data_chunk(tsn, sid, ssn, ppid, payload, flags=3):
    return chunk(0, flags, u32(tsn) + u16(sid) + u16(ssn) + u32(ppid) + payload)


def seeds():
    hs = {
        "handshake-a-offers": A_OFFERS | A_CHANNEL,
        "handshake-b-offers": B_CHANNEL,
        "handshake-negotiated": A_OFFERS | NEGOTIATED,
        "handshake-all-channels": A_OFFERS | A_CHANNEL | B_CHANNEL | NEGOTIATED,
    }
    out = {name: bytes([h]) + settle() for name, h in hs.items()}
    base = bytes([A_OFFERS | A_CHANNEL | NEGOTIATED]) + settle()
    both = bytes([A_OFFERS | A_CHANNEL | B_CHANNEL | NEGOTIATED]) + settle()

    # Channel data both ways, every size class and write mode.
    out["data-both-ways"] = both + send(False, 0, 1200, b"hello") + send(True, 1, 0) + \
        send(True, 0, 65536) + api(False, 4, 0, b"\x01") + send(False, 0, 10, b"text") + settle(4)
    out["data-large"] = base + send(False, 0, 262144) + send(False, 1, 70000) + settle(8)
    out["channels-new-after-connect"] = base + create(False, b"late", 1) + \
        create(True, b"lossy", 4, 0) + create(False, b"ttl", 8, 5) + \
        create(True, b"neg", 3, 9) + create(False, b"neg", 3, 9) + settle(6)
    out["channels-close-release"] = both + api(False, 2, 0) + api(True, 2, 1) + settle(3) + \
        api(False, 3, 1) + api(True, 3, 0) + settle(3) + api(False, 6) + settle(3)
    out["threshold"] = base + api(False, 5, 0, u16(10)) + send(False, 0, 60000) + settle(4)

    # DCEP from the partner's SCTP stack, well formed and not.
    for name, opens in [
        ("dcep-open-kinds", [(2, dcep_open(b"remote", b"chat")), (4, dcep_open(b"u", b"", 0x81, 0, 3)),
                             (6, dcep_open(b"t", b"p", 0x02, 256, 500)),
                             (8, dcep_open("ü✓".encode(), "✓".encode())),
                             (22, dcep_open(b"a-rather-long-label-for-a-data-channel", b"x" * 300))]),
        ("dcep-open-malformed", [(10, dcep_open(b"abc", b"de", label_len=40)), (12, dcep_open()[:9]),
                                 (14, dcep_open(b"q", ctype=0x7F)), (20, b"")]),
        ("dcep-open-on-open-stream", [(1, dcep_open(b"again"))]),
        ("dcep-ack-and-unknown", [(16, b"\x02"), (18, b"\x07\x00")]),
    ]:
        out[name] = base + b"".join(msg(sid, DCEP, payload) + step(1) for sid, payload in opens) + \
            settle(3) + send(False, 1, 8)
    out["dcep-open-then-data"] = base + msg(2, DCEP, dcep_open(b"r")) + step(1) + \
        msg(2, BINARY, b"data") + msg(2, STRING, b"text") + msg(2, STRING_EMPTY, b"\0") + \
        msg(2, BINARY_EMPTY, b"\0") + settle(3)

    # Channel data of every PPID, on known and unknown streams.
    ppids = b"".join(msg(sid, sel, b"payload")
                     for sid in (1, 5, 99) for sel in range(7)) + msg(1, RAW_PPID, b"x", 0x1234)
    out["messages-every-ppid"] = base + ppids + settle(3)
    out["messages-unordered"] = base + msg(1, BINARY | 0x80, b"u" * 300) + settle(2)

    # Raw SCTP chunks from the partner (A's tag, valid CRC).
    tsn = 0x10000000
    for name, packets in [
        ("sctp-data", [data_chunk(tsn, 1, 0, 53, b"stray"),
                       data_chunk(tsn, 1, 9, 53, b"a", 2) + data_chunk(tsn + 2, 1, 9, 53, b"c", 1),
                       chunk(64, 3, u32(tsn) + u16(1) + u16(0) + u32(0) + u32(53) + b"i")]),
        ("sctp-control", [chunk(3, 0, u32(0) + u32(65536) + u16(1) + u16(0) + u16(2) + u16(3)),
                          chunk(4, 0, u16(1) + u16(8) + b"beat"),
                          chunk(9, 0, u16(1) + u16(8) + u16(1) + u16(0))]),
        ("sctp-forward-tsn", [chunk(192, 0, u32(tsn + 100) + u16(1) + u16(3))]),
        ("sctp-reconfig", [chunk(130, 0, u16(13) + u16(16) + u32(1) + u32(0) + u32(tsn) + u16(1) + u16(0)),
                           chunk(130, 0, u16(17) + u16(12) + u32(2) + u16(10) + u16(0))]),
        ("sctp-unknown-and-malformed", [chunk(0xC7, 0, b"????"), chunk(0x27, 0, b""),
                                        bytes([0, 3, 0xFF, 0xF0]) + b"\0" * 12, b""]),
        ("sctp-init-again", [chunk(1, 0, u32(1) + u32(65536) + u16(10) + u16(10) + u32(7))]),
        ("sctp-shutdown", [chunk(7, 0, u32(0))]),
        ("sctp-abort", [chunk(6, 0, u16(13) + u16(4))]),
    ]:
        out[name] = base + b"".join(sctp(c) + step(1) for c in packets) + settle(3)

    # Corrupted SCTP packets inside valid DTLS records.
    out["mutate-sctp"] = base + b"".join(mutate(p, 0x80) + send(False, 0, 100) + step(1)
                                         for p in (0, 1, 3, 5, 13, 17, 20)) + settle(3)
    out["mutate-dcep-open"] = bytes([A_OFFERS | B_CHANNEL]) + step(0) * 3 + \
        b"".join(mutate(p, 0x41) + step(0) for p in range(8)) + settle()

    # An impaired handshake: loss, duplicates, corruption.
    out["handshake-lossy"] = bytes([A_OFFERS | A_CHANNEL]) + \
        b"".join(drop(d) + step(2) for d in (FROM_A, FROM_B, FROM_A, FROM_B)) + settle()
    out["handshake-duplicates"] = bytes([A_CHANNEL | B_CHANNEL]) + \
        b"".join(dup(d) + step(0) for d in (FROM_A, FROM_B) * 4) + settle()
    out["handshake-flips"] = bytes([A_OFFERS | A_CHANNEL]) + \
        b"".join(flip(d, p, 0x10) + step(0) for d in (FROM_A, FROM_B) for p in (0, 13, 25, 60)) + \
        settle()

    # Stray datagrams: STUN, DTLS records, TURN channel data, RTP; from the
    # partner's address and from a stranger's.
    stun = u16(1) + u16(0) + u32(0x2112A442) + b"\x01" * 12
    strays = [stun, u16(0x0101) + stun[2:],
              bytes([21, 0xFE, 0xFD, 0, 1]) + b"\0" * 6 + u16(2) + b"\x02\x28",
              bytes([23, 0xFE, 0xFD, 0, 1]) + b"\0" * 6 + u16(40) + b"\x55" * 40,
              bytes([22, 0xFE, 0xFD, 0, 0]) + b"\0" * 6 + u16(12) + b"\x01" * 12,
              bytes([0x40, 0x00]) + u16(4) + b"data", bytes([0x80, 96]) + b"\0" * 10]
    out["raw-datagrams"] = base + b"".join(raw(d) + raw(d, from_b=False) + step(1) for d in strays) + \
        settle(2)
    out["raw-dtls-alert"] = base + raw(strays[2]) + settle(2)
    out["raw-before-connecting"] = bytes([A_OFFERS | A_CHANNEL]) + \
        raw(bytes([22, 0xFE, 0xFD]) + b"\0" * 20) + raw(stun) + settle()

    # Time: consent expiry, and timers long after the handshake.
    out["clock-consent-expiry"] = base + b"".join(drop(FROM_B) * 8 + clock(6000) for _ in range(7)) + \
        settle(2)
    out["clock-idle"] = base + clock(20000) + settle(2) + send(False, 0, 100) + settle(2)

    # Remote candidates for A: valid, unsupported, malformed.
    out["candidates"] = bytes([A_OFFERS | A_CHANNEL]) + step(0) + \
        cand(b"candidate:1 1 udp 1 127.0.0.2 5002 typ host") + \
        cand(b"candidate:2 1 tcp 1 127.0.0.2 9 typ host tcptype active") + \
        cand(b"candidate:3 1 udp 1 x.local 5002 typ host") + \
        cand(b"candidate:4 1 udp 1 ::1 5002 typ srflx raddr ::1 rport 1") + cand(b"garbage") + \
        cand(b"") + settle()
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_peer")
    os.makedirs(out_dir, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print(f"make_peer_seeds: {len(seeds())} seeds in {out_dir}")


if __name__ == "__main__":
    main()

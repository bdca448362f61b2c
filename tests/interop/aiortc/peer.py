#!/usr/bin/python3
"""aiortc-peer: peermesh's interop reference peer on aiortc 1.4.0 (Debian python3-aiortc).

Speaks the peer interface of tests/interop (see tests/interop/README.md): JSON
signaling lines on stdin/stdout, JSON event lines on stderr, exit status
0 success, 1 failure, 2 --timeout, 64 usage error.

Run it with Debian's /usr/bin/python3: that is where python3-aiortc lives.
"""
import argparse
import asyncio
import json
import os
import sys
import time
import zlib

T0 = time.monotonic()

try:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp
except ImportError as missing:  # reported as a failure, not a crash
    sys.stderr.write(f"aiortc-peer: {missing} (install python3-aiortc, run with /usr/bin/python3)\n")
    sys.exit(1)

EXIT_OK, EXIT_FAIL, EXIT_TIMEOUT, EXIT_USAGE = 0, 1, 2, 64
HIGH_WATER = 1 << 20  # sender flow control: pause above this bufferedAmount...
LOW_WATER = 256 << 10  # ...and resume once drained to this
IDLE_LIMIT = 2.0  # s after the last send/reply: lossy channels dropped the rest
CLOSE_WAIT = 2.0  # s a closing peer waits for the remote to reset its streams
# Godot's WebRTCMultiplayerPeer layout: kind -> (stream id, ordered, lossy)
GODOT = {"reliable": (1, True, False), "ordered": (2, True, True), "unreliable": (3, False, True)}


def _loopback_only(use_ipv4, use_ipv6):
    # aioice gathers every interface address except 127.0.0.1; we want the
    # opposite: the tests run on loopback and must not touch anything else.
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = _loopback_only


def now_ms():
    return round((time.monotonic() - T0) * 1000, 1)


def log(text):
    sys.stderr.write(f"[aiortc {now_ms():8.1f}ms] {text}\n")
    sys.stderr.flush()


def event(name, **fields):
    sys.stderr.write(json.dumps({"event": name, **fields, "ms": now_ms()}) + "\n")
    sys.stderr.flush()


def signal(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def nbytes(data):
    return len(data.encode()) if isinstance(data, str) else len(data)


class Channel:
    """An open data channel and its counters."""

    def __init__(self, dc):
        self.dc = dc
        self.strict = dc.ordered and dc.maxRetransmits is None and dc.maxPacketLifeTime is None
        self.sent = 0
        self.replies = 0  # send mode: replies checked; otherwise messages received
        self.bytes = 0
        self.drained = asyncio.Event()
        self.closed = False


class Peer:
    def __init__(self, opts):
        self.o = opts
        self.period, self.c0 = (95, 32) if opts.text else (256, 0)
        raw = bytes(self.c0 + k % self.period for k in range(max(opts.sizes) + self.period))
        self.pattern = raw.decode("ascii") if opts.text else raw
        self.pc = RTCPeerConnection()  # no ICE servers: host candidates only
        self.chans = []
        self.expected = 0
        self.remote_set = False
        self.held_remote = []
        self.first_send = self.last_activity = self.last_reply = 0.0
        self.done = asyncio.get_running_loop().create_future()  # -> exit status
        self.dtls = None  # watched once a channel is open
        self.tasks = set()

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def size(self, i):
        return self.o.sizes[i % len(self.o.sizes)]

    def message(self, i):
        off = i % self.period
        return self.pattern[off:off + self.size(i)]

    # --- setup and signaling -------------------------------------------------

    async def run(self):
        o, pc = self.o, self.pc

        @pc.on("connectionstatechange")
        def on_state():
            log(f"peer connection {pc.connectionState}")
            if pc.connectionState == "failed":
                self.fail("peer connection failed")
            elif pc.connectionState == "closed" and (o.echo or o.sink):
                self.receiver_done()

        if o.channels:
            lifetime = 1 if o.max_packet_lifetime is None else o.max_packet_lifetime  # Godot: 1 ms
            for kind in o.channels:
                sid, ordered, lossy = GODOT[kind]
                self.create(kind, ordered=ordered, negotiated=True, id=sid,
                            maxPacketLifeTime=lifetime if lossy else None, protocol=o.protocol)
        elif o.negotiated or o.offer:
            self.create(o.label, ordered=not o.unordered, maxRetransmits=o.max_retransmits,
                        maxPacketLifeTime=o.max_packet_lifetime, negotiated=o.negotiated,
                        id=o.id if o.negotiated else None, protocol=o.protocol)
        else:  # in-band answerer: accept the first channel offered
            self.expected = 1
            pc.on("datachannel", self.watch)

        if o.offer:
            await pc.setLocalDescription(await pc.createOffer())
            self.send_description()
        self.spawn(self.read_signaling())
        return await self.done

    def create(self, label, **init):
        dc = self.pc.createDataChannel(label, **init)
        self.expected += 1
        self.watch(dc)

    def send_description(self):
        # aiortc gathers before it returns from setLocalDescription and puts
        # every candidate in the SDP; it never trickles. Still say "done".
        desc = self.pc.localDescription
        signal({"type": desc.type, "sdp": desc.sdp})
        signal({"type": "candidate", "candidate": "", "sdpMid": self.pc.sctp.mid})

    async def read_signaling(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=4 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                return  # stdin closed; the test may still finish
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                kind = msg.get("type")
            except (ValueError, AttributeError):
                log(f"ignoring bad signaling line {line[:120]!r}")
                continue
            try:
                await self.on_signal(kind, msg)
            except Exception as e:  # noqa: BLE001 - any failure here ends the test
                self.fail(f"signaling {kind}: {e!r}")

    async def on_signal(self, kind, msg):
        if kind in ("offer", "answer"):
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type=kind))
            if kind == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                self.send_description()
            self.remote_set = True
            held, self.held_remote = self.held_remote, []
            for m in held:
                await self.add_remote_candidate(m)
        elif kind == "candidate":
            if self.remote_set:
                await self.add_remote_candidate(msg)
            else:
                self.held_remote.append(msg)
        else:
            log(f"ignoring signaling message of type {kind!r}")

    async def add_remote_candidate(self, msg):
        sctp = self.pc.sctp
        text = (msg.get("candidate") or "").strip()
        if text.startswith("candidate:"):
            text = text[len("candidate:"):]
        ice = sctp.transport.transport
        if not text:
            # aiortc's addIceCandidate has no end-of-candidates form in 1.4.0.
            await ice.addRemoteCandidate(None)
            return
        cand = candidate_from_sdp(text)
        cand.sdpMid = sctp.mid  # one bundled transport; the mid can only mean it
        await ice.addRemoteCandidate(cand)

    # --- channels -------------------------------------------------------------

    def watch(self, dc):
        if dc.readyState == "open":  # remote channels arrive already open
            self.opened(dc)
        else:
            dc.once("open", lambda: self.opened(dc))

    def opened(self, dc):
        if any(c.dc is dc for c in self.chans):
            return
        event("open", label=dc.label, id=dc.id, ordered=dc.ordered, maxRetransmits=dc.maxRetransmits,
              maxPacketLifeTime=dc.maxPacketLifeTime, negotiated=dc.negotiated, protocol=dc.protocol)
        ch = Channel(dc)
        self.chans.append(ch)
        if self.dtls is None:
            # aiortc's connectionState stays "connected" when the remote ends
            # DTLS (close_notify); its DTLS transport does report it.
            self.dtls = dc.transport.transport
            self.dtls.on("statechange", self.on_dtls_state)
        dc.bufferedAmountLowThreshold = LOW_WATER
        dc.on("bufferedamountlow", ch.drained.set)
        dc.on("message", lambda data: self.on_message(ch, data))
        dc.on("close", lambda: self.on_close(ch))
        if len(self.chans) == self.expected:
            self.begin()

    def begin(self):
        o = self.o
        if o.send:
            self.first_send = self.last_activity = time.monotonic()
            for ch in self.chans:
                self.spawn(self.send_loop(ch))
            self.spawn(self.idle_watch())
        elif not (o.echo or o.sink):
            self.finish(EXIT_OK, ok=True, mode="connect")

    async def send_loop(self, ch):
        for i in range(self.o.send):
            msg = self.message(i)
            if ch.dc.bufferedAmount and ch.dc.bufferedAmount + nbytes(msg) > HIGH_WATER:
                while ch.dc.bufferedAmount > LOW_WATER:
                    ch.drained.clear()
                    try:
                        await asyncio.wait_for(ch.drained.wait(), 0.05)
                    except asyncio.TimeoutError:
                        pass
            if self.done.done():
                return
            if ch.dc.readyState != "open":
                return self.fail(f"channel {ch.dc.label!r} closed while sending")
            ch.dc.send(msg)
            ch.sent += 1
            ch.bytes += nbytes(msg)
            self.last_activity = time.monotonic()
            if i % 8 == 7:
                await asyncio.sleep(0)  # let the SCTP transport run

    def on_message(self, ch, data):
        o = self.o
        if self.done.done():
            return
        if o.echo:
            ch.dc.send(data)
        elif o.sink:
            raw = data.encode() if isinstance(data, str) else data
            ch.dc.send(f"ack:{len(raw)}:{zlib.crc32(raw):08x}")
        if not o.send:
            ch.replies += 1
            ch.bytes += nbytes(data)
            return
        problem = self.check_reply(ch, data)
        if problem:
            return self.fail(f"channel {ch.dc.label!r} reply {ch.replies}: {problem}")
        ch.replies += 1
        self.last_reply = self.last_activity = time.monotonic()
        if all(c.replies == o.send for c in self.chans):
            self.finish_send()

    def crc(self, i):
        msg = self.message(i)
        return zlib.crc32(msg.encode() if isinstance(msg, str) else msg)

    def ack_matches(self, ch, k, n, crc):
        """The CRC of message k (strict channel), else of some message sent so far
        (sizes and pattern offsets repeat after len(sizes) x period messages)."""
        if ch.strict:
            return self.size(k) == n and self.crc(k) == crc
        return any(self.size(i) == n and self.crc(i) == crc
                   for i in range(min(ch.sent, len(self.o.sizes) * self.period)))

    def check_reply(self, ch, data):
        """An echo (same type and bytes) or the string "ack:<bytes>:<crc32>"."""
        k, is_str = ch.replies, isinstance(data, str)
        ack = is_str and data.startswith("ack:")
        if ack:
            try:
                size, crc = data[4:].split(":")
                if len(crc) != 8:
                    raise ValueError(crc)
                n, crc = int(size), int(crc, 16)
            except ValueError:
                return f"bad ack {data[:40]!r}"
            if not self.ack_matches(ch, k, n, crc):
                return f"ack {data[:40]!r} matches no message sent"
        elif is_str != self.o.text:
            return f"got a {'string' if is_str else 'binary'} message"
        else:
            n = nbytes(data)
        if ch.strict and n != self.size(k):
            return f"{n} bytes, expected {self.size(k)}"
        if n not in self.o.sizes:
            return f"{n} bytes is no size we sent"
        if ack or n == 0:
            return None
        first = ord(data[0]) if is_str else data[0]
        off = k % self.period if ch.strict else first - self.c0
        if not 0 <= off < self.period or data != self.pattern[off:off + n]:
            return "payload differs from what was sent"
        return None

    async def idle_watch(self):
        while not self.done.done():
            await asyncio.sleep(0.05)
            waiting = any(c.sent < self.o.send or (c.strict and c.replies < c.sent) for c in self.chans)
            if not waiting and time.monotonic() - self.last_activity > IDLE_LIMIT:
                self.finish_send()

    def progress(self):
        return [{"label": c.dc.label, "sent": c.sent, "replies": c.replies, "lost": c.sent - c.replies}
                for c in self.chans]

    def finish_send(self):
        problems = [f"{c.dc.label!r} lost {c.sent - c.replies} of {c.sent} messages on a reliable channel"
                    for c in self.chans if c.strict and c.replies < c.sent]
        total = sum(c.bytes for c in self.chans)
        elapsed = self.last_reply - self.first_send if self.last_reply else 0.0
        fields = dict(ok=not problems, mode="send", messages=sum(c.sent for c in self.chans),
                      replies=sum(c.replies for c in self.chans), bytes=total, elapsed_ms=round(elapsed * 1000, 1))
        if elapsed > 0:
            fields["mb_per_s"] = round(total / elapsed / 1e6, 2)
        fields["channels"] = self.progress()
        if problems:
            fields["error"] = "; ".join(problems)
        self.finish(EXIT_FAIL if problems else EXIT_OK, **fields)

    def on_close(self, ch):
        ch.closed = True
        log(f"channel {ch.dc.label!r} closed")
        if self.done.done():
            return
        if self.o.send:
            self.fail(f"channel {ch.dc.label!r} closed before the test ended")
        elif len(self.chans) == self.expected and all(c.closed for c in self.chans):
            self.receiver_done()

    def on_dtls_state(self):
        state = self.dtls.state
        log(f"dtls {state}")
        if state not in ("closed", "failed") or self.done.done():
            return
        if self.o.echo or self.o.sink:
            self.receiver_done()
        else:
            self.fail(f"DTLS {state} before the test ended")

    def receiver_done(self):
        if self.o.echo or self.o.sink:
            self.finish(EXIT_OK, ok=True, mode="echo" if self.o.echo else "sink",
                        messages=sum(c.replies for c in self.chans), bytes=sum(c.bytes for c in self.chans))

    def fail(self, error):
        self.finish(EXIT_FAIL, ok=False, error=error)

    def finish(self, code, **fields):
        if not self.done.done():
            event("result", **fields)
            self.done.set_result(code)

    async def close(self):
        """Reset our streams, give the remote a moment to reset its side, close."""
        for c in self.chans:
            if c.dc.readyState not in ("closing", "closed"):
                c.dc.close()
        deadline = time.monotonic() + CLOSE_WAIT
        while time.monotonic() < deadline and not all(c.dc.readyState == "closed" for c in self.chans):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # let the last SCTP packets out
        await self.pc.close()


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    ap = Parser(prog="aiortc-peer", description="aiortc reference peer for the peermesh interop tests")
    role = ap.add_mutually_exclusive_group(required=True)
    role.add_argument("--offer", action="store_true", help="create the channel(s) and the offer")
    role.add_argument("--answer", action="store_true", help="wait for an offer")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--echo", action="store_true", help="send every message back")
    mode.add_argument("--sink", action="store_true", help='answer every message with "ack:<bytes>:<crc32>"')
    mode.add_argument("--send", type=int, default=0, metavar="N", help="send N messages per channel")
    ap.add_argument("--size", default="1200", help="message sizes in bytes, comma separated, used in turn")
    ap.add_argument("--text", action="store_true", help="send string messages")
    ap.add_argument("--label", default="data")
    ap.add_argument("--protocol", default="", help="channel sub-protocol")
    ap.add_argument("--unordered", action="store_true")
    rel = ap.add_mutually_exclusive_group()
    rel.add_argument("--max-retransmits", type=int, metavar="K")
    rel.add_argument("--max-packet-lifetime", type=int, metavar="MS")
    chans = ap.add_mutually_exclusive_group()
    chans.add_argument("--negotiated", action="store_true", help="negotiated channel (no DCEP), needs --id")
    chans.add_argument("--channels", help="Godot channels: reliable,ordered,unreliable")
    ap.add_argument("--id", type=int)
    ap.add_argument("--timeout", type=float, default=30)
    o = ap.parse_args(argv)
    try:
        o.sizes = [int(s) for s in o.size.split(",")]
    except ValueError:
        raise UsageError(f"bad --size {o.size!r}") from None
    if any(s < 0 for s in o.sizes) or o.send < 0:
        raise UsageError("sizes and counts cannot be negative")
    if o.negotiated and (o.id is None or not 0 <= o.id <= 65534):
        raise UsageError("--negotiated needs --id 0..65534")
    if o.channels:
        o.channels = o.channels.split(",")
        if any(k not in GODOT for k in o.channels):
            raise UsageError(f"--channels takes a list of {','.join(GODOT)}")
    for v in (o.max_retransmits, o.max_packet_lifetime):
        if v is not None and not 0 <= v <= 65535:
            raise UsageError("reliability parameters must be 0..65535")
    if o.timeout <= 0:
        raise UsageError("--timeout must be positive")
    return o


async def main(opts):
    peer = Peer(opts)

    def timed_out():
        event("result", ok=False, error="timeout", channels=peer.progress())
        sys.stderr.flush()
        os._exit(EXIT_TIMEOUT)  # whatever state asyncio is in

    asyncio.get_running_loop().call_later(opts.timeout, timed_out)
    try:
        code = await peer.run()
    except Exception as e:  # noqa: BLE001 - setup failures are test failures
        peer.fail(f"{e!r}")
        code = EXIT_FAIL
    await peer.close()
    return code


if __name__ == "__main__":
    try:
        options = parse_args(sys.argv[1:])
    except UsageError as e:
        sys.stderr.write(f"aiortc-peer: {e}\n")
        sys.exit(EXIT_USAGE)
    sys.exit(asyncio.run(main(options)))

#!/usr/bin/env python3
"""pair.py: run two WebRTC data-channel peers against each other and judge the result.

    pair.py [--timeout S] [--grace S] [-q] [--no-netns] [--loss PCT] [--expect JSON]... [--silent-lossy-ok] "PEER A COMMAND" "PEER B COMMAND"

Both commands speak the peer interface of tests/interop/README.md. Every
signaling line a peer writes on stdout is relayed to the other peer's stdin;
each peer's stderr is shown (prefixed "[A ...]" / "[B ...]") and scanned for
JSON event lines. The pairing PASSES when

  * both peers exit 0 (and report a result event, none with "ok": false),
  * both opened channels, with the same set of stream ids on both sides,
  * both sides agree on each channel's label, ordered, maxRetransmits,
    maxPacketLifeTime, negotiated and protocol,
  * each --expect object (fields of an open event; it names its channel by
    "id" if it has one, else by "label") matches an open channel on each
    side: so the side that received a channel reports what its creator set,
    whatever both sides agree on, and
  * a sender's result shows replies on every channel it sent on (a lossy
    channel may lose messages, not all of them; --silent-lossy-ok waives
    that for partially reliable channels, for a reference peer known to
    abandon whole bursts).

stderr ends with a verdict line ("pair: PASS (...)" / "pair: FAIL: ...");
stdout gets exactly one JSON summary line. Exit status 0 = pass, 1 = fail,
64 = usage error.

The peers run in a fresh network namespace whose only interface is loopback
(pair.py re-executes itself under `unshare --net`, adding --map-root-user when
not root, and brings lo up), so 127.0.0.1 is the only usable address and no
packet can leave the machine. If namespaces are unavailable it warns and runs
in the host's namespace ("netns": false in the summary).

--loss PCT drops that share of the UDP datagrams delivered in the namespace
(both directions, handshakes included) with an iptables "statistic" rule;
it needs the namespace and iptables, and exits 77 (skip) without them.
"""
import argparse
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

SIGNALING_TYPES = ("offer", "answer", "candidate")
AGREED_KEYS = ("label", "ordered", "maxRetransmits", "maxPacketLifeTime", "negotiated", "protocol")
NETNS_ENV = "PM_PAIR_IN_NETNS"


class Peer:
    """One peer process plus everything learned from its output."""

    def __init__(self, name, command):
        self.name, self.command = name, command
        self.lock = threading.Lock()
        self.opens = []  # open events (+ "t_ms": driver time, "at": monotonic)
        self.results = []  # result events
        self.problems = []  # interface violations seen by the driver
        self.tail = []  # last stderr lines, shown on failure in quiet mode
        self.answer_sent_at = None
        self.killed = False
        self.started = time.monotonic()
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)

    def elapsed_ms(self):
        return (time.monotonic() - self.started) * 1000

    def running(self):
        return self.proc.poll() is None

    def terminate(self):
        """Stop the peer and anything it started (its own process group)."""
        self.killed = True
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 2)):
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


class Output:
    """Serialises log lines from the relay/watch threads."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.lock = threading.Lock()

    def line(self, text):
        if not self.quiet:
            with self.lock:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()


def relay(src, dst, out):
    """Forward src's signaling lines to dst, checking that they are signaling."""
    for raw in src.proc.stdout:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            continue
        try:
            msg = json.loads(text)
            kind = msg.get("type") if isinstance(msg, dict) else None
        except ValueError:
            kind = None
        if kind not in SIGNALING_TYPES:
            with src.lock:
                src.problems.append(f"non-signaling line on stdout: {text[:160]}")
            continue
        if kind == "answer" and src.answer_sent_at is None:
            src.answer_sent_at = time.monotonic()
        if kind == "candidate":
            what = msg.get("candidate") or "(end of candidates)"
        else:
            what = f"{len(msg.get('sdp') or '')} bytes of SDP"
        out.line(f"[{src.name}>{dst.name} {src.elapsed_ms():8.1f}ms] {kind}: {what}")
        try:
            dst.proc.stdin.write((json.dumps(msg) + "\n").encode())
            dst.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # dst is gone; its exit status tells the story


def watch(peer, out):
    """Echo peer's stderr and collect its JSON events."""
    for raw in peer.proc.stderr:
        text = raw.decode("utf-8", "replace").rstrip()
        t = peer.elapsed_ms()
        out.line(f"[{peer.name} {t:8.1f}ms] {text}")
        with peer.lock:
            peer.tail = (peer.tail + [text])[-60:]
        if not text.startswith("{"):
            continue
        try:
            ev = json.loads(text)
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        with peer.lock:
            if ev.get("event") == "open":
                peer.opens.append(dict(ev, t_ms=t, at=time.monotonic()))
            elif ev.get("event") == "result":
                peer.results.append(ev)


def check_expected(p, expected):
    """Every expected channel is open on p with exactly the expected fields."""
    errors = []
    for want in expected:
        key = "id" if "id" in want else "label"
        matches = [o for o in p.opens if o.get(key) == want[key]]
        if not matches:
            errors.append(f"{p.name} opened no channel with {key} {want[key]!r}")
        for o in matches:
            wrong = [f"{k} {o.get(k)!r} (expected {v!r})" for k, v in want.items() if o.get(k) != v]
            if wrong:
                errors.append(f"{p.name} channel {o.get('id')}: " + ", ".join(wrong))
    return errors


def check_replies(p, silent_lossy_ok):
    """A sender got replies on every channel it sent on."""
    errors = []
    lossy = {o.get("label") for o in p.opens
             if o.get("maxRetransmits") is not None or o.get("maxPacketLifeTime") is not None}
    for r in p.results:
        if r.get("mode") != "send" or r.get("ok") is not True:
            continue
        chans = r.get("channels")
        if not isinstance(chans, list) or len(chans) != len(p.opens):
            errors.append(f"{p.name}'s result lists {len(chans or [])} channels, {len(p.opens)} opened")
            continue
        errors += [f"{p.name}: channel {c.get('label')!r}: no reply to any of {c.get('sent')} messages"
                   for c in chans
                   if not c.get("replies") and not (silent_lossy_ok and c.get("label") in lossy)]
    return errors


def judge(a, b, driver_errors, expected=(), silent_lossy_ok=False):
    errors = list(driver_errors)
    for p in (a, b):
        rc = p.proc.returncode
        if rc != 0 and not p.killed:
            errors.append(f"{p.name} exited with status {rc}")
        if not p.opens:
            errors.append(f"{p.name} opened no channel")
        if not p.results:
            errors.append(f"{p.name} reported no result")
        errors += [f"{p.name} failed: {r.get('error', 'ok is not true')}" for r in p.results if r.get("ok") is not True]
        errors += [f"{p.name}: {e}" for e in p.problems]
        ids = [o.get("id") for o in p.opens]
        if len(ids) != len(set(map(str, ids))):
            errors.append(f"{p.name} reported a channel id twice: {ids}")
        errors += check_expected(p, expected)
        errors += check_replies(p, silent_lossy_ok)
    by_id = [{str(o.get("id")): o for o in p.opens} for p in (a, b)]
    for cid in sorted(set(by_id[0]) | set(by_id[1])):
        if cid not in by_id[0] or cid not in by_id[1]:
            side = a.name if cid in by_id[0] else b.name
            errors.append(f"channel id {cid} open on {side} only")
            continue
        for key in AGREED_KEYS:
            va, vb = by_id[0][cid].get(key), by_id[1][cid].get(key)
            if va != vb:
                errors.append(f"channel {cid}: {key} differs (A {va!r}, B {vb!r})")
    return errors


def summarize(a, b, errors, netns):
    summary = {"ok": not errors, "errors": errors, "netns": netns}
    opened = []
    for p in (a, b):
        last_open = max((o["t_ms"] for o in p.opens), default=None)
        opened.append(last_open)
        summary[p.name] = {
            "cmd": p.command,
            "rc": p.proc.returncode,
            "channels": [{k: o.get(k) for k in ("id",) + AGREED_KEYS} for o in p.opens],
            "open_ms": round(last_open, 1) if last_open is not None else None,
            "result": p.results[-1] if p.results else None,
        }
    # connect: process start -> every channel open (on the slower side)
    summary["connect_ms"] = round(max(opened), 1) if None not in opened else None
    answered = next((p.answer_sent_at for p in (a, b) if p.answer_sent_at), None)
    if answered and None not in opened:
        all_open = max(o["at"] for p in (a, b) for o in p.opens)
        summary["handshake_ms"] = round((all_open - answered) * 1000, 1)
    else:
        summary["handshake_ms"] = None
    sender = next((r for p in (a, b) for r in p.results if r.get("mode") == "send"), None)
    if sender:
        summary["throughput"] = {k: sender.get(k) for k in
                                 ("messages", "replies", "bytes", "elapsed_ms", "mb_per_s", "channels")}
    return summary


def run_pair(cmd_a, cmd_b, timeout, grace, quiet, netns, expected=(), silent_lossy_ok=False):
    out = Output(quiet)
    peers = []
    try:
        for name, cmd in (("A", cmd_a), ("B", cmd_b)):
            peers.append(Peer(name, cmd))
    except (OSError, ValueError) as e:
        for p in peers:
            p.terminate()
        error = f"cannot start peer {'AB'[len(peers)]}: {e}"
        sys.stderr.write(f"pair: FAIL: {error}\n")
        print(json.dumps({"ok": False, "errors": [error], "netns": netns}), flush=True)
        return 1
    a, b = peers

    def on_signal(signum, _frame):
        for p in peers:
            if p.running():
                p.terminate()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=relay, args=(a, b, out), daemon=True),
               threading.Thread(target=relay, args=(b, a, out), daemon=True),
               threading.Thread(target=watch, args=(a, out), daemon=True),
               threading.Thread(target=watch, args=(b, out), daemon=True)]
    for t in threads:
        t.start()

    driver_errors = []
    deadline = time.monotonic() + timeout
    first_exit = None
    while any(p.running() for p in peers):
        now = time.monotonic()
        if first_exit is None:
            first_exit = next((p for p in peers if not p.running()), None)
            if first_exit is not None and now + grace < deadline:
                deadline = now + grace  # the other one has this long to follow
        if now >= deadline:
            if first_exit is not None:
                driver_errors.append(f"{first_exit.name} exited, the other peer was still running {grace:g} s later")
            else:
                driver_errors.append(f"pairing timed out after {timeout:g} s")
            break
        time.sleep(0.02)
    for p in peers:
        if p.running():
            driver_errors.append(f"{p.name} killed")
            p.terminate()
        try:
            p.proc.stdin.close()
        except OSError:
            pass
    for t in threads:
        t.join(2)

    errors = judge(a, b, driver_errors, expected, silent_lossy_ok)
    summary = summarize(a, b, errors, netns)
    if errors and quiet:
        for p in peers:
            for text in p.tail:
                sys.stderr.write(f"[{p.name}] {text}\n")
    tput = summary.get("throughput") or {}
    extra = ""
    if tput.get("mb_per_s"):
        extra = f", {tput['mb_per_s']:.2f} MB/s over {tput.get('elapsed_ms') or 0:.0f} ms"
    verdict = "PASS" if not errors else "FAIL: " + "; ".join(errors)
    sys.stderr.write(f"pair: {verdict} (connect {summary['connect_ms']} ms, "
                     f"handshake {summary['handshake_ms']} ms{extra})\n")
    sys.stderr.flush()
    print(json.dumps(summary), flush=True)
    return 0 if not errors else 1


def loopback_up():
    """Bring lo up in the namespace we are in: `ip link set lo up`, else ioctl."""
    if shutil.which("ip"):
        if subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True).returncode == 0:
            return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, req))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


SKIP = 77


def add_loss(pct):
    """Drop `pct` percent of the UDP datagrams in this (private) namespace."""
    why = None
    if not shutil.which("iptables"):
        why = "iptables is not installed"
    else:
        rule = ["iptables", "-A", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random",
                "--probability", f"{pct / 100:.6f}", "-j", "DROP"]
        r = subprocess.run(rule, capture_output=True, text=True)
        if r.returncode != 0:
            why = f"iptables failed: {r.stderr.strip()}"
    if why:
        sys.stderr.write(f"pair: SKIP: cannot drop {pct}% of datagrams: {why}\n")
        print(json.dumps({"ok": False, "skipped": True, "errors": [why], "netns": True}), flush=True)
        sys.exit(SKIP)


def enter_netns(loss):
    """Re-run pair.py in a new network namespace; return False to stay in the host's."""
    if os.environ.get(NETNS_ENV) == "1":
        try:
            loopback_up()
        except OSError as e:
            sys.stderr.write(f"pair: FAIL: cannot bring lo up in the new network namespace: {e}\n")
            print(json.dumps({"ok": False, "errors": [f"cannot bring lo up: {e}"], "netns": True}), flush=True)
            sys.exit(1)
        if loss:
            add_loss(loss)
        return True
    cmd = ["unshare", "--net"]
    if os.geteuid() != 0:
        cmd.append("--map-root-user")  # an unprivileged user namespace grants CAP_NET_ADMIN there
    try:
        probe = subprocess.run(cmd + ["true"], capture_output=True, text=True)
        reason = probe.stderr.strip() or f"status {probe.returncode}"
        usable = probe.returncode == 0
    except OSError as e:
        usable, reason = False, str(e)
    if not usable:
        if loss:
            sys.stderr.write(f"pair: SKIP: --loss needs a network namespace ({reason})\n")
            print(json.dumps({"ok": False, "skipped": True, "errors": [reason], "netns": False}),
                  flush=True)
            sys.exit(SKIP)
        sys.stderr.write(f"pair: WARNING: cannot create a network namespace ({reason}); "
                         "running the peers in the host's network namespace\n")
        return False
    argv = cmd + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
    os.execvpe(argv[0], argv, dict(os.environ, **{NETNS_ENV: "1"}))
    return False  # not reached


def main():
    ap = argparse.ArgumentParser(description="Pair two WebRTC data-channel peers and judge the outcome.")
    ap.add_argument("cmd_a", metavar="CMD_A", help="peer A command line (normally the --offer side)")
    ap.add_argument("cmd_b", metavar="CMD_B", help="peer B command line")
    ap.add_argument("--timeout", type=float, default=60, help="kill both peers after S seconds (60)")
    ap.add_argument("--grace", type=float, default=10,
                    help="once one peer exits, the other must exit within S seconds (10)")
    ap.add_argument("-q", "--quiet", action="store_true", help="show the peers' output only on failure")
    ap.add_argument("--no-netns", action="store_true", help="stay in the host's network namespace")
    ap.add_argument("--loss", type=float, default=0, metavar="PCT",
                    help="drop PCT percent of the UDP datagrams (needs the namespace and iptables)")
    ap.add_argument("--expect", action="append", default=[], metavar="JSON",
                    help='a channel both sides must open with these fields, e.g. '
                         '\'{"label":"x","ordered":false,"protocol":"p"}\' (repeatable)')
    ap.add_argument("--silent-lossy-ok", action="store_true",
                    help="a partially reliable channel may get no reply at all "
                         "(Chromium with 1 ms lifetimes abandons whole bursts)")
    try:
        args = ap.parse_args()
        expected = [json.loads(e) for e in args.expect]
        if not all(isinstance(e, dict) and ("id" in e or "label" in e) for e in expected):
            ap.error("--expect takes a JSON object with an \"id\" or a \"label\"")
    except ValueError as e:
        sys.stderr.write(f"pair.py: --expect: {e}\n")
        sys.exit(64)
    except SystemExit as e:
        sys.exit(64 if e.code else 0)
    if args.loss and args.no_netns:
        sys.stderr.write("pair: --loss needs the network namespace\n")
        sys.exit(64)
    netns = False if args.no_netns else enter_netns(args.loss)
    sys.exit(run_pair(args.cmd_a, args.cmd_b, args.timeout, args.grace, args.quiet, netns, expected,
                      args.silent_lossy_ok))


if __name__ == "__main__":
    main()

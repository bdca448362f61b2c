// The WebRTC half of the Chromium interop peer; runs in the page (page.html).
// peer.js calls start(config) once, then onSignal(message) for every
// signaling line, and reads everything we report through the `hostEmit`
// binding: a JSON array [kind, data] with kind one of
//   'signal' (a line for stdout), 'event' (a JSON event for stderr),
//   'log' (a text line for stderr), 'exit' (status code; we are done).
'use strict';

const HIGH_WATER = 1 << 20;  // sender flow control: pause above this bufferedAmount...
const LOW_WATER = 256 << 10; // ...and resume once drained to this
const IDLE_LIMIT_MS = 2000;  // after the last send/reply: lossy channels dropped the rest
const CLOSE_WAIT_MS = 2000;  // how long we wait for the remote to reset its streams
// Godot's WebRTCMultiplayerPeer layout: kind -> [stream id, ordered, lossy]
const GODOT = { reliable: [1, true, false], ordered: [2, true, true], unreliable: [3, false, true] };

const report = (kind, data) => hostEmit(JSON.stringify([kind, data]));
const log = (text) => report('log', String(text));

let conf = null;
let pc = null;
let period = 256, c0 = 0;
let patternBytes = null, patternText = '';
const chans = [];
let expected = 0;
let finished = false;
let localDescSent = false, remoteDescSet = false;
const heldLocal = [], heldRemote = [];
let signalChain = Promise.resolve();
let firstSend = 0, lastActivity = 0, lastReply = 0;

const sizeOf = (i) => conf.sizes[i % conf.sizes.length];
const byteLength = (d) => (typeof d === 'string' ? new TextEncoder().encode(d).length : d.byteLength);

function message(i) {
  const off = i % period, n = sizeOf(i);
  return conf.text ? patternText.slice(off, off + n) : patternBytes.slice(off, off + n);
}

async function start(config) {
  conf = config;
  if (conf.text) [period, c0] = [95, 32];
  const maxSize = Math.max(...conf.sizes);
  patternBytes = new Uint8Array(maxSize + period);
  for (let k = 0; k < patternBytes.length; k++) patternBytes[k] = c0 + (k % period);
  if (conf.text) patternText = new TextDecoder().decode(patternBytes); // printable ASCII: 1 char = 1 byte

  // Chromium gathers loopback candidates (with --allow-loopback-in-peer-connection)
  // and shows real host addresses only to a page that holds a media
  // permission; the fake device grants one. --mdns: no permission, so host
  // candidates carry ".local" names (Chromium's default).
  if (!conf.mdns) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    stream.getTracks().forEach((t) => t.stop());
    log('media permission granted');
  }

  pc = new RTCPeerConnection({ iceServers: conf.iceServers, iceTransportPolicy: conf.relayOnly ? 'relay' : 'all' });
  pc.onicecandidate = onLocalCandidate;
  pc.onicecandidateerror = (e) => report('event', { event: 'ice_candidate_error', url: e.url,
    error_code: e.errorCode, error_text: e.errorText });
  pc.oniceconnectionstatechange = () => {
    log('ice ' + pc.iceConnectionState);
    if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') notePair();
  };
  pc.onconnectionstatechange = () => {
    log('peer connection ' + pc.connectionState);
    if (pc.connectionState === 'failed') fail('peer connection failed');
  };

  if (conf.channels) {
    const lifetime = conf.maxPacketLifeTime ?? 1; // Godot's default
    for (const kind of conf.channels) {
      const [id, ordered, lossy] = GODOT[kind];
      const init = { negotiated: true, id, ordered, protocol: conf.protocol };
      if (lossy) init.maxPacketLifeTime = lifetime;
      create(kind, init);
    }
  } else if (conf.negotiated || conf.offer) {
    const init = { ordered: !conf.unordered, protocol: conf.protocol };
    if (conf.maxRetransmits != null) init.maxRetransmits = conf.maxRetransmits;
    if (conf.maxPacketLifeTime != null) init.maxPacketLifeTime = conf.maxPacketLifeTime;
    if (conf.negotiated) Object.assign(init, { negotiated: true, id: conf.id });
    create(conf.label, init);
  } else {
    expected = 1; // in-band answerer: accept the first channel offered
    pc.ondatachannel = (e) => watch(e.channel);
  }
  if (conf.offer) {
    await pc.setLocalDescription(await pc.createOffer());
    sendDescription();
  }
}

function currentMid() {
  const m = pc.localDescription && /^a=mid:(\S+)/m.exec(pc.localDescription.sdp);
  return m ? m[1] : '0';
}

function onLocalCandidate(e) {
  let msg;
  if (!e.candidate) {
    msg = { type: 'candidate', candidate: '', sdpMid: currentMid() }; // gathering complete
  } else {
    if (!e.candidate.candidate) return; // a per-transport end marker; the null event follows
    // Signal UDP only, and host candidates only of the address the test
    // gave (127.0.0.1 by default; --bind; ".local" names with --mdns):
    // the tests must not involve other interfaces.
    const f = e.candidate.candidate.split(' ');
    if (f.length < 8 || f[2].toLowerCase() !== 'udp') return;
    if (f[7] === 'host') {
      const want = conf.bind === 'any' || f[4] === (conf.bind ?? '127.0.0.1') ||
        (conf.mdns && f[4].endsWith('.local'));
      if (!want) return;
    }
    msg = { type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid };
  }
  if (localDescSent) report('signal', msg);
  else heldLocal.push(msg);
}

function sendDescription() {
  const d = pc.localDescription;
  report('signal', { type: d.type, sdp: d.sdp });
  localDescSent = true;
  heldLocal.splice(0).forEach((m) => report('signal', m));
}

// Signaling messages are handled strictly one after another.
function onSignal(msg) {
  signalChain = signalChain.then(() => handleSignal(msg)).catch((e) => fail(`signaling ${msg.type}: ${e}`));
}

async function handleSignal(msg) {
  if (finished) return;
  if (msg.type === 'offer' || msg.type === 'answer') {
    await pc.setRemoteDescription({ type: msg.type, sdp: msg.sdp });
    if (msg.type === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      sendDescription();
    }
    remoteDescSet = true;
    for (const m of heldRemote.splice(0)) await addRemoteCandidate(m);
  } else if (msg.type === 'candidate') {
    if (remoteDescSet) await addRemoteCandidate(msg);
    else heldRemote.push(msg);
  } else {
    log(`ignoring signaling message of type ${JSON.stringify(msg.type)}`);
  }
}

function addRemoteCandidate(msg) {
  let text = msg.candidate || '';
  if (text && !text.startsWith('candidate:')) text = 'candidate:' + text;
  const init = { candidate: text };
  if (msg.sdpMid != null) init.sdpMid = msg.sdpMid;
  else init.sdpMLineIndex = msg.sdpMLineIndex ?? 0;
  return pc.addIceCandidate(init);
}

function create(label, init) {
  expected++;
  watch(pc.createDataChannel(label, init));
}

function watch(dc) {
  if (dc.readyState === 'open') opened(dc);
  else dc.addEventListener('open', () => opened(dc), { once: true });
}

function opened(dc) {
  if (chans.some((c) => c.dc === dc)) return;
  report('event', { event: 'open', label: dc.label, id: dc.id, ordered: dc.ordered,
                    maxRetransmits: dc.maxRetransmits, maxPacketLifeTime: dc.maxPacketLifeTime,
                    negotiated: dc.negotiated, protocol: dc.protocol });
  const ch = { dc, sent: 0, replies: 0, bytes: 0, closed: false, wake: null,
               strict: dc.ordered && dc.maxRetransmits == null && dc.maxPacketLifeTime == null };
  chans.push(ch);
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = LOW_WATER;
  dc.onbufferedamountlow = () => ch.wake && ch.wake();
  dc.onmessage = (e) => onMessage(ch, e.data);
  dc.onclose = () => onClose(ch);
  if (chans.length === expected) begin();
}

function begin() {
  if (conf.send > 0) {
    firstSend = lastActivity = performance.now();
    chans.forEach(sendLoop);
    idleWatch();
  } else if (!conf.echo && !conf.sink) {
    finish(0, { ok: true, mode: 'connect' });
  }
}

async function sendLoop(ch) {
  for (let i = 0; i < conf.send; i++) {
    const msg = message(i);
    const n = byteLength(msg);
    if (ch.dc.bufferedAmount > 0 && ch.dc.bufferedAmount + n > HIGH_WATER) {
      while (ch.dc.bufferedAmount > LOW_WATER && !finished) {
        await new Promise((resume) => { ch.wake = resume; setTimeout(resume, 50); });
      }
    }
    if (finished) return;
    if (ch.dc.readyState !== 'open') return fail(`channel '${ch.dc.label}' closed while sending`);
    try {
      ch.dc.send(msg);
    } catch (e) {
      return fail(`send #${i} (${n} bytes) on '${ch.dc.label}': ${e}`);
    }
    ch.sent++;
    ch.bytes += n;
    lastActivity = performance.now();
  }
}

function onMessage(ch, data) {
  if (finished) return;
  try {
    if (conf.echo) ch.dc.send(data);
    else if (conf.sink) ch.dc.send(ackOf(data));
  } catch (e) {
    return fail(`reply on '${ch.dc.label}': ${e}`);
  }
  if (!(conf.send > 0)) {
    ch.replies++;
    ch.bytes += byteLength(data);
    return;
  }
  const problem = checkReply(ch, data);
  if (problem) return fail(`channel '${ch.dc.label}' reply ${ch.replies}: ${problem}`);
  ch.replies++;
  lastReply = lastActivity = performance.now();
  if (chans.every((c) => c.replies === conf.send)) finishSend();
}

// CRC-32 (as zlib's crc32) of a message's bytes (a string's UTF-8 bytes).
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let b = 0; b < 8; b++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data) {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const ackOf = (data) => `ack:${byteLength(data)}:${crc32(data).toString(16).padStart(8, '0')}`;

// An ack answers message k on a strict channel, else some message sent so far
// (sizes and pattern offsets repeat after sizes.length x period messages).
function ackMatches(ch, k, ack) {
  if (ch.strict) return ackOf(message(k)) === ack;
  for (let i = 0; i < ch.sent && i < conf.sizes.length * period; i++) {
    if (ackOf(message(i)) === ack) return true;
  }
  return false;
}

// A reply is an echo (same type and bytes) or the string "ack:<bytes>:<crc32>".
function checkReply(ch, data) {
  const k = ch.replies, isString = typeof data === 'string';
  const ack = isString && data.startsWith('ack:');
  let n;
  if (ack) {
    if (!/^ack:\d+:[0-9a-f]{8}$/.test(data)) return `bad ack ${JSON.stringify(data.slice(0, 40))}`;
    if (!ackMatches(ch, k, data)) return `ack ${JSON.stringify(data)} matches no message sent`;
    n = Number(data.split(':')[1]);
  } else if (isString !== !!conf.text) {
    return `got a ${isString ? 'string' : 'binary'} message`;
  } else {
    n = byteLength(data);
  }
  if (ch.strict && n !== sizeOf(k)) return `${n} bytes, expected ${sizeOf(k)}`;
  if (!conf.sizes.includes(n)) return `${n} bytes is no size we sent`;
  if (ack || n === 0) return null;
  const bytes = isString ? null : new Uint8Array(data);
  const first = isString ? data.charCodeAt(0) : bytes[0];
  const off = ch.strict ? k % period : first - c0;
  if (off < 0 || off >= period) return 'payload differs from what was sent';
  if (isString) return data === patternText.slice(off, off + n) ? null : 'payload differs from what was sent';
  for (let j = 0; j < n; j++) if (bytes[j] !== patternBytes[off + j]) return 'payload differs from what was sent';
  return null;
}

function idleWatch() {
  const timer = setInterval(() => {
    if (finished) return clearInterval(timer);
    const waiting = chans.some((c) => c.sent < conf.send || (c.strict && c.replies < c.sent));
    if (!waiting && performance.now() - lastActivity > IDLE_LIMIT_MS) {
      clearInterval(timer);
      finishSend();
    }
  }, 50);
}

function progress() {
  return chans.map((c) => ({ label: c.dc.label, sent: c.sent, replies: c.replies, lost: c.sent - c.replies }));
}

function finishSend() {
  const problems = chans.filter((c) => c.strict && c.replies < c.sent)
    .map((c) => `'${c.dc.label}' lost ${c.sent - c.replies} of ${c.sent} messages on a reliable channel`);
  const bytes = chans.reduce((s, c) => s + c.bytes, 0);
  const elapsed = lastReply ? lastReply - firstSend : 0;
  const ev = { ok: !problems.length, mode: 'send', messages: chans.reduce((s, c) => s + c.sent, 0),
               replies: chans.reduce((s, c) => s + c.replies, 0), bytes,
               elapsed_ms: Math.round(elapsed * 10) / 10 };
  if (elapsed > 0) ev.mb_per_s = Math.round(bytes / elapsed / 10) / 100; // bytes/ms -> MB/s
  ev.channels = progress();
  if (problems.length) ev.error = problems.join('; ');
  finish(problems.length ? 1 : 0, ev);
}

function onClose(ch) {
  ch.closed = true;
  log(`channel '${ch.dc.label}' closed`);
  if (finished) return;
  if (conf.send > 0) return fail(`channel '${ch.dc.label}' closed before the test ended`);
  if ((conf.echo || conf.sink) && chans.length === expected && chans.every((c) => c.closed)) {
    finish(0, { ok: true, mode: conf.echo ? 'echo' : 'sink', messages: chans.reduce((s, c) => s + c.replies, 0),
                bytes: chans.reduce((s, c) => s + c.bytes, 0) });
  }
}

function fail(error) {
  finish(1, { ok: false, error: String(error) });
}

// The selected candidate pair (README "Events"), remembered: closing forgets it.
let pairInfo = {};
async function notePair() {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
  if (!pair) return;
  const l = stats.get(pair.localCandidateId), r = stats.get(pair.remoteCandidateId);
  if (!l || !r) return;
  pairInfo = { local_candidate_type: l.candidateType, remote_candidate_type: r.candidateType,
    local_candidate: `${l.address ?? l.ip}:${l.port}`, remote_candidate: `${r.address ?? r.ip}:${r.port}` };
  if (l.candidateType === 'relay' && l.relayProtocol) pairInfo.relay_protocol = l.relayProtocol;
  log(`selected pair ${pairInfo.local_candidate_type} ${pairInfo.local_candidate} -> ` +
      `${pairInfo.remote_candidate_type} ${pairInfo.remote_candidate}`);
}

// Report once; reset our streams, give the remote a moment to reset its side,
// close the connection and tell peer.js to exit.
async function finish(code, fields) {
  if (finished) return;
  finished = true;
  if (pc && !pairInfo.local_candidate_type) await notePair().catch(() => {});
  report('event', { event: 'result', ...fields, ...pairInfo });
  chans.forEach((c) => c.dc.readyState === 'open' && c.dc.close());
  const until = performance.now() + CLOSE_WAIT_MS;
  while (performance.now() < until && !chans.every((c) => c.dc.readyState === 'closed')) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50)); // let the last packets out
  if (pc) pc.close();
  report('exit', code);
}

// The browser member of tests/godot3/mesh.sh, driven by
// tests/signal-chromium/driver.js: a Godot 4 web-export-like peer in the
// page (the signaling demo's 4.x JSON protocol, Godot's three negotiated
// channels, binary messages) joining the lobby of Godot 3.2 processes on
// the peermesh add-on and a C node.
//
// Query: signal=ws://..., lobby=NAME, peers=N (links to expect), burst=K.
// Reports (through driver.js's `report` binding): "ID W <id>", "READY" once
// N peers have all three channels open, "RPC <name> <from>" for every Godot
// 3.2 RPC ping("from-<name>") on the reliable channel, "SENT" after the
// bursts (gate "send"), "UNREL <from> <paced> <burst>" (gate "report"), "GONE <id>" and
// "RESULT ok" once peer 1 has left.
//
// The unreliable and ordered channels use the standard maxPacketLifeTime
// key with Godot's default of 1 ms (what Godot meant to ask for); raw
// packets are Godot 3.2 MultiplayerAPI RAW commands: [4]["U"][id u32][seq u32].
'use strict';

const T = { JOIN: 0, ID: 1, PEER_CONNECT: 2, PEER_DISCONNECT: 3, OFFER: 4, ANSWER: 5, CANDIDATE: 6, SEAL: 7 };
const CHANNELS = [
  ['reliable', { negotiated: true, id: 1 }],
  ['ordered', { negotiated: true, id: 2, maxPacketLifeTime: 1 }],
  ['unreliable', { negotiated: true, id: 3, ordered: false, maxPacketLifeTime: 1 }],
];
const q = new URLSearchParams(location.search);
const want = Number(q.get('peers') || 4);
const burst = Number(q.get('burst') || 200);
const log = (text) => report('LOG ' + text);
let ws = null;
let myId = 0;
const peers = new Map(); // id -> {pc, chans: {label: channel}, open, gone}
const unrel = new Map(); // sender -> [paced, burst]
let ready = false;
let sent = false;
let done = false;

function finish(result) {
  if (done) return;
  done = true;
  report('RESULT ' + result);
}

function send(type, id, data) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, id, data }));
}

function openLinks() {
  let n = 0;
  for (const p of peers.values()) if (p.open === CHANNELS.length && !p.gone) n++;
  return n;
}

function checkReady() {
  if (!ready && openLinks() >= want) {
    ready = true;
    report('READY');
  }
}

// A Godot 3.2 RPC packet: command 0, the method name "ping" and its String
// argument "from-<name>" somewhere after it.
function onReliable(id, bytes) {
  if (bytes.length < 1 || bytes[0] !== 0) return;
  const text = new TextDecoder('latin1').decode(bytes);
  if (!text.includes('ping\0')) return;
  const m = /from-([A-Za-z0-9]+)/.exec(text);
  if (m) report(`RPC ${m[1]} ${id}`);
}

function onUnreliable(id, bytes) {
  if (bytes.length >= 10 && bytes[0] === 4 && (bytes[1] === 85 || bytes[1] === 86)) {
    if (!unrel.has(id)) unrel.set(id, [0, 0]);
    unrel.get(id)[bytes[1] - 85]++;
  }
}

function gone(id) {
  const p = peers.get(id);
  if (!p || p.gone) return;
  p.gone = true;
  report('GONE ' + id);
  if (id === 1 && sent) finish('ok');
}

function addPeer(id) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const p = { pc, chans: {}, open: 0, gone: false };
  peers.set(id, p);
  pc.onicecandidate = (ev) => {
    if (ev.candidate && ev.candidate.candidate) {
      send(T.CANDIDATE, id, `\n${ev.candidate.sdpMid}\n${ev.candidate.sdpMLineIndex}\n${ev.candidate.candidate}`);
    }
  };
  pc.onconnectionstatechange = () => {
    log(`peer ${id}: ${pc.connectionState}`);
    if (['closed', 'failed'].includes(pc.connectionState)) gone(id);
  };
  for (const [label, opts] of CHANNELS) {
    const ch = pc.createDataChannel(label, opts);
    ch.binaryType = 'arraybuffer';
    ch.onopen = () => {
      p.open++;
      checkReady();
    };
    ch.onclose = () => gone(id);
    ch.onmessage = (ev) => {
      if (typeof ev.data === 'string') return;
      const bytes = new Uint8Array(ev.data);
      if (label === 'reliable') onReliable(id, bytes);
      else if (label === 'unreliable') onUnreliable(id, bytes);
    };
    p.chans[label] = ch;
  }
  if (id < myId) {
    pc.createOffer().then((o) => pc.setLocalDescription(o)).then(() => send(T.OFFER, id, pc.localDescription.sdp))
      .catch((e) => finish('fail offer: ' + e));
  }
}

function sendRaw(kind, seq) {
  const pkt = new Uint8Array(32);
  const view = new DataView(pkt.buffer);
  pkt[0] = 4;
  pkt[1] = kind;
  view.setUint32(2, myId, true);
  view.setUint32(6, seq, true);
  for (const p of peers.values()) {
    const ch = p.chans.unreliable;
    if (!p.gone && ch.readyState === 'open') ch.send(pkt);
  }
}

async function sendBurst() {
  for (let seq = 0; seq < burst; seq++) {
    sendRaw(85, seq); // "U": a few per frame, as a game would
    if (seq % 10 === 9) await new Promise((r) => setTimeout(r, 1));
  }
  for (let seq = 0; seq < burst; seq++) sendRaw(86, seq); // "V": then all at once
  sent = true;
  report('SENT');
}

window.onGate = (name) => {
  if (name === 'send' && ready && !sent) sendBurst().catch((e) => finish('fail send: ' + e));
  if (name === 'report') for (const [id, n] of unrel) report(`UNREL ${id} ${n[0]} ${n[1]}`);
};

async function onMessage(ev) {
  const m = JSON.parse(ev.data);
  switch (m.type) {
    case T.ID:
      myId = m.id;
      report(`ID W ${myId}`);
      break;
    case T.JOIN:
      break;
    case T.PEER_CONNECT:
      addPeer(m.id);
      break;
    case T.PEER_DISCONNECT:
      gone(m.id);
      break;
    case T.OFFER:
    case T.ANSWER: {
      const p = peers.get(m.id);
      if (!p) return;
      await p.pc.setRemoteDescription({ type: m.type === T.OFFER ? 'offer' : 'answer', sdp: m.data });
      if (m.type === T.OFFER) {
        await p.pc.setLocalDescription(await p.pc.createAnswer());
        send(T.ANSWER, m.id, p.pc.localDescription.sdp);
      }
      break;
    }
    case T.CANDIDATE: {
      const p = peers.get(m.id);
      const parts = m.data.split('\n').filter((s) => s.length > 0);
      if (p && parts.length === 3) {
        await p.pc.addIceCandidate({ sdpMid: parts[0], sdpMLineIndex: parseInt(parts[1], 10), candidate: parts[2] });
      }
      break;
    }
    default:
      break;
  }
}

async function start() {
  // Chromium offers loopback host candidates only to a page holding a media
  // permission (the fake UI grants it).
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  stream.getTracks().forEach((t) => t.stop());
  ws = new WebSocket(q.get('signal'));
  let chain = Promise.resolve();
  ws.onopen = () => send(T.JOIN, 0, q.get('lobby') || '');
  ws.onmessage = (ev) => { chain = chain.then(() => onMessage(ev)).catch((e) => finish('fail ' + e)); };
  ws.onclose = (ev) => log(`signaling closed ${ev.code} ${ev.reason}`); // the mesh stays
}

start().catch((e) => finish('fail ' + e));

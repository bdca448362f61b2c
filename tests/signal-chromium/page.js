// A Godot 4 web-export-like peer in the page: the signaling demo's 4.x JSON
// protocol over a WebSocket, and Godot's WebRTC mesh layout (negotiated
// channels 1 "reliable", 2 "ordered", 3 "unreliable", binary messages).
//
// It creates a mesh lobby (so it is peer 1) and reports "LOBBY <name>".
// Every announced peer gets an RTCPeerConnection; by the 4.x rule the peer
// with the higher id offers, so the C peers offer and we answer. When the
// reliable channel to a peer opens we send it "hello from chromium"; we
// expect "hello from C" back. The test passes when one C peer came, did all
// that, and left (PEER_DISCONNECT). Everything is reported through the
// `report` binding of driver.js.
'use strict';

const T = { JOIN: 0, ID: 1, PEER_CONNECT: 2, PEER_DISCONNECT: 3, OFFER: 4, ANSWER: 5, CANDIDATE: 6, SEAL: 7 };
const CHANNELS = [
  ['reliable', { negotiated: true, id: 1 }],
  ['ordered', { negotiated: true, id: 2, maxPacketLifeTime: 1 }],
  ['unreliable', { negotiated: true, id: 3, ordered: false, maxPacketLifeTime: 1 }],
];

const log = (text) => report('LOG ' + text);
let ws = null;
let myId = 0;
let lobby = '';
const peers = new Map(); // id -> {pc, chans, opened, helloIn, came, left}
let done = false;

function fail(why) {
  if (done) return;
  done = true;
  report('RESULT fail ' + why);
}

function send(type, id, data) {
  ws.send(JSON.stringify({ type, id, data }));
}

function check() {
  if (done) return;
  for (const [id, p] of peers) {
    if (p.helloIn && p.open === 3 && p.left) {
      done = true;
      report(`RESULT ok lobby=${lobby} id=${myId} peer=${id} channels=${p.open} hello="${p.helloIn}" came and left`);
      return;
    }
  }
}

function addPeer(id) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const p = { pc, chans: [], open: 0, helloIn: '', left: false };
  peers.set(id, p);
  pc.onicecandidate = (ev) => {
    if (ev.candidate && ev.candidate.candidate) {
      // The demo's candidate payload: "\n<mid>\n<index>\n<candidate>".
      send(T.CANDIDATE, id, `\n${ev.candidate.sdpMid}\n${ev.candidate.sdpMLineIndex}\n${ev.candidate.candidate}`);
    }
  };
  pc.onconnectionstatechange = () => log(`peer ${id}: ${pc.connectionState}`);
  for (const [label, opts] of CHANNELS) {
    const ch = pc.createDataChannel(label, opts);
    ch.binaryType = 'arraybuffer';
    ch.onopen = () => {
      p.open++;
      log(`peer ${id}: channel ${label} open`);
      if (label === 'reliable') ch.send(new TextEncoder().encode('hello from chromium'));
    };
    ch.onmessage = (ev) => {
      const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data);
      log(`peer ${id} on ${label}: ${text}`);
      if (label === 'reliable' && text === 'hello from C') {
        p.helloIn = text;
        // The C peer's leave (signaling) may overtake its hello (SCTP): either order passes.
        check();
      }
    };
    p.chans.push(ch);
  }
  // 4.x rule: offer only to lower ids (we are 1: we never offer).
  if (id < myId) {
    pc.createOffer().then((o) => pc.setLocalDescription(o)).then(() => send(T.OFFER, id, pc.localDescription.sdp))
      .catch((e) => fail('offer: ' + e));
  }
}

async function onMessage(ev) {
  let m;
  try {
    m = JSON.parse(ev.data);
  } catch (e) {
    return fail('bad JSON from the server: ' + ev.data);
  }
  if (typeof m.type !== 'number' || typeof m.id !== 'number' || typeof m.data !== 'string') {
    return fail('bad message ' + ev.data);
  }
  switch (m.type) {
    case T.ID:
      myId = m.id;
      if (myId !== 1 || m.data !== 'true') fail(`ID ${m.id} "${m.data}": expected 1, mesh`);
      break;
    case T.JOIN:
      lobby = m.data;
      if (lobby.length !== 16) fail('lobby name ' + lobby);
      report('LOBBY ' + lobby);
      break;
    case T.PEER_CONNECT:
      log('peer connected ' + m.id);
      if (!Number.isInteger(m.id) || m.id < 2 || m.id > 2147483647) fail('peer id ' + m.id);
      addPeer(m.id);
      break;
    case T.PEER_DISCONNECT: {
      log('peer disconnected ' + m.id);
      const p = peers.get(m.id);
      if (!p) return fail('disconnect of unknown peer ' + m.id);
      p.left = true;
      p.pc.close();
      check();
      break;
    }
    case T.OFFER:
    case T.ANSWER: {
      const p = peers.get(m.id);
      if (!p) return fail('description from unknown peer ' + m.id);
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
      if (!p || parts.length !== 3) return fail('bad candidate ' + JSON.stringify(m));
      await p.pc.addIceCandidate({ sdpMid: parts[0], sdpMLineIndex: parseInt(parts[1], 10), candidate: parts[2] });
      break;
    }
    default:
      fail('unexpected message type ' + m.type);
  }
}

async function start() {
  // Chromium offers loopback host candidates only to a page holding a media
  // permission (the fake UI grants it).
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  stream.getTracks().forEach((t) => t.stop());
  const signal = new URLSearchParams(location.search).get('signal');
  ws = new WebSocket(signal);
  let chain = Promise.resolve();
  ws.onopen = () => send(T.JOIN, 0, ''); // id 0: a mesh lobby
  ws.onmessage = (ev) => { chain = chain.then(() => onMessage(ev)).catch((e) => fail(String(e))); };
  ws.onclose = (ev) => { if (!done) fail(`signaling closed ${ev.code} ${ev.reason}`); };
}

start().catch((e) => fail(String(e)));

// Fake browser objects for the Node.js unit tests of the WebAssembly build
// (linked with --pre-js, so they exist before the program starts): an
// RTCPeerConnection / RTCDataChannel pair that connects peers of the same
// process, and a WebSocket whose server side the test scripts. They follow
// the browser's behaviour where the C side depends on it: everything is
// asynchronous (promises, tasks), events fire on the on* handlers, bad
// arguments throw as the W3C API says. Tests reach them as globalThis.fake.
'use strict';
(function () {
  const fake = {
    pcs: [],         // every RTCPeerConnection made, in order
    sockets: [],     // every WebSocket made, in order
    paused: false,   // hold channel deliveries (to fill bufferedAmount)
    held: [],        // deliveries held while paused
    nextPort: 40000,
    resume() {
      fake.paused = false;
      const h = fake.held;
      fake.held = [];
      h.forEach((f) => f());
    },
  };
  globalThis.fake = fake;
  const task = (f) => setTimeout(f, 0);
  const fire = (obj, name, ev) => {
    if (typeof obj['on' + name] === 'function') obj['on' + name](ev || {});
  };
  const domError = (name, msg) => {
    const e = new Error(msg);
    e.name = name;
    return e;
  };

  class FakeDataChannel {
    constructor(pc, label, init) {
      this.pc = pc;
      this.label = label;
      this.protocol = init.protocol || '';
      this.ordered = init.ordered !== false;
      this.negotiated = !!init.negotiated;
      this.id = init.negotiated ? init.id : null;
      this.maxPacketLifeTime = init.maxPacketLifeTime === undefined ? null : init.maxPacketLifeTime;
      this.maxRetransmits = init.maxRetransmits === undefined ? null : init.maxRetransmits;
      this.readyState = 'connecting';
      this.bufferedAmount = 0;
      this.bufferedAmountLowThreshold = 0;
      this.binaryType = 'blob';
      this.remote = null;
      this.sent = 0;
    }
    send(data) {
      if (this.readyState !== 'open') throw domError('InvalidStateError', 'not open');
      let payload, size;
      if (typeof data === 'string') {
        payload = data;
        size = new TextEncoder().encode(data).length;
      } else {
        const bytes = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data);
        payload = bytes.slice().buffer; // the browser copies at send()
        size = bytes.length;
      }
      if (this.pc.sctp && size > this.pc.sctp.maxMessageSize) throw new TypeError('too big');
      this.sent++;
      this.bufferedAmount += size;
      const deliver = () => {
        const before = this.bufferedAmount;
        this.bufferedAmount -= size;
        if (before > this.bufferedAmountLowThreshold &&
            this.bufferedAmount <= this.bufferedAmountLowThreshold)
          fire(this, 'bufferedamountlow');
        const r = this.remote;
        if (r && r.readyState === 'open') {
          if (typeof payload !== 'string' && r.binaryType !== 'arraybuffer')
            throw new Error('fake: a binary message to a channel without binaryType arraybuffer');
          fire(r, 'message', { data: payload });
        }
      };
      task(() => (fake.paused ? fake.held.push(deliver) : deliver()));
    }
    close() {
      if (this.readyState === 'closing' || this.readyState === 'closed') return;
      this.readyState = 'closing';
      task(() => {
        this.finish();
        if (this.remote) this.remote.finish();
      });
    }
    finish() {
      if (this.readyState === 'closed') return;
      this.readyState = 'closed';
      fire(this, 'close');
    }
    open() {
      if (this.readyState !== 'connecting') return;
      this.readyState = 'open';
      fire(this, 'open');
    }
  }

  class FakePeerConnection {
    constructor(config) {
      config = config || {};
      for (const s of config.iceServers || []) {
        const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
        if (!Array.isArray(urls)) throw new TypeError('iceServers: urls');
        for (const u of urls)
          if (!/^(stun|stuns|turn|turns):/.test(u)) throw domError('SyntaxError', 'bad url ' + u);
      }
      this.config = config;
      this.connectionState = 'new';
      this.iceGatheringState = 'new';
      this.signalingState = 'stable';
      this.localDescription = null;
      this.remoteDescription = null;
      this.sctp = null;
      this.channels = [];
      this.candidates = [];
      this.port = fake.nextPort++;
      this.ufrag = 'u' + this.port;
      this.peer = null;
      this.closed = false;
      fake.pcs.push(this);
    }
    createDataChannel(label, init) {
      init = init || {};
      if (this.closed) throw domError('InvalidStateError', 'closed');
      if (init.negotiated && (init.id === undefined || init.id === null))
        throw new TypeError('negotiated without id');
      if (init.maxPacketLifeTime !== undefined && init.maxRetransmits !== undefined)
        throw new TypeError('both limits');
      const dc = new FakeDataChannel(this, String(label), init);
      dc.init = Object.assign({}, init);
      this.channels.push(dc);
      if (this.sctp) task(() => this.openChannel(dc));
      return dc;
    }
    sdp(setup) {
      return ['v=0', `o=- ${this.port} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0',
              'a=group:BUNDLE 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
              'c=IN IP4 0.0.0.0', 'a=mid:0', `a=ice-ufrag:${this.ufrag}`,
              'a=ice-pwd:abcdefghijklmnopqrstuvwx',
              'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
              `a=setup:${setup}`, 'a=sctp-port:5000', 'a=max-message-size:262144', ''].join('\r\n');
    }
    setSignaling(s) {
      if (this.signalingState === s) return;
      this.signalingState = s;
      fire(this, 'signalingstatechange');
    }
    setState(s) {
      if (this.connectionState === s || this.closed) return;
      this.connectionState = s;
      fire(this, 'connectionstatechange');
    }
    createOffer() {
      return new Promise((resolve) => task(() => resolve({ type: 'offer', sdp: this.sdp('actpass') })));
    }
    createAnswer() {
      return new Promise((resolve, reject) => task(() => {
        if (!this.remoteDescription || this.remoteDescription.type !== 'offer')
          reject(domError('InvalidStateError', 'no remote offer'));
        else resolve({ type: 'answer', sdp: this.sdp('active') });
      }));
    }
    setLocalDescription(d) {
      return new Promise((resolve) => task(() => {
        this.localDescription = { type: d.type, sdp: d.sdp };
        this.setSignaling(d.type === 'offer' ? 'have-local-offer' : 'stable');
        resolve();
        this.gather();
        this.maybeConnect();
      }));
    }
    setRemoteDescription(d) {
      return new Promise((resolve, reject) => task(() => {
        if (!/a=ice-ufrag:/.test(d.sdp)) {
          reject(domError('OperationError', 'no ice-ufrag'));
          return;
        }
        this.remoteDescription = { type: d.type, sdp: d.sdp };
        const m = /a=ice-ufrag:(\S+)/.exec(d.sdp);
        this.peer = fake.pcs.find((p) => p.ufrag === m[1] && p !== this) || null;
        this.setSignaling(d.type === 'offer' ? 'have-remote-offer' : 'stable');
        resolve();
        this.maybeConnect();
      }));
    }
    addIceCandidate(c) {
      return new Promise((resolve, reject) => task(() => {
        if (!this.remoteDescription) reject(domError('InvalidStateError', 'no remote description'));
        else if (c && c.candidate && !/^candidate:/.test(c.candidate)) reject(domError('OperationError', 'bad'));
        else {
          this.candidates.push(c);
          resolve();
        }
      }));
    }
    gather() {
      if (this.iceGatheringState !== 'new') return;
      this.iceGatheringState = 'gathering';
      fire(this, 'icegatheringstatechange');
      task(() => {
        const cand = `candidate:1 1 udp 2122260223 127.0.0.1 ${this.port} typ host`;
        fire(this, 'icecandidate', { candidate: { candidate: cand, sdpMid: '0', sdpMLineIndex: 0 } });
        fire(this, 'icecandidate', { candidate: null });
        this.iceGatheringState = 'complete';
        fire(this, 'icegatheringstatechange');
      });
    }
    maybeConnect() {
      const p = this.peer;
      if (!p || p.peer !== this || !this.localDescription || !this.remoteDescription ||
          !p.localDescription || !p.remoteDescription || this.connectionState !== 'new')
        return;
      for (const pc of [this, p]) pc.setState('connecting');
      task(() => {
        for (const pc of [this, p]) {
          pc.sctp = { maxMessageSize: 262144 };
          pc.setState('connected');
        }
        for (const pc of [this, p]) pc.channels.forEach((dc) => pc.openChannel(dc));
      });
    }
    // SCTP is up: a negotiated channel meets its twin; an in-band one gets an id and a twin.
    openChannel(dc) {
      const p = this.peer;
      if (dc.remote || dc.readyState !== 'connecting' || !p || this.closed) return;
      if (dc.negotiated) {
        const twin = p.channels.find((c) => c.negotiated && c.id === dc.id && !c.remote);
        if (!twin) return; // opens when the other side makes it
        dc.remote = twin;
        twin.remote = dc;
        twin.open();
        dc.open();
        return;
      }
      const offerer = this.localDescription.type === 'offer';
      let id = offerer ? 0 : 1;
      while (this.channels.some((c) => c.id === id) || p.channels.some((c) => c.id === id)) id += 2;
      dc.id = id;
      const twin = new FakeDataChannel(p, dc.label, {
        protocol: dc.protocol, ordered: dc.ordered, negotiated: false,
        maxPacketLifeTime: dc.maxPacketLifeTime === null ? undefined : dc.maxPacketLifeTime,
        maxRetransmits: dc.maxRetransmits === null ? undefined : dc.maxRetransmits });
      twin.id = id;
      twin.remote = dc;
      dc.remote = twin;
      p.channels.push(twin);
      fire(p, 'datachannel', { channel: twin });
      task(() => {
        dc.open();
        twin.open();
      });
    }
    getStats() {
      const report = new Map();
      if (this.connectionState === 'connected') {
        report.set('T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' });
        report.set('P', { id: 'P', type: 'candidate-pair', nominated: true, state: 'succeeded',
                          currentRoundTripTime: 0.0125 });
      }
      return Promise.resolve(report);
    }
    close() {
      if (this.closed) return;
      this.closed = true;
      this.connectionState = 'closed';
      this.signalingState = 'closed';
      for (const dc of this.channels) {
        dc.readyState = 'closed'; // no events on our side, as in browsers
        if (dc.remote) task(() => dc.remote.finish());
      }
      const p = this.peer;
      if (p) task(() => p.setState('disconnected'));
    }
  }

  class FakeWebSocket {
    constructor(url) {
      if (!/^wss?:\/\/[^/]/.test(url)) throw domError('SyntaxError', 'bad url ' + url);
      this.url = url;
      this.readyState = 0;
      this.binaryType = 'blob';
      this.sent = [];        // what the page sent
      this.closeCall = null; // the page's close(code, reason)
      this.server = fake.server.enabled ? fake.server : null;
      fake.sockets.push(this);
      if (this.server) task(() => this.serverOpen());
    }
    send(text) {
      if (this.readyState !== 1) throw domError('InvalidStateError', 'not open');
      if (typeof text !== 'string') throw new Error('fake: the client sends text only');
      this.sent.push(text);
      if (this.server) task(() => this.server.handle(this, text));
    }
    close(code, reason) {
      if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999))
        throw domError('InvalidAccessError', 'code');
      this.closeCall = { code: code === undefined ? null : code, reason: reason || '' };
      if (this.readyState >= 2) return;
      this.readyState = 2;
      task(() => this.serverClose(code === undefined ? 1005 : code, reason || ''));
    }
    // The server's side, for tests.
    serverOpen() {
      this.readyState = 1;
      fire(this, 'open');
    }
    serverSend(text) {
      fire(this, 'message', { data: text });
    }
    serverClose(code, reason) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      if (this.lobby) {
        const members = this.lobby.members;
        members.splice(members.indexOf(this), 1);
        for (const o of members) fake.server.send(o, { type: 3, id: this.peerId, data: '' });
      }
      fire(this, 'close', { code: code, reason: reason || '' });
    }
  }

  // A signaling server of the 4.x JSON protocol (the demo's server, in short:
  // lobbies, ids, relaying) for sockets made while it is enabled.
  fake.server = {
    enabled: false,
    iceServers: null, // handed out with the ID message when set
    lobbies: new Map(),
    nextId: 2,
    send(ws, msg) {
      task(() => ws.readyState === 1 && ws.serverSend(JSON.stringify(msg)));
    },
    handle(ws, text) {
      const m = JSON.parse(text);
      if (m.type === 0) {
        const name = m.data || 'lobby' + fake.server.lobbies.size;
        let lobby = fake.server.lobbies.get(name);
        if (!lobby) fake.server.lobbies.set(name, (lobby = { mesh: m.id === 0, members: [] }));
        ws.peerId = lobby.members.length ? fake.server.nextId++ : 1;
        ws.lobby = lobby;
        const id = { type: 1, id: ws.peerId, data: lobby.mesh ? 'true' : '' };
        if (fake.server.iceServers) id.ice_servers = fake.server.iceServers;
        fake.server.send(ws, id);
        for (const other of lobby.members) {
          fake.server.send(other, { type: 2, id: ws.peerId, data: '' });
          fake.server.send(ws, { type: 2, id: other.peerId, data: '' });
        }
        lobby.members.push(ws);
        fake.server.send(ws, { type: 0, id: 0, data: name });
      } else if (m.type >= 4 && m.type <= 6 && ws.lobby) {
        const to = ws.lobby.members.find((o) => o.peerId === m.id);
        if (to) fake.server.send(to, { type: m.type, id: ws.peerId, data: m.data });
      }
    },
  };

  globalThis.RTCPeerConnection = FakePeerConnection;
  globalThis.RTCDataChannel = FakeDataChannel;
  globalThis.WebSocket = FakeWebSocket;
})();

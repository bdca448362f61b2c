// peermesh in the browser: rtc.h's RTCPeerConnection and RTCDataChannel
// (C side: src/web/rtc_peer.c, rtc_channel.c). Every browser callback only
// queues a note on its connection's record; C pulls them in
// pm_rtc_peer_poll(). Note kinds and enum values: src/web/web.h, rtc.h.
mergeInto(LibraryManager.library, {
  $PMRtc__deps: ['$PMWeb'],
  $PMRtc: {
    STATE: { 'new': 0, 'connecting': 1, 'connected': 2, 'disconnected': 3, 'failed': 4, 'closed': 5 },
    GATHERING: { 'new': 0, 'gathering': 1, 'complete': 2 },
    SIGNALING: { 'stable': 0, 'have-local-offer': 1, 'have-remote-offer': 2,
                 'have-local-pranswer': 3, 'have-remote-pranswer': 4, 'closed': 5 },

    queue: function (rec, n) {
      if (!rec.closed) rec.notes.push(n);
    },
    // A JSEP step failed: fatal (1) fails the connection on the C side.
    fail: function (rec, what, e, fatal) {
      var msg = what + ': ' + (e && e.message ? e.message : String(e));
      PMRtc.queue(rec, PMWeb.note(6 /* ERROR */, 0, fatal ? 1 : 0, PMWeb.utf8(msg)));
    },
    // Attach a channel to its connection's queue; returns its handle.
    wrapChannel: function (rec, dc) {
      var chRec = { dc: dc, pc: rec };
      var h = PMWeb.put(chRec);
      chRec.handle = h;
      rec.channels.push(h);
      dc.binaryType = 'arraybuffer';
      dc.onopen = function () {
        PMRtc.queue(rec, PMWeb.note(8 /* CHANNEL_OPEN */, h, 0, null, null,
                                    [dc.id === null ? 65535 : dc.id, 0, 0, 0]));
      };
      dc.onclose = function () {
        PMRtc.queue(rec, PMWeb.note(9 /* CHANNEL_CLOSED */, h));
      };
      dc.onmessage = function (e) {
        var isString = typeof e.data === 'string';
        var bytes = isString ? PMWeb.utf8(e.data) : new Uint8Array(e.data);
        PMRtc.queue(rec, PMWeb.note(10 /* CHANNEL_MESSAGE */, h, isString ? 1 : 0, bytes));
      };
      dc.onbufferedamountlow = function () {
        PMRtc.queue(rec, PMWeb.note(11 /* BUFFERED_LOW */, h));
      };
      return h;
    },
    // The selected candidate pair's round trip from a getStats() report, in us, or -1.
    roundTrip: function (report) {
      var pairId = null, best = -1;
      report.forEach(function (s) {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      report.forEach(function (s) {
        if (s.type !== 'candidate-pair' || typeof s.currentRoundTripTime !== 'number') return;
        if (pairId ? s.id === pairId : (s.nominated && s.state === 'succeeded'))
          best = Math.round(s.currentRoundTripTime * 1e6);
      });
      return best;
    },
  },

  pm_js_pc_new__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_new: function (iceJson) {
    var pc;
    try {
      pc = new RTCPeerConnection({ iceServers: JSON.parse(PMWeb.str(iceJson)) });
    } catch (e) {
      return 0;
    }
    var rec = { pc: pc, notes: [], channels: [], remoteSet: false, held: [], closed: false,
                lastMid: '0' };
    pc.onconnectionstatechange = function () {
      PMRtc.queue(rec, PMWeb.note(1 /* STATE */, 0, PMRtc.STATE[pc.connectionState]));
    };
    pc.onicegatheringstatechange = function () {
      PMRtc.queue(rec, PMWeb.note(2 /* GATHERING */, 0, PMRtc.GATHERING[pc.iceGatheringState]));
    };
    pc.onsignalingstatechange = function () {
      PMRtc.queue(rec, PMWeb.note(3 /* SIGNALING */, 0, PMRtc.SIGNALING[pc.signalingState]));
    };
    pc.onicecandidate = function (e) {
      var c = e.candidate;
      if (c && !c.candidate) return; // Chromium's "" before the null: one end is enough
      var mid = c && c.sdpMid !== null ? c.sdpMid : rec.lastMid;
      rec.lastMid = mid;
      var index = c && c.sdpMLineIndex !== null ? c.sdpMLineIndex : 0;
      PMRtc.queue(rec, PMWeb.note(5 /* CANDIDATE */, 0, index, PMWeb.utf8(mid),
                                  PMWeb.utf8(c ? c.candidate : '')));
    };
    pc.ondatachannel = function (e) {
      var dc = e.channel;
      var h = PMRtc.wrapChannel(rec, dc);
      var life = dc.maxPacketLifeTime, rexmit = dc.maxRetransmits;
      PMRtc.queue(rec, PMWeb.note(7 /* DATA_CHANNEL */, h, 0, PMWeb.utf8(dc.label),
                                  PMWeb.utf8(dc.protocol),
                                  [dc.id === null ? 65535 : dc.id, dc.ordered ? 1 : 0,
                                   life === null || life === undefined ? -1 : life,
                                   rexmit === null || rexmit === undefined ? -1 : rexmit]));
    };
    return PMWeb.put(rec);
  },

  pm_js_pc_close__deps: ['$PMWeb'],
  pm_js_pc_close: function (h) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return;
    rec.closed = true;
    rec.notes.length = 0;
    rec.pc.close();
  },

  pm_js_pc_free__deps: ['$PMWeb', 'pm_js_pc_close', 'pm_js_dc_free'],
  pm_js_pc_free: function (h) {
    var rec = PMWeb.get(h);
    if (!rec) return;
    _pm_js_pc_close(h);
    rec.channels.slice().forEach(function (ch) { _pm_js_dc_free(ch); });
    var pc = rec.pc;
    pc.onconnectionstatechange = pc.onicegatheringstatechange = pc.onsignalingstatechange = null;
    pc.onicecandidate = pc.ondatachannel = null;
    PMWeb.drop(h);
  },

  pm_js_pc_create_channel__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_create_channel: function (h, label, protocol, negotiated, id, ordered, life, rexmit) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return 0;
    var init = { ordered: !!ordered, protocol: PMWeb.str(protocol) };
    if (negotiated) {
      init.negotiated = true;
      init.id = id;
    }
    if (life >= 0) init.maxPacketLifeTime = life;
    if (rexmit >= 0) init.maxRetransmits = rexmit;
    try {
      return PMRtc.wrapChannel(rec, rec.pc.createDataChannel(PMWeb.str(label), init));
    } catch (e) {
      return 0;
    }
  },

  pm_js_pc_create_offer__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_create_offer: function (h) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return;
    var pc = rec.pc;
    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () {
        var d = pc.localDescription;
        PMRtc.queue(rec, PMWeb.note(4 /* DESCRIPTION */, 0, 0, PMWeb.utf8(d.type), PMWeb.utf8(d.sdp)));
      })
      .catch(function (e) { PMRtc.fail(rec, 'createOffer', e, true); });
  },

  pm_js_pc_set_remote__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_set_remote: function (h, type, sdp) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return;
    var pc = rec.pc, t = PMWeb.str(type), step = 'setRemoteDescription';
    pc.setRemoteDescription({ type: t, sdp: PMWeb.str(sdp) })
      .then(function () {
        rec.remoteSet = true;
        rec.held.forEach(function (c) {
          pc.addIceCandidate(c).catch(function (e) { PMRtc.fail(rec, 'addIceCandidate', e, false); });
        });
        rec.held = [];
        if (t !== 'offer') return null;
        step = 'createAnswer';
        return pc.createAnswer()
          .then(function (answer) { return pc.setLocalDescription(answer); })
          .then(function () {
            var d = pc.localDescription;
            PMRtc.queue(rec, PMWeb.note(4 /* DESCRIPTION */, 0, 0, PMWeb.utf8(d.type),
                                        PMWeb.utf8(d.sdp)));
          });
      })
      .catch(function (e) { PMRtc.fail(rec, step, e, true); });
  },

  pm_js_pc_add_candidate__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_add_candidate: function (h, mid, index, candidate) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return;
    var c = PMWeb.str(candidate), m = PMWeb.str(mid);
    var init = { candidate: c, sdpMid: m || null, sdpMLineIndex: index >= 0 ? index : null };
    if (init.sdpMid === null && init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
    if (!rec.remoteSet) {
      rec.held.push(init);
      return;
    }
    rec.pc.addIceCandidate(init).catch(function (e) { PMRtc.fail(rec, 'addIceCandidate', e, false); });
  },

  pm_js_pc_next__deps: ['$PMWeb'],
  pm_js_pc_next: function (h, out) {
    var rec = PMWeb.get(h);
    return rec ? PMWeb.next(rec.notes, out) : 0;
  },

  pm_js_pc_pending__deps: ['$PMWeb'],
  pm_js_pc_pending: function (h) {
    var rec = PMWeb.get(h);
    return rec ? rec.notes.length : 0;
  },

  pm_js_pc_max_message__deps: ['$PMWeb'],
  pm_js_pc_max_message: function (h) {
    var rec = PMWeb.get(h);
    var sctp = rec && !rec.closed ? rec.pc.sctp : null;
    if (!sctp) return 0;
    return sctp.maxMessageSize > 1073741824 ? 1073741824 : sctp.maxMessageSize;
  },

  pm_js_pc_request_stats__deps: ['$PMWeb', '$PMRtc'],
  pm_js_pc_request_stats: function (h) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed || rec.statsPending) return;
    rec.statsPending = true;
    rec.pc.getStats()
      .then(function (report) {
        rec.statsPending = false;
        PMRtc.queue(rec, PMWeb.note(12 /* RTT */, 0, PMRtc.roundTrip(report)));
      })
      .catch(function () { rec.statsPending = false; });
  },

  pm_js_dc_send__deps: ['$PMWeb'],
  pm_js_dc_send: function (ch, ptr, len, binary) {
    var c = PMWeb.get(ch);
    if (!c || c.dc.readyState !== 'open') return -4; // PM_ERR_STATE
    var msg;
    if (binary) {
      msg = HEAPU8.slice(ptr, ptr + len);
    } else {
      msg = PMWeb.decodeUtf8(ptr, len);
      if (msg === null) return -1; // PM_ERR_INVALID: a browser sends text as UTF-8 only
    }
    try {
      c.dc.send(msg);
    } catch (e) {
      return e && e.name === 'InvalidStateError' ? -4 : -8; // PM_ERR_STATE, PM_ERR_IO
    }
    return 0;
  },

  pm_js_dc_buffered__deps: ['$PMWeb'],
  pm_js_dc_buffered: function (ch) {
    var c = PMWeb.get(ch);
    return c ? c.dc.bufferedAmount : 0;
  },

  pm_js_dc_set_low_threshold__deps: ['$PMWeb'],
  pm_js_dc_set_low_threshold: function (ch, bytes) {
    var c = PMWeb.get(ch);
    if (c) c.dc.bufferedAmountLowThreshold = bytes;
  },

  pm_js_dc_close__deps: ['$PMWeb'],
  pm_js_dc_close: function (ch) {
    var c = PMWeb.get(ch);
    if (c) c.dc.close();
  },

  pm_js_dc_free__deps: ['$PMWeb'],
  pm_js_dc_free: function (ch) {
    var c = PMWeb.get(ch);
    if (!c) return;
    var dc = c.dc;
    dc.onopen = dc.onclose = dc.onmessage = dc.onbufferedamountlow = null;
    var list = c.pc.channels, i = list.indexOf(ch);
    if (i >= 0) list.splice(i, 1);
    PMWeb.drop(ch);
  },
});

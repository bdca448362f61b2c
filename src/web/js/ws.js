// peermesh in the browser: the signaling client's WebSocket (C side:
// src/web/ws_web.c). Callbacks only queue notes; C pulls them in
// pm_signal_client_poll(). Note kinds: src/web/web.h.
mergeInto(LibraryManager.library, {
  pm_js_ws_open__deps: ['$PMWeb'],
  pm_js_ws_open: function (url) {
    var ws;
    try {
      ws = new WebSocket(PMWeb.str(url));
    } catch (e) {
      return 0; // a URL the browser refuses
    }
    ws.binaryType = 'arraybuffer';
    var rec = { ws: ws, notes: [], closed: false };
    ws.onopen = function () {
      rec.notes.push(PMWeb.note(32 /* WS_OPEN */));
    };
    ws.onmessage = function (e) {
      var binary = typeof e.data !== 'string';
      rec.notes.push(PMWeb.note(33 /* WS_MESSAGE */, 0, binary ? 1 : 0,
                                binary ? new Uint8Array(e.data) : PMWeb.utf8(e.data)));
    };
    ws.onclose = function (e) {
      rec.closed = true;
      rec.notes.push(PMWeb.note(34 /* WS_CLOSED */, 0, e.code || 1006, PMWeb.utf8(e.reason || '')));
    };
    ws.onerror = function () {}; // the close event follows with the code
    return PMWeb.put(rec);
  },

  pm_js_ws_next__deps: ['$PMWeb'],
  pm_js_ws_next: function (h, out) {
    var rec = PMWeb.get(h);
    return rec ? PMWeb.next(rec.notes, out) : 0;
  },

  pm_js_ws_pending__deps: ['$PMWeb'],
  pm_js_ws_pending: function (h) {
    var rec = PMWeb.get(h);
    return rec ? rec.notes.length : 0;
  },

  pm_js_ws_send__deps: ['$PMWeb'],
  pm_js_ws_send: function (h, ptr, len) {
    var rec = PMWeb.get(h);
    if (!rec || rec.ws.readyState !== 1 /* OPEN */) return -4; // PM_ERR_STATE
    var text = PMWeb.decodeUtf8(ptr, len);
    if (text === null) return -1; // PM_ERR_INVALID
    rec.ws.send(text);
    return 0;
  },

  pm_js_ws_close__deps: ['$PMWeb'],
  pm_js_ws_close: function (h, code, reason, reasonLen) {
    var rec = PMWeb.get(h);
    if (!rec || rec.closed) return;
    var why = reasonLen ? PMWeb.decodeUtf8(reason, reasonLen) : '';
    try {
      // A page may send only 1000 and 3000..4999 (RFC 6455 codes are the browser's).
      if (code === 1000 || (code >= 3000 && code <= 4999)) rec.ws.close(code, why || '');
      else rec.ws.close();
    } catch (e) {
      rec.ws.close();
    }
  },

  pm_js_ws_free__deps: ['$PMWeb'],
  pm_js_ws_free: function (h) {
    var rec = PMWeb.get(h);
    if (!rec) return;
    var ws = rec.ws;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState < 2 /* CONNECTING or OPEN */) ws.close();
    PMWeb.drop(h);
  },
});

// peermesh in the browser: what the JS library parts (rtc.js, ws.js,
// json.js) share. Linked with emcc --js-library (the build concatenates the
// parts into build-wasm/peermesh.js); the C side is src/web/web.h.
//
// Handles: small positive integers naming JS objects, so C never holds a JS
// reference. Notes: what a browser callback has to say, queued on its
// object and pulled by C (web.h: "the poll model"); a note is written into
// C memory as 9 int32 (pm_web_note), its payloads (Uint8Array) wait in
// PMWeb.payload until C copies them with pm_js_note_payload().
mergeInto(LibraryManager.library, {
  $PMWeb__postset: 'PMWeb.objects = new Map();',
  $PMWeb: {
    objects: null, // a Map, made by the postset (library values are copied as source)
    lastHandle: 0,
    payload: [null, null],
    encoder: null,
    decoder: null,

    // Never reused: a note still queued for a freed object must not find a new one.
    put: function (obj) {
      var h = ++PMWeb.lastHandle;
      PMWeb.objects.set(h, obj);
      return h;
    },
    get: function (h) {
      return PMWeb.objects.get(h) || null;
    },
    drop: function (h) {
      PMWeb.objects.delete(h);
    },

    // UTF-8 both ways; decodeUtf8 returns null for bytes that are not UTF-8.
    utf8: function (s) {
      if (!PMWeb.encoder) PMWeb.encoder = new TextEncoder();
      return PMWeb.encoder.encode(s);
    },
    decodeUtf8: function (ptr, len) {
      if (!PMWeb.decoder) PMWeb.decoder = new TextDecoder('utf-8', { fatal: true });
      try {
        // slice: TextDecoder may not take a view of the (growable) wasm memory.
        return PMWeb.decoder.decode(HEAPU8.slice(ptr, ptr + len));
      } catch (e) {
        return null;
      }
    },
    // A C string argument ("" for NULL).
    str: function (ptr) {
      return ptr ? UTF8ToString(ptr) : '';
    },

    // A note: {kind, channel, value, p1, p2, info}; p1/p2 are Uint8Array or null.
    note: function (kind, channel, value, p1, p2, info) {
      return { kind: kind, channel: channel || 0, value: value || 0, p1: p1 || null,
               p2: p2 || null, info: info || null };
    },
    // Write a note into C memory at `out` and stage its payloads.
    writeNote: function (out, n) {
      var i = out >> 2;
      HEAP32[i] = n.kind;
      HEAP32[i + 1] = n.channel;
      HEAP32[i + 2] = n.value;
      HEAP32[i + 3] = n.p1 ? n.p1.length : 0;
      HEAP32[i + 4] = n.p2 ? n.p2.length : 0;
      for (var k = 0; k < 4; k++) HEAP32[i + 5 + k] = n.info ? n.info[k] : 0;
      PMWeb.payload[0] = n.p1;
      PMWeb.payload[1] = n.p2;
    },
    // Take the next note of a queue into `out`: 1, or 0 when there is none.
    next: function (queue, out) {
      if (!queue || !queue.length) return 0;
      PMWeb.writeNote(out, queue.shift());
      return 1;
    },
  },

  pm_js_note_payload__deps: ['$PMWeb'],
  pm_js_note_payload: function (dst1, dst2) {
    var p = PMWeb.payload;
    if (dst1 && p[0]) HEAPU8.set(p[0], dst1);
    if (dst2 && p[1]) HEAPU8.set(p[1], dst2);
    p[0] = p[1] = null;
  },
});

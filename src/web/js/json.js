// peermesh in the browser: the JSON parser of the signaling codec
// (src/web/json_web.c, standing in for src/wire/signal_json_jansson.c).
mergeInto(LibraryManager.library, {
  $PMJson__deps: ['$PMWeb'],
  $PMJson: {
    // The text at ptr as a JSON value, or undefined (not UTF-8, not JSON).
    parse: function (ptr, len) {
      var text = PMWeb.decodeUtf8(ptr, len);
      if (text === null) return undefined;
      try {
        return JSON.parse(text);
      } catch (e) {
        return undefined;
      }
    },
    isObject: function (v) {
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    },
    // The demo server's reading of a number: floored, 0..2^53, else -1.
    number: function (v) {
      if (typeof v !== 'number' || !isFinite(v)) return -1;
      v = Math.floor(v);
      return v >= 0 && v <= 9007199254740992 ? v : -1;
    },
  },

  pm_js_json_sigmsg__deps: ['$PMWeb', '$PMJson'],
  pm_js_json_sigmsg: function (ptr, len, out) {
    var v = PMJson.parse(ptr, len);
    if (!PMJson.isObject(v)) return 0;
    var type = PMJson.number(v.type), id = PMJson.number(v.id);
    if (type < 0 || id < 0) return 0;
    var data = typeof v.data === 'string' ? PMWeb.utf8(v.data) : null;
    var ice = Array.isArray(v.ice_servers) ? PMWeb.utf8(JSON.stringify(v.ice_servers)) : null;
    PMWeb.writeNote(out, PMWeb.note(0, 0, type > 2147483647 ? 2147483647 : type, data, ice,
                                    [id % 4294967296 | 0, Math.floor(id / 4294967296), 0, 0]));
    return 1;
  },

  pm_js_json_ice_list__deps: ['$PMWeb', '$PMJson'],
  pm_js_json_ice_list: function (ptr, len, maxServers, maxUrls, out) {
    var list = PMJson.parse(ptr, len);
    if (!Array.isArray(list)) return 0;
    var flat = '';
    var field = function (tag, s) {
      if (typeof s !== 'string' || s.indexOf('\0') >= 0) throw 0; // a NUL would cut a C string
      flat += tag + s + '\0';
    };
    try {
      list.slice(0, maxServers).forEach(function (entry) {
        if (!PMJson.isObject(entry)) throw 0;
        flat += 'S';
        var urls = entry.urls;
        if (typeof urls === 'string') {
          field('u', urls);
        } else if (Array.isArray(urls)) {
          for (var i = 0; i < urls.length; i++) {
            if (typeof urls[i] !== 'string') throw 0;
            if (i === maxUrls) break;
            field('u', urls[i]);
          }
        } else {
          throw 0;
        }
        if (entry.username !== undefined) field('n', entry.username);
        if (entry.credential !== undefined) field('c', entry.credential);
      });
    } catch (e) {
      return 0;
    }
    PMWeb.writeNote(out, PMWeb.note(0, 0, 0, PMWeb.utf8(flat)));
    return 1;
  },
});

// Headless Firefox ESR over its built-in WebDriver BiDi remote protocol
// (--remote-debugging-port; no geckodriver), for tests/web/driver.js: the
// same interface as cdp.js. The WebSocket client is written here (Node.js
// has none built in before 22): RFC 6455 text frames, client-masked.
'use strict';
const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

// A fresh profile that keeps Firefox on loopback and lets WebRTC use it.
const PREFS = {
  // WebRTC: loopback host candidates, with their real addresses (no mDNS names).
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Pages in the background keep their timers (the game ticks every 10 ms).
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  // No network: nothing to update, report, sync, look up or prefetch.
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.normandy.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  'browser.region.network.url': '',
  'browser.search.geoip.url': '',
  'geo.provider.network.url': '',
  'network.connectivity-service.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.http.speculative-parallel-limit': 0,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'extensions.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'dom.push.connection.enabled': false,
  'media.gmp-manager.updateEnabled': false,
  'browser.newtabpage.enabled': false,
  'browser.startup.page': 0,
  'browser.shell.checkDefaultBrowser': false,
  'browser.aboutwelcome.enabled': false,
};

// ---- a minimal WebSocket client ----
function connect(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0), open = false, parts = [];
    const ws = { onmessage: null, onclose: null };
    ws.send = (text) => {
      const data = Buffer.from(text, 'utf8'), mask = crypto.randomBytes(4);
      let head;
      if (data.length < 126) head = Buffer.from([0x81, 0x80 | data.length]);
      else if (data.length < 65536) {
        head = Buffer.alloc(4);
        head[0] = 0x81; head[1] = 0x80 | 126; head.writeUInt16BE(data.length, 2);
      } else {
        head = Buffer.alloc(10);
        head[0] = 0x81; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(data.length), 2);
      }
      for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
      sock.write(Buffer.concat([head, mask, data]));
    };
    ws.close = () => sock.destroy();
    sock.on('connect', () => {
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
                 `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.on('error', (e) => (open ? ws.onclose && ws.onclose(e) : reject(e)));
    sock.on('close', () => ws.onclose && ws.onclose());
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        if (!/^HTTP\/1\.1 101/.test(head)) return reject(new Error(`no WebSocket: ${head.split('\r\n')[0]}`));
        buf = buf.subarray(end + 4);
        open = true;
        resolve(ws);
      }
      for (;;) {
        if (buf.length < 2) return;
        const op = buf[0] & 15, fin = buf[0] & 0x80;
        let len = buf[1] & 127, off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2); off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2)); off = 10;
        }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (op === 8) { sock.destroy(); return; }
        if (op === 9 || op === 10) continue; // the server does not ping its client here
        parts.push(payload);
        if (fin) {
          const text = Buffer.concat(parts).toString('utf8');
          parts = [];
          if (ws.onmessage) ws.onmessage(text);
        }
      }
    });
  });
}

async function launch(opts) {
  const exe = opts.executable || process.env.FIREFOX || '/usr/bin/firefox-esr';
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-web-firefox-'));
  fs.writeFileSync(path.join(profile, 'user.js'),
                   Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  const proc = childProcess.spawn(exe, ['--headless', '--no-remote', '--profile', profile,
                                        '--remote-debugging-port', '0', 'about:blank'],
                                  { stdio: ['ignore', 'pipe', 'pipe'], detached: true,
                                    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } });
  const b = { kind: 'firefox', errors: [], proc, pages: [] };
  b.close = () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    setTimeout(() => fs.rmSync(profile, { recursive: true, force: true }), 300).unref();
  };
  process.on('exit', b.close);
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const seen = (d) => {
      log += d;
      if (process.env.FIREFOX_LOG) process.stderr.write(d);
      const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(log);
      if (m) resolve(m[1]);
    };
    proc.stdout.on('data', seen);
    proc.stderr.on('data', seen);
    proc.on('exit', () => reject(new Error(`firefox exited: ${log.slice(-500)}`)));
    proc.on('error', (e) => reject(new Error(`cannot start ${exe}: ${e.message}`)));
  });
  const ws = await connect(`${url}/session`);
  let nextId = 1;
  const pending = new Map();
  const contexts = new Map(); // context id -> page
  ws.onmessage = (text) => {
    const msg = JSON.parse(text);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.type === 'error') p.reject(new Error(`${msg.error}: ${msg.message}`));
      else p.resolve(msg.result);
    } else if (msg.method === 'log.entryAdded' && msg.params.level === 'error') {
      const page = contexts.get(msg.params.source && msg.params.source.context);
      b.errors.push(`${page ? page.name : 'browser'} ${msg.params.type}: ${msg.params.text}`);
    }
  };
  ws.onclose = () => {
    for (const p of pending.values()) p.reject(new Error('firefox closed the session'));
    pending.clear();
  };
  const call = (method, params = {}) => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  };
  const session = await call('session.new', { capabilities: {} });
  b.version = `Firefox ${session.capabilities.browserVersion}`;
  await call('session.subscribe', { events: ['log.entryAdded'] });

  b.open = async (pageUrl, name) => {
    // A window each: the only tab of a window is not in the background.
    const { context } = await call('browsingContext.create', { type: 'window' });
    const page = { name, context };
    contexts.set(context, page);
    b.pages.push(page);
    await call('browsingContext.navigate', { context, url: pageUrl, wait: 'none' });
    return page;
  };
  b.eval = async (page, expression) => {
    const r = await call('script.evaluate', { expression, target: { context: page.context },
                                              awaitPromise: true, resultOwnership: 'none' });
    if (r.type === 'exception') throw new Error(`evaluate ${expression}: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  b.screenshot = async (page) => {
    await call('browsingContext.activate', { context: page.context });
    await new Promise((r) => setTimeout(r, 300));
    const r = await call('browsingContext.captureScreenshot', { context: page.context });
    return Buffer.from(r.data, 'base64');
  };
  return b;
}

module.exports = { launch };

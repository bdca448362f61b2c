#!/usr/bin/env node
// Headless Chromium driver for tests/signal-chromium (Node >= 18, no npm
// packages). Starts /usr/bin/chromium (or $CHROMIUM) with a fresh profile,
// drives it over the DevTools protocol on --remote-debugging-pipe (fd 3:
// commands in, fd 4: replies and events out, JSON messages ended by NUL),
// loads page.html with the signaling URL in the query, and prints every line
// the page reports ("LOBBY <name>", "LOG ...", "RESULT ok|fail ...") on
// stdout. Exit status: 0 when the page reports RESULT ok, 1 otherwise, 2 on
// timeout.
//
//   node driver.js ws://127.0.0.1:PORT/ [timeout-seconds] [page.html]
//
// Other tests reuse it with a page of their own (third argument), extra
// query parameters for it ($PM_PAGE_PARAMS, "k=v&k2=v2"), and gates: when
// $PM_GATE_DIR is set, every file that appears there is announced to the
// page as window.onGate("<file name>").
'use strict';
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const url = require('node:url');

const signalUrl = process.argv[2];
const timeoutS = Number(process.argv[3] || 30);
if (!signalUrl || !/^wss?:\/\//.test(signalUrl) || !(timeoutS > 0)) {
  process.stderr.write('usage: driver.js ws://HOST:PORT/ [timeout-seconds]\n');
  process.exit(64);
}
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const pagePath = process.argv[4] ? path.resolve(process.argv[4]) : path.join(__dirname, 'page.html');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
  '--mute-audio', '--disable-extensions', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-domain-reliability',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  // Loopback host candidates with their real addresses: the page holds a
  // (fake) media permission, which is what unlocks them.
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--remote-debugging-pipe',
];

const say = (line) => process.stdout.write(line + '\n');
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-signal-chromium-'));
const browser = childProcess.spawn(browserPath, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
  stdio: ['ignore', 'ignore', process.env.CHROMIUM_LOG ? 'inherit' : 'ignore', 'pipe', 'pipe'],
  detached: true, // its own process group: helpers go down with it
});

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  setTimeout(() => {
    fs.rmSync(profile, { recursive: true, force: true });
    process.exit(code);
  }, 200);
}
process.on('exit', () => {
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // already gone
  }
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => finish(1));
browser.on('error', (e) => { say(`RESULT fail cannot start ${browserPath}: ${e.message}`); finish(1); });
browser.on('exit', () => { if (!finished) { say('RESULT fail chromium exited'); finish(1); } });
setTimeout(() => { say('RESULT fail timeout'); finish(2); }, timeoutS * 1000);

// DevTools over the pipe.
let nextId = 1;
const pending = new Map();
const listeners = new Map();
let inbuf = Buffer.alloc(0);
browser.stdio[4].on('data', (chunk) => {
  inbuf = Buffer.concat([inbuf, chunk]);
  let end;
  while ((end = inbuf.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbuf.subarray(0, end).toString('utf8'));
    inbuf = inbuf.subarray(end + 1);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    } else if (msg.method && listeners.has(msg.method)) {
      listeners.get(msg.method)(msg.params);
    }
  }
});
browser.stdio[3].on('error', () => {});
browser.stdio[4].on('error', () => {});
function call(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    browser.stdio[3].write(JSON.stringify(msg) + '\0');
  });
}

async function main() {
  const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
  const page = (method, params) => call(method, params, sessionId);
  listeners.set('Runtime.bindingCalled', ({ name, payload }) => {
    if (name !== 'report' || finished) return;
    say(payload);
    if (payload.startsWith('RESULT ')) finish(payload.startsWith('RESULT ok') ? 0 : 1);
  });
  listeners.set('Runtime.exceptionThrown', ({ exceptionDetails: d }) => {
    say(`RESULT fail page exception: ${(d.exception && d.exception.description) || d.text}`);
    finish(1);
  });
  await page('Runtime.addBinding', { name: 'report' });
  await page('Runtime.enable');
  await page('Page.enable');
  const target = url.pathToFileURL(pagePath);
  target.searchParams.set('signal', signalUrl);
  for (const [k, v] of new URLSearchParams(process.env.PM_PAGE_PARAMS || '')) target.searchParams.set(k, v);
  await page('Page.navigate', { url: target.href });
  const gateDir = process.env.PM_GATE_DIR;
  if (gateDir) {
    const seen = new Set();
    setInterval(() => {
      let names = [];
      try {
        names = fs.readdirSync(gateDir);
      } catch {
        return;
      }
      for (const name of names.filter((n) => !seen.has(n))) {
        seen.add(name);
        page('Runtime.evaluate', { expression: `window.onGate && window.onGate(${JSON.stringify(name)})` })
          .catch(() => {});
      }
    }, 50);
  }
}

main().catch((e) => { say(`RESULT fail ${e.message}`); finish(1); });

// Headless Chromium over its DevTools protocol on --remote-debugging-pipe
// (fd 3: commands in, fd 4: replies and events out, JSON messages ended by
// NUL), for tests/web/driver.js: open pages, evaluate in them, screenshot
// them, collect what the console says. Node.js >= 18, no npm packages.
'use strict';
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// The machine has no network: these keep Chromium from trying (c.md, "Known to work").
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
  '--mute-audio', '--disable-extensions', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-domain-reliability',
  '--disable-default-apps', '--disable-client-side-phishing-detection',
  // Pages in the background keep their timers (the game ticks every 10 ms).
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // Loopback host candidates with their real addresses: allowed by the first
  // switch, offered to a page holding a media permission (granted below).
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--remote-debugging-pipe',
];

async function launch(opts) {
  const exe = opts.executable || process.env.CHROMIUM || '/usr/bin/chromium';
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-web-chromium-'));
  const proc = childProcess.spawn(exe, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', process.env.CHROMIUM_LOG ? 'inherit' : 'ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: helpers go down with it
  });
  const b = { kind: 'chromium', errors: [], proc, pages: [] };
  let nextId = 1;
  const pending = new Map();
  const sessions = new Map(); // sessionId -> page
  let inbuf = Buffer.alloc(0);
  let exited = false;
  proc.on('exit', () => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error('chromium exited'));
    pending.clear();
  });
  proc.on('error', (e) => b.errors.push(`cannot start ${exe}: ${e.message}`));
  proc.stdio[3].on('error', () => {});
  proc.stdio[4].on('error', () => {});
  proc.stdio[4].on('data', (chunk) => {
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
      } else if (msg.method) {
        onEvent(sessions.get(msg.sessionId), msg.method, msg.params);
      }
    }
  });
  const call = (method, params = {}, sessionId) => {
    if (exited) return Promise.reject(new Error('chromium exited'));
    const id = nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      proc.stdio[3].write(JSON.stringify(msg) + '\0');
    });
  };
  const onEvent = (page, method, p) => {
    const where = page ? page.name : 'browser';
    if (method === 'Runtime.consoleAPICalled' && p.type === 'error')
      b.errors.push(`${where} console.error: ${p.args.map((a) => a.value ?? a.description).join(' ')}`);
    else if (method === 'Runtime.exceptionThrown')
      b.errors.push(`${where} exception: ${(p.exceptionDetails.exception || {}).description || p.exceptionDetails.text}`);
    else if (method === 'Log.entryAdded' && p.entry.level === 'error')
      b.errors.push(`${where} ${p.entry.source}: ${p.entry.text} ${p.entry.url || ''}`);
    else if (page && method === 'Runtime.consoleAPICalled' && page.onConsole)
      page.onConsole(p.type, p.args.map((a) => a.value ?? a.description).join(' '));
  };

  b.open = async (url, name) => {
    // The media permission that unlocks loopback candidates, without the page asking.
    await call('Browser.grantPermissions', { origin: new URL(url).origin, permissions: ['audioCapture'] });
    const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
    const page = { name, sessionId, targetId };
    sessions.set(sessionId, page);
    b.pages.push(page);
    await call('Runtime.enable', {}, sessionId);
    await call('Log.enable', {}, sessionId);
    await call('Page.enable', {}, sessionId);
    await call('Page.navigate', { url }, sessionId);
    return page;
  };
  b.eval = async (page, expression) => {
    const r = await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true },
                         page.sessionId);
    if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  b.screenshot = async (page) => {
    // A page in the background is not drawn (no animation frames): bring it forward first.
    await call('Page.bringToFront', {}, page.sessionId);
    await new Promise((r) => setTimeout(r, 300));
    const r = await call('Page.captureScreenshot', { format: 'png' }, page.sessionId);
    return Buffer.from(r.data, 'base64');
  };
  b.close = () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    setTimeout(() => fs.rmSync(profile, { recursive: true, force: true }), 200).unref();
  };
  process.on('exit', b.close);
  await call('Browser.getVersion').then((v) => { b.version = v.product; });
  return b;
}

module.exports = { launch };

#!/usr/bin/env node
// chromium-peer: peermesh's interop reference peer in headless Chromium.
//
// Speaks the peer interface of tests/interop (see tests/interop/README.md).
// This launcher (Node >= 18, no npm packages) starts /usr/bin/chromium (or
// $CHROMIUM) with a fresh profile under $TMPDIR, drives it over the DevTools
// protocol on --remote-debugging-pipe (fd 3: commands in, fd 4: replies and
// events out, messages separated by NUL bytes), loads page.html from file://
// and relays: stdin signaling -> page, page -> stdout signaling / stderr
// events. The WebRTC logic is in page.js. $CHROMIUM_LOG=1 shows the
// browser's own stderr.
'use strict';
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const url = require('node:url');

const EXIT_FAIL = 1, EXIT_TIMEOUT = 2, EXIT_USAGE = 64;

const nowMs = () => Math.round(performance.now() * 10) / 10; // since this process started
const log = (text) => process.stderr.write(`[chromium ${nowMs().toFixed(1).padStart(8)}ms] ${text}\n`);
const emit = (ev) => process.stderr.write(JSON.stringify({ ...ev, ms: nowMs() }) + '\n');

const BASE_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
  '--mute-audio', '--disable-extensions',
  // Nothing but the test may use the network (and no QUIC probing).
  '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-domain-reliability', '--disable-client-side-phishing-detection',
  // Timers in a headless page must not be throttled: the test paces on them.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--remote-debugging-pipe',
];
// Loopback host candidates: allowed by the first switch, but offered only to
// a page holding a media permission (page.js asks; the fake UI grants it),
// and with real addresses rather than mDNS names. --mdns leaves all of this
// out: Chromium's defaults, host addresses hidden behind ".local" names.
const REAL_ADDRESS_FLAGS = [
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const USAGE = 'usage: chromium-peer (--offer|--answer) [--echo|--sink|--send N [--size B,...] [--text]] ' +
  '[--label L] [--protocol P] [--unordered] [--max-retransmits K|--max-packet-lifetime MS] ' +
  '[--negotiated --id K|--channels reliable,ordered,unreliable] [--timeout S] ' +
  '[--ice-server URL]... [--ice-username U --ice-credential C] [--relay-only] [--ice-tls-insecure] ' +
  '[--bind IP|any] [--mdns]';

function usage(problem) {
  process.stderr.write(`chromium-peer: ${problem}\n${USAGE}\n`);
  process.exit(EXIT_USAGE);
}

function parseCommandLine(argv) {
  const flags = new Set(['offer', 'answer', 'echo', 'sink', 'text', 'unordered', 'negotiated', 'relay-only',
    'ice-tls-insecure', 'mdns']);
  const valued = new Set(['send', 'size', 'label', 'protocol', 'max-retransmits', 'max-packet-lifetime', 'id',
    'channels', 'timeout', 'ice-username', 'ice-credential', 'bind']);
  const o = { urls: [] };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) usage(`unexpected argument ${argv[i]}`);
    const [, name, inline] = m;
    if (flags.has(name) && inline === undefined) o[name] = true;
    else if (name === 'ice-server') {
      const v = inline !== undefined ? inline : argv[++i];
      if (!/^(stun:[^?]+|turn:[^?]+(\?transport=(udp|tcp))?|turns:[^?]+(\?transport=tcp)?)$/.test(v || '')) {
        usage(`bad --ice-server ${JSON.stringify(v)}`);
      }
      o.urls.push(v);
    } else if (valued.has(name)) {
      const v = inline !== undefined ? inline : argv[++i];
      if (v === undefined) usage(`--${name} needs a value`);
      o[name] = v;
    } else usage(`unknown option --${name}`);
  }
  const int = (name, lo, hi) => {
    if (o[name] === undefined) return null;
    const v = Number(o[name]);
    if (!Number.isInteger(v) || v < lo || v > hi) usage(`--${name} takes an integer ${lo}..${hi}`);
    return v;
  };
  const conf = {
    offer: !!o.offer, echo: !!o.echo, sink: !!o.sink, send: int('send', 0, 1e9) ?? 0, text: !!o.text,
    sizes: (o.size ?? '1200').split(',').map((s) => (/^\d+$/.test(s.trim()) ? Number(s) : NaN)),
    label: o.label ?? 'data', protocol: o.protocol ?? '', unordered: !!o.unordered,
    maxRetransmits: int('max-retransmits', 0, 65535), maxPacketLifeTime: int('max-packet-lifetime', 0, 65535),
    negotiated: !!o.negotiated, id: int('id', 0, 65534), channels: o.channels ? o.channels.split(',') : null,
    timeout: o.timeout === undefined ? 30 : Number(o.timeout),
    iceServers: o.urls.length ? [{ urls: o.urls, username: o['ice-username'], credential: o['ice-credential'] }] : [],
    relayOnly: !!o['relay-only'], tlsInsecure: !!o['ice-tls-insecure'], mdns: !!o.mdns, bind: o.bind ?? null,
  };
  const turn = o.urls.some((u) => /^turns?:/.test(u));
  if (turn && (!o['ice-username'] || !o['ice-credential'])) {
    usage('a turn:/turns: --ice-server needs --ice-username and --ice-credential');
  }
  if (conf.relayOnly && !turn) usage('--relay-only needs a turn:/turns: --ice-server');
  if (!!o.offer === !!o.answer) usage('need exactly one of --offer, --answer');
  if (conf.echo + conf.sink + (conf.send > 0) > 1) usage('at most one of --echo, --sink, --send');
  if (conf.sizes.some((n) => !Number.isSafeInteger(n))) usage('--size takes byte counts separated by commas');
  if (conf.maxRetransmits !== null && conf.maxPacketLifeTime !== null) {
    usage('--max-retransmits and --max-packet-lifetime exclude each other');
  }
  if (conf.negotiated && conf.id === null) usage('--negotiated needs --id');
  if (conf.negotiated && conf.channels) usage('--negotiated and --channels exclude each other');
  if (conf.channels && conf.channels.some((k) => !['reliable', 'ordered', 'unreliable'].includes(k))) {
    usage('--channels takes a list of reliable, ordered, unreliable');
  }
  if (!(conf.timeout > 0)) usage('--timeout takes a positive number of seconds');
  return conf;
}

// A minimal DevTools protocol client: JSON messages separated by NUL bytes.
class DevTools {
  constructor(toBrowser, fromBrowser) {
    this.toBrowser = toBrowser;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, method}
    this.listeners = new Map(); // event method -> fn(params)
    let buffered = Buffer.alloc(0);
    fromBrowser.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      let end;
      while ((end = buffered.indexOf(0)) >= 0) {
        const text = buffered.subarray(0, end).toString('utf8');
        buffered = buffered.subarray(end + 1);
        this.dispatch(JSON.parse(text));
      }
    });
    fromBrowser.on('error', () => {});
    toBrowser.on('error', () => {});
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      if (msg.error) call.reject(new Error(`${call.method}: ${msg.error.message}`));
      else call.resolve(msg.result);
    } else {
      const fn = this.listeners.get(msg.method);
      if (fn) fn(msg.params, msg.sessionId);
    }
  }

  call(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.toBrowser.write(JSON.stringify(msg) + '\0');
    });
  }

  on(method, fn) {
    this.listeners.set(method, fn);
  }
}

const conf = parseCommandLine(process.argv.slice(2));
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(browserPath)) {
  emit({ event: 'result', ok: false, error: `${browserPath} not found (install chromium)` });
  process.exit(EXIT_FAIL);
}
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-chromium-peer-'));
// The browser gets a process group of its own, so that its helper processes
// (zygote, renderer, network service, crash handler) can be stopped with it
// without touching anything else.
const BROWSER_FLAGS = [...BASE_FLAGS, ...(conf.mdns ? [] : REAL_ADDRESS_FLAGS),
  // Test TURN servers have self-signed certificates (Chromium verifies against its own store).
  ...(conf.tlsInsecure ? ['--ignore-certificate-errors'] : [])];
const browser = childProcess.spawn(browserPath, [...BROWSER_FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
  stdio: ['ignore', 'ignore', process.env.CHROMIUM_LOG ? 'inherit' : 'ignore', 'pipe', 'pipe'],
  detached: true,
});
const browserRunning = () => browser.exitCode === null && browser.signalCode === null;

function killBrowserGroup() {
  if (!browser.pid) return;
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
// Whatever way we leave, the browser we started does not outlive us.
process.on('exit', killBrowserGroup);
const devtools = new DevTools(browser.stdio[3], browser.stdio[4]);
let leaving = false;
let pageCall = null; // (method, params) -> promise, once the page session exists

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Close the browser we started (gracefully unless `hurry`, then by force),
// remove its profile, exit.
async function leave(code, hurry = false) {
  if (leaving) return;
  leaving = true;
  if (browserRunning()) {
    const gone = new Promise((resolve) => browser.once('exit', resolve));
    if (!hurry) {
      devtools.call('Browser.close').catch(() => {});
      await Promise.race([gone, sleep(2000)]);
    }
    if (browserRunning()) browser.kill('SIGKILL');
    await Promise.race([gone, sleep(1000)]);
  }
  killBrowserGroup(); // helpers that outlived the browser process
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.rmSync(profile, { recursive: true, force: true });
      break;
    } catch (e) {
      if (attempt === 4) log(`cannot remove ${profile}: ${e.message}`);
      else await sleep(100); // a helper was still writing into it
    }
  }
  process.exit(code);
}

function fail(error) {
  if (leaving) return;
  emit({ event: 'result', ok: false, error });
  leave(EXIT_FAIL);
}

async function onTimeout() {
  let channels;
  if (pageCall) {
    const r = pageCall('Runtime.evaluate', { expression: 'progress()', returnByValue: true }).catch(() => null);
    const got = await Promise.race([r, new Promise((resolve) => setTimeout(resolve, 500))]);
    channels = got && got.result ? got.result.value : undefined;
  }
  if (!leaving) emit({ event: 'result', ok: false, error: 'timeout', channels });
  leave(EXIT_TIMEOUT);
}

async function main() {
  setTimeout(onTimeout, conf.timeout * 1000);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => leave(128 + os.constants.signals[sig], true));
  }
  browser.on('exit', (code, sig) => leaving || fail(`chromium exited unexpectedly (${code ?? sig})`));
  browser.on('error', (e) => fail(`cannot start ${browserPath}: ${e.message}`));

  const { product } = await devtools.call('Browser.getVersion');
  log(`${product} up`);
  const { targetId } = await devtools.call('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await devtools.call('Target.attachToTarget', { targetId, flatten: true });
  pageCall = (method, params) => devtools.call(method, params, sessionId);

  devtools.on('Runtime.bindingCalled', ({ name, payload }) => {
    if (name !== 'hostEmit' || leaving) return;
    const [kind, data] = JSON.parse(payload);
    if (kind === 'signal') process.stdout.write(JSON.stringify(data) + '\n');
    else if (kind === 'event') emit(data);
    else if (kind === 'log') log(data);
    else if (kind === 'exit') leave(data);
  });
  devtools.on('Runtime.exceptionThrown', ({ exceptionDetails: d }) =>
    fail(`page exception: ${d.exception && d.exception.description ? d.exception.description : d.text}`));
  devtools.on('Runtime.consoleAPICalled', ({ type, args }) =>
    log(`console.${type}: ${args.map((a) => a.value ?? a.description ?? a.type).join(' ')}`));
  devtools.on('Inspector.targetCrashed', () => fail('page crashed'));

  const loaded = new Promise((resolve) => devtools.on('Page.loadEventFired', resolve));
  await pageCall('Runtime.addBinding', { name: 'hostEmit' });
  await pageCall('Runtime.enable');
  await pageCall('Page.enable');
  await pageCall('Page.navigate', { url: url.pathToFileURL(path.join(__dirname, 'page.html')).href });
  await loaded;
  log('page loaded');

  const evaluate = async (expression) => {
    const r = await pageCall('Runtime.evaluate', { expression, awaitPromise: true });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(d.exception && d.exception.description ? d.exception.description : d.text);
    }
  };
  // Signaling may arrive while the page starts; keep it until start() is done.
  const early = [];
  let deliver = (msg) => early.push(msg);
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      log(`ignoring bad signaling line ${line.slice(0, 120)}`);
      return;
    }
    deliver(msg);
  });
  await evaluate(`start(${JSON.stringify(conf)})`);
  // page.js queues signaling itself, so these calls need not wait for each other.
  deliver = (msg) => evaluate(`onSignal(${JSON.stringify(msg)})`).catch((e) => fail(`signaling: ${e.message}`));
  early.splice(0).forEach(deliver);
}

main().catch((e) => fail(String((e && e.message) || e)));

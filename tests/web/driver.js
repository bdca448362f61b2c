#!/usr/bin/env node
// The web demo's browser test (tests/web/run.sh): pages of the demo in a
// headless browser and native bots (`peermesh bot`) meet in one mesh
// through peermesh-signal --web-root.
//
//   node driver.js --browser chromium|firefox --url http://127.0.0.1:PORT/
//                  --peermesh PATH --pages N --bots N --out DIR [--timeout S]
//
// Page 1 creates the lobby, the bots join it, then the other pages load
// /?lobby=NAME (the last one is timed: page load to all its links open).
// Checked: every page sees every other player connected, their positions
// coming in (30 a second) and their round trips; a chat line from each
// (the greeting every player sends, and a line typed into each page's chat
// box, which the bots print); the screenshot of page 1 (OUT/web-BROWSER.png)
// shows every player's dot; the console says no error. Prints "MEASURE ..."
// lines and "RESULT ok" or "RESULT fail WHY"; exit 0 only for ok.
'use strict';
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const png = require('./png.js');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const kind = args.browser, base = args.url, pages = Number(args.pages || 2), bots = Number(args.bots || 2);
const timeoutS = Number(args.timeout || 60);
if (!/^(chromium|firefox)$/.test(kind || '') || !/^https?:\/\//.test(base || '') || !args.peermesh || !args.out) {
  process.stderr.write('usage: driver.js --browser chromium|firefox --url URL --peermesh PATH --pages N --bots N --out DIR\n');
  process.exit(64);
}
const players = pages + bots;
// game.c's palette, to find each player's dot in the screenshot.
const PALETTE = [0xff6b6b, 0xffd93d, 0x6bcb77, 0x4d96ff, 0xc77dff, 0xff9f1c, 0x2ec4b6, 0xf72585, 0x90e0ef, 0xb5e48c];

const say = (line) => process.stdout.write(line + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let browser = null, botProc = null, botOut = '';
function finish(ok, why) {
  say(ok ? 'RESULT ok' : `RESULT fail ${why}`);
  if (botProc) botProc.kill('SIGTERM');
  if (browser) browser.close();
  setTimeout(() => process.exit(ok ? 0 : 1), 300);
}
setTimeout(() => finish(false, 'timeout'), timeoutS * 1000).unref();

async function status(page) {
  return JSON.parse(await browser.eval(page, 'JSON.stringify(window.peermeshStatus ? window.peermeshStatus() : null)'));
}
// Wait until test(status) holds for the page; returns that status.
async function until(page, what, test, ms = 20000) {
  const end = Date.now() + ms;
  let s = null;
  while (Date.now() < end) {
    s = await status(page);
    if (s && test(s)) return s;
    await sleep(20);
  }
  throw new Error(`${page.name}: ${what} (status ${JSON.stringify(s)})`);
}
const connected = (s) => s.peers.filter((p) => p.connected);

async function main() {
  const launcher = require(kind === 'chromium' ? './cdp.js' : './bidi.js');
  browser = await launcher.launch({});
  say(`BROWSER ${browser.version}`);

  const p1 = await browser.open(base, 'page 1');
  const lobby = (await until(p1, 'no lobby', (s) => s.lobby)).lobby;
  say(`LOBBY ${lobby}`);
  const wsUrl = base.replace(/^http/, 'ws');
  botProc = childProcess.spawn(args.peermesh, ['bot', '--server', wsUrl, '--lobby', lobby, '--count', String(bots),
                                               '--duration', String(timeoutS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  botProc.stdout.on('data', (d) => { botOut += d; });
  botProc.stderr.on('data', (d) => { botOut += d; });
  await until(p1, 'the bots did not connect', (s) => connected(s).length >= bots);

  // The other pages join; the last one is timed from its load to all its links open.
  const all = [p1];
  for (let i = 2; i <= pages; i++) {
    const page = await browser.open(`${base}?lobby=${encodeURIComponent(lobby)}`, `page ${i}`);
    all.push(page);
    if (i < pages) await until(page, 'did not join', (s) => connected(s).length >= bots + i - 1);
  }
  const last = all[all.length - 1];
  for (;;) {
    const r = JSON.parse(await browser.eval(
      last, 'JSON.stringify({s: window.peermeshStatus ? window.peermeshStatus() : null, t: performance.now()})'));
    if (r.s && connected(r.s).length === players - 1) {
      say(`MEASURE load_to_all_open_ms ${r.t.toFixed(0)} (${last.name}, ${players - 1} links)`);
      break;
    }
    await sleep(5);
  }

  // Everyone sees everyone: connected, positions flowing, a round trip.
  const before = [];
  for (const page of all) {
    await until(page, 'not every player connected with positions and a round trip',
                (s) => connected(s).length === players - 1 &&
                       s.peers.every((p) => p.positions_received > 0 && p.rtt_ms !== null));
    before.push({ s: await status(page), t: Date.now() });
  }
  await sleep(1000);
  for (let i = 0; i < all.length; i++) {
    const now = await status(all[i]), secs = (Date.now() - before[i].t) / 1000;
    for (const p of now.peers) {
      const was = before[i].s.peers.find((q) => q.id === p.id);
      const rate = (p.positions_received - (was ? was.positions_received : 0)) / secs;
      say(`MEASURE ${all[i].name} from ${p.id}: ${rate.toFixed(1)} positions/s, rtt ${p.rtt_ms} ms`);
      if (rate < 10) throw new Error(`${all[i].name}: only ${rate.toFixed(1)} positions/s from ${p.id}`);
    }
  }

  // Chat: each page types a line; every player gets it (pages: chat_received, bots: they print it).
  for (const page of all) {
    const line = `line from ${page.name}`;
    await browser.eval(page, `(() => { const i = document.getElementById('say'); i.value = ${JSON.stringify(line)};
      i.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' })); return true; })()`);
  }
  for (const page of all) {
    // players - 1 greetings and a line from every other page.
    await until(page, 'chat lines missing', (s) => s.chat_received >= players - 1 + pages - 1);
    const text = await browser.eval(page, "document.getElementById('chat').textContent");
    for (const other of all)
      if (other !== page && !text.includes(`line from ${other.name}`))
        throw new Error(`${page.name} did not show the line of ${other.name}`);
  }
  const end = Date.now() + 5000;
  while (Date.now() < end && !all.every((p) => (botOut.match(new RegExp(`\\] line from ${p.name}$`, 'gm')) || []).length === bots))
    await sleep(50);
  for (const page of all) {
    const n = (botOut.match(new RegExp(`\\] line from ${page.name}$`, 'gm')) || []).length;
    if (n !== bots) throw new Error(`${n} of ${bots} bots printed the line of ${page.name}`);
  }

  // The screenshot shows every player's dot.
  const s1 = await status(p1);
  const shot = await browser.screenshot(p1);
  fs.mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, `web-${kind}.png`);
  fs.writeFileSync(file, shot);
  const img = png.decode(shot);
  const ids = [s1.id, ...s1.peers.map((p) => p.id)];
  const counts = png.countColours(img, [...new Set(ids.map((id) => PALETTE[(id >>> 0) % PALETTE.length]))]);
  say(`SCREENSHOT ${file} ${img.width}x${img.height} ${[...counts].map(([c, n]) => `#${c.toString(16)}:${n}`).join(' ')}`);
  for (const [c, n] of counts)
    if (n < 100) throw new Error(`the screenshot has no dot of colour #${c.toString(16)} (${n} pixels)`);

  await sleep(200); // late console messages
  if (browser.errors.length) throw new Error(`console errors:\n  ${browser.errors.join('\n  ')}`);
  finish(true);
}

main().catch((e) => {
  if (botOut) say(`bots said:\n${botOut.split('\n').slice(-15).join('\n')}`);
  if (browser && browser.errors.length) say(`console errors:\n  ${browser.errors.join('\n  ')}`);
  finish(false, e.message);
});

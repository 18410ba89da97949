// The browser tests' harness: starts the already-built `zhili serve --demo` on a fresh
// data directory and a free port, launches Debian's Chromium through playwright-core,
// and guards every page so that a request to any host but the zhili server is refused
// and recorded. It builds nothing: run `cargo build -p zhili` first.

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

export const ZHILI_BIN = resolve(process.env.ZHILI_BIN ?? join(here, '..', 'target', 'debug', 'zhili'));
export const CHROMIUM = process.env.ZHILI_CHROMIUM ?? '/usr/bin/chromium';
export const ARTEFACTS = join(here, 'artefacts');
export const DEMO_PASSWORD = 'zhili-demo';

// Without the background-networking flags Chromium calls Google's services at start.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Servers still running when this process ends (a test crashed) are killed with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs the binary until it prints `listening on http://…`; resolves with the child and the address. */
function startZhili(dataDir, { timeoutMs }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      ZHILI_BIN,
      ['serve', '--demo', '--data-dir', dataDir, '--bind', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } },
    );
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zhili did not start within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1], log: () => out + err });
      }
    });
    running.add(child);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new Error(`zhili exited (${code ?? signal}) before listening\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
}

function stopZhili(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(hard); r(); });
    child.kill('SIGTERM');
  });
}

async function waitHealthy(url, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}/healthz did not answer: ${last}`);
}

/**
 * A data directory with the demo city loaded and its classification model trained.
 * The first `--demo` start takes about a minute in a debug build (loading ~16 s,
 * training ~35 s), so it is done once per binary and day and copied for each test
 * file; each test file still gets a server of its own on a fresh copy.
 */
async function demoTemplate() {
  const st = statSync(ZHILI_BIN);
  const key = createHash('sha256')
    .update(`${ZHILI_BIN}|${st.size}|${st.mtimeMs}|${new Date().toISOString().slice(0, 10)}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `zhili-browser-demo-${key}`);
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(join(dir, 'ready'))) return dir;
    try {
      mkdirSync(lock); // atomic: one test process builds the template, the others wait
      break;
    } catch {
      // A lock older than 10 minutes was left by a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone already */ }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (existsSync(join(dir, 'ready'))) return dir;
    removeOldTemplates();
    const building = mkdtempSync(join(tmpdir(), 'zhili-browser-demo-building-'));
    try {
      const { child } = await startZhili(building, { timeoutMs: 600_000 });
      await stopZhili(child);
      writeFileSync(join(building, 'ready'), 'demo loaded, model trained\n');
      rmSync(dir, { recursive: true, force: true });
      renameSync(building, dir);
    } catch (e) {
      rmSync(building, { recursive: true, force: true });
      throw e;
    }
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Templates of other binaries or days, untouched for a day, are of no further use. */
function removeOldTemplates() {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('zhili-browser-demo-') || name.endsWith('.lock')) continue;
    const path = join(tmpdir(), name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
    } catch { /* removed by another run */ }
  }
}

/** Starts a zhili demo server of its own on a fresh data directory. */
export async function startServer() {
  if (!existsSync(ZHILI_BIN)) {
    throw new Error(`${ZHILI_BIN} is missing: build it first (cargo build -p zhili)`);
  }
  const template = await demoTemplate();
  const dataDir = mkdtempSync(join(tmpdir(), 'zhili-browser-data-'));
  cpSync(template, dataDir, { recursive: true });
  let started;
  try {
    started = await startZhili(dataDir, { timeoutMs: 120_000 });
    await waitHealthy(started.url);
  } catch (e) {
    if (started) await stopZhili(started.child);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const { child, url, log } = started;
  const u = new URL(url);
  return {
    url,
    host: u.host,
    log,
    async stop() {
      await stopZhili(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile (playwright makes a new one per launch). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A browser context (its own cookies: one user) whose every request to a host other
 * than the zhili server is aborted and listed in `offHost`, and where every breach of
 * the server's Content-Security-Policy that a page reports is listed there too (a
 * style, script or image the policy refused is a page that looks or works wrong).
 * Tests assert it is empty.
 */
export async function guardedContext(browser, server, options = {}) {
  const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
  const offHost = [];
  context.on('page', (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) offHost.push(`CSP: ${m.text()}`);
    });
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === 'http:' && u.host === server.host) || u.protocol === 'data:' || u.protocol === 'blob:';
    } catch { /* not a URL: refuse */ }
    if (ok) return route.continue();
    offHost.push(url);
    return route.abort('blockedbyclient');
  });
  return { context, offHost };
}

/** Signs in through the login form. */
export async function login(page, server, username, password = DEMO_PASSWORD) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.getByRole('button', { name: '登录' }).click(),
  ]);
}

/** A full-page screenshot into artefacts/ (gitignored), for the record. */
export async function screenshot(page, name) {
  mkdirSync(ARTEFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });
}

export function writeArtefact(name, content) {
  mkdirSync(ARTEFACTS, { recursive: true });
  writeFileSync(join(ARTEFACTS, name), content);
}

const AXE = join(here, 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Runs axe-core (test tooling injected from node_modules, not a page asset) with the
 * WCAG 2 A and AA rules; returns the violations.
 */
export async function axe(page) {
  // Evaluated through the DevTools protocol, which the page's CSP (no inline script)
  // does not govern; a <script> tag added to the page would be refused.
  await page.evaluate(readFileSync(AXE, 'utf8'));
  return page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
}

/** The status badge at the head of an event page, as a user reads it. */
export async function eventStatus(page) {
  return (await page.locator('.page-head .status').innerText()).trim();
}

// The main pages, each as the role that works on it: axe-core's WCAG 2 A/AA checks
// (labels, names, contrast, language, titles…), a full-page screenshot for the
// record, and the login form by keyboard alone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

let server;
let browser;
const guards = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function pageAs(username) {
  const g = await guardedContext(browser, server);
  guards.push(g);
  const page = await g.context.newPage();
  if (username) await login(page, server, username);
  return { page, offHost: g.offHost };
}

/** The URL of the newest event in `status` that `page`'s user sees. */
async function firstEvent(page, status) {
  await page.goto(`${server.url}/events?status=${status}`);
  const href = await page.locator('table.events tbody a').first().getAttribute('href');
  return `${server.url}${href}`;
}

const PAGES = [
  { name: 'login', user: null, path: '/login' },
  { name: 'events-list', user: 'fengshan', path: '/events' },
  { name: 'report-form', user: 'fengshan', path: '/events/new' },
  { name: 'report-form-citizen', user: 'citizen1', path: '/events/new' },
  { name: 'event-detail-reported', user: 'fengshan', event: 'reported' },
  { name: 'event-detail-dispatched', user: 'fengshan', event: 'dispatched' },
  { name: 'event-detail-unit', user: 'zhujian', event: 'dispatched' },
  { name: 'event-detail-citizen', user: 'citizen1', event: 'informed' },
  { name: 'triage', user: 'fengshan', path: '/triage' },
  { name: 'kpi', user: 'city', path: '/kpi' },
  { name: 'command-centre', user: 'city', path: '/command' },
  { name: 'command-centre-township', user: 'fengshan', path: '/command' },
  { name: 'supervision', user: 'city', path: '/supervision' },
  { name: 'recurring', user: 'fengshan', path: '/recurring' },
  { name: 'admin-calendar', user: 'admin', path: '/admin/calendar' },
  { name: 'admin-classification', user: 'admin', path: '/admin/classification' },
  { name: 'admin-routing', user: 'admin', path: '/admin/routing' },
  { name: 'admin-categories', user: 'admin', path: '/admin/categories' },
  { name: 'admin-users', user: 'security', path: '/admin/users' },
  { name: 'audit', user: 'auditor', path: '/audit' },
  { name: 'admin-assessment', user: 'admin', path: '/admin/assessment' },
  { name: 'unit-queue', user: 'zhujian', path: '/queue' },
  { name: 'patrol-grid', user: 'grid1', path: '/patrol' },
  { name: 'patrol-township', user: 'fengshan', path: '/patrol' },
  { name: 'notifications', user: 'fengshan', path: '/notifications' },
  { name: 'chat', user: 'fengshan', path: '/chat' },
  { name: 'oversight-list', user: 'oversight', path: '/events' },
  { name: 'public', user: null, path: '/public' },
  { name: 'public-events', user: null, path: '/public/events' },
  { name: 'public-lookup', user: null, path: '/public/lookup' },
];

describe('accessibility (axe-core, WCAG 2 A and AA) and screenshots', () => {
  for (const p of PAGES) {
    test(`${p.name}${p.user ? ` (${p.user})` : ''}`, async () => {
      const { page, offHost } = await pageAs(p.user);
      const url = p.event ? await firstEvent(page, p.event) : `${server.url}${p.path}`;
      const res = await page.goto(url);
      assert.equal(res.status(), 200, url);
      await screenshot(page, `page-${p.name}`);
      const violations = await axe(page);
      assert.deepEqual(violations, [], `axe violations on ${url}:\n${JSON.stringify(violations, null, 2)}`);
      assert.deepEqual(offHost, [], 'requests to other hosts');
    });
  }
});

test('login by keyboard: Tab reaches username, password, one-time code, the button in order; Enter signs in', async () => {
  const { page, offHost } = await pageAs(null);
  await page.goto(`${server.url}/login`);
  // Arriving on the page, the cursor is in the username field (autofocus).
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'username');
  // From the top of the document (the skip link comes first), Tab reaches the four in order.
  await page.locator('a.skip').focus();
  const order = [];
  for (let i = 0; i < 20 && order.at(-1) !== 'submit'; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const a = document.activeElement;
      return a?.id || (a?.type === 'submit' ? 'submit' : a?.tagName.toLowerCase());
    });
    if (['username', 'password', 'otp', 'submit'].includes(id)) order.push(id);
  }
  assert.deepEqual(order, ['username', 'password', 'otp', 'submit']);
  // A visible focus ring on the button (never colour alone).
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focused button shows an outline');

  // Back to the username past the code field, which an account without an
  // authenticator leaves empty.
  for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+Tab');
  await page.keyboard.type('fengshan');
  await page.keyboard.press('Tab');
  await page.keyboard.type('zhili-demo');
  await Promise.all([page.waitForURL('**/events'), page.keyboard.press('Enter')]);
  await assert.doesNotReject(page.getByRole('heading', { name: '事件列表' }).waitFor());
  assert.deepEqual(offHost, [], 'requests to other hosts');
});

test('no request left the zhili server, on any page of this file', () => {
  for (const g of guards) assert.deepEqual(g.offHost, []);
});

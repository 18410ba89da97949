// The public, oversight and administration pages in English (issue #6): a citizen
// walks /public, /public/events and /public/lookup without logging in and rates the
// handling through the SMS link (/f/{token}); the admin opens every admin page; the
// oversight body opens /kpi and /supervision; the city centre opens /recurring.
// Each switches with the header's language link. On every page: <html lang="en">,
// no Han character outside an element whose closest [lang] is Chinese (data stays as
// it was entered, marked lang="zh-CN"), axe's WCAG 2 A/AA checks, a screenshot.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { axe, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';
import { apiAs, reportInFengshan, unitId } from './api.mjs';

let server;
let browser;
let gateway;
const guards = [];
/** The texts of the SMS the server sent to its gateway (a stand-in on this machine). */
const sms = [];

before(async () => {
  // The server delivers SMS (the rating links) to this gateway; the test reads the
  // link from there, as the citizen would from their phone.
  gateway = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      sms.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => gateway.listen(0, '127.0.0.1', r));
  process.env.ZHILI_SMS_GATEWAY_URL = `http://127.0.0.1:${gateway.address().port}/sms`;
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => (gateway ? gateway.close(r) : r()));
});

/** A fresh browser (its own cookies) in English: `username` signed in, if given. */
async function englishPage(username, start = '/public') {
  const g = await guardedContext(browser, server);
  guards.push(g);
  const page = await g.context.newPage();
  if (username) await login(page, server, username);
  await page.goto(`${server.url}${start}`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN', 'Chinese by default');
  await Promise.all([
    page.waitForURL(`**${start}`),
    page.locator('a.lang-switch').click(),
  ]);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en', 'the switch link gives English');
  return { page, offHost: g.offHost };
}

/**
 * Every text node, and every placeholder, title, aria-label, alt and button value,
 * holding Han characters outside an element whose closest [lang] is Chinese.
 */
function hanOutsideChinese(page) {
  return page.evaluate(() => {
    const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
    const chinese = (el) => (el?.closest('[lang]')?.getAttribute('lang') ?? '').toLowerCase().startsWith('zh');
    const where = (el) => {
      let s = el.tagName.toLowerCase();
      if (el.id) s += `#${el.id}`;
      else if (el.className && typeof el.className === 'string') s += `.${el.className.trim().split(/\s+/).join('.')}`;
      const up = el.parentElement;
      return up ? `${up.tagName.toLowerCase()} > ${s}` : s;
    };
    const bad = [];
    const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.tagName === 'SCRIPT' || el.tagName === 'STYLE') continue;
      if (HAN.test(n.nodeValue) && !chinese(el)) bad.push(`${where(el)}: "${n.nodeValue.trim().slice(0, 100)}"`);
    }
    for (const el of document.querySelectorAll('*')) {
      for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
        const v = el.getAttribute(a);
        if (v && HAN.test(v) && !chinese(el)) bad.push(`${where(el)} [${a}]: "${v}"`);
      }
      const button = el.tagName === 'BUTTON' || (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type));
      if (button && el.value && HAN.test(el.value) && !chinese(el)) bad.push(`${where(el)} [value]: "${el.value}"`);
    }
    return bad;
  });
}

/** The checks of every English page. */
async function checkEnglish(page, name) {
  assert.equal(await page.locator('html').getAttribute('lang'), 'en', `${name}: <html lang="en">`);
  await screenshot(page, `english-${name}`);
  const han = await hanOutsideChinese(page);
  assert.deepEqual(han, [], `${name} (${page.url()}): Han text outside a lang="zh-…" element:\n${han.join('\n')}`);
  const violations = await axe(page);
  assert.deepEqual(violations, [], `axe violations on ${name}:\n${JSON.stringify(violations, null, 2)}`);
}

async function open(page, path, name, status = 200) {
  const res = await page.goto(`${server.url}${path}`);
  assert.equal(res.status(), status, path);
  await checkEnglish(page, name);
}

/** A 凤山 event taken to 已反馈 by SMS; its number, check code and rating-link token. */
async function informedEvent() {
  const fengshan = await apiAs(server, 'fengshan');
  const zhujian = await apiAs(server, 'zhujian');
  const e = await reportInFengshan(fengshan, `英文页面测试${Date.now()}：小区门口路灯不亮`, '0101');
  const act = (call, body) => call('POST', `/api/v1/events/${e.id}/actions`, body);
  await act(fengshan, { action: 'accept' });
  await act(fengshan, { action: 'dispatch', lead_unit: await unitId(fengshan, 'D-ZJ') });
  await act(zhujian, { action: 'sign' });
  await act(zhujian, { action: 'resolve', result: '已更换灯泡，路灯恢复照明' });
  await act(fengshan, { action: 'verify_pass' });
  await act(fengshan, { action: 'inform', channel: 'sms' });
  let token;
  for (let i = 0; i < 150 && !token; i++) {
    const m = sms.map((b) => b.match(new RegExp(`${e.number}[^]*?/f/([A-Za-z0-9_-]+)`))).find(Boolean);
    token = m?.[1];
    if (!token) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(token, `an SMS with the rating link of ${e.number}; got ${sms.length} messages`);
  return { number: e.number, code: e.check_code, token };
}

describe('a citizen, without logging in, in English', () => {
  test('public statistics, events and pages of events', async () => {
    const { page, offHost } = await englishPage(null, '/public');
    await page.getByRole('heading', { name: 'How events are being handled' }).waitFor();
    await checkEnglish(page, 'public-stats');
    await page.getByLabel('From').fill('2020-01-01');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL('**/public?**');
    await checkEnglish(page, 'public-stats-filtered');
    await open(page, '/public?from=2026-13-01', 'public-stats-bad-date', 422);
    await page.getByText('Invalid date').or(page.getByText('Dates are written')).first().waitFor();

    await page.getByRole('link', { name: 'Public events' }).click();
    await page.getByRole('heading', { name: 'Events and their handling' }).waitFor();
    await checkEnglish(page, 'public-events');
    await page.getByLabel('Status').selectOption({ label: 'Reported back' });
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL('**/public/events?**');
    await checkEnglish(page, 'public-events-filtered');
    await open(page, '/public/events?page=2', 'public-events-page-2');
    assert.deepEqual(offHost, [], 'requests to other hosts');
  });

  test('progress lookup and the one-time rating link', async () => {
    const e = await informedEvent();
    const { page, offHost } = await englishPage(null, '/public/lookup');
    await page.getByRole('heading', { name: "Look up an event's progress" }).waitFor();
    await checkEnglish(page, 'public-lookup');
    await page.getByLabel('Event number').fill(e.number);
    await page.getByLabel('Check code').fill(e.code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Not found: the event number or the check code is wrong.').waitFor();
    await checkEnglish(page, 'public-lookup-not-found');
    await page.getByLabel('Check code').fill(e.code);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: e.number }).waitFor();
    await page.getByText('Rating link: Awaiting rating').waitFor();
    await page.getByRole('heading', { name: 'Handling history' }).waitFor();
    await checkEnglish(page, 'public-lookup-found');

    await open(page, `/f/${e.token}`, 'rating');
    await page.getByRole('heading', { name: 'Please rate the result' }).waitFor();
    // Asking for it to be handled again without a reason is refused, in English.
    await page.getByLabel('Dissatisfied', { exact: true }).check();
    await page.getByLabel('Ask for the event to be handled again').check();
    await page.getByRole('button', { name: 'Send rating' }).click();
    await page.getByText('When asking for it to be handled again, give the reason').waitFor();
    await checkEnglish(page, 'rating-refused');
    await page.getByLabel('Why it should be handled again').fill('The lamp is still off at night.');
    await page.getByRole('button', { name: 'Send rating' }).click();
    await page.getByRole('heading', { name: 'Rating sent' }).waitFor();
    await page.getByText(`We have received your rating of event ${e.number} (Dissatisfied)`).waitFor();
    await checkEnglish(page, 'rating-sent');
    // The link works once.
    await open(page, `/f/${e.token}`, 'rating-used', 410);
    await page.getByRole('heading', { name: 'Rating link already used' }).waitFor();
    await open(page, '/f/nosuchtoken', 'rating-unknown', 404);
    await page.getByRole('heading', { name: 'No such rating link' }).waitFor();
    // In Chinese the same page is as before.
    await page.locator('a.lang-switch').click();
    await page.getByRole('heading', { name: '评价链接不存在' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    assert.deepEqual(offHost, [], 'requests to other hosts');
  });
});

describe('the oversight pages in English', () => {
  test('oversight: KPIs, the events behind a number, supervision orders', async () => {
    const { page, offHost } = await englishPage('oversight', '/kpi');
    await page.getByRole('heading', { name: /^KPIs: / }).waitFor();
    await checkEnglish(page, 'kpi');
    const link = page.locator('table.table tbody a').first();
    if (await link.count()) {
      await link.click();
      await page.getByRole('link', { name: 'Back to the KPIs' }).waitFor();
      await checkEnglish(page, 'kpi-events');
    }
    await open(page, '/kpi?area=nosuch', 'kpi-unknown-area', 404);
    await open(page, '/supervision', 'supervision');
    await page.getByRole('heading', { name: 'Supervision', exact: true }).waitFor();
    await page.getByLabel('Only overdue without a reply').check();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL('**/supervision?**');
    await checkEnglish(page, 'supervision-overdue');
    await open(page, '/supervision?status=nonsense', 'supervision-bad-status');
    assert.deepEqual(offHost, [], 'requests to other hosts');
  });

  test('city centre: recurring problems', async () => {
    const { page, offHost } = await englishPage('city', '/recurring');
    await page.getByRole('heading', { name: 'Recurring problems', level: 1 }).waitFor();
    await checkEnglish(page, 'recurring');
    assert.deepEqual(offHost, [], 'requests to other hosts');
  });
});

test('no request left the zhili server, on any page of this file', () => {
  for (const g of guards) assert.deepEqual(g.offHost, []);
});

// A unit handler's queue: zhujian (住建局) sees the unit's open events nearest
// deadline first, moves between rows with j / k, signs one and returns another with
// a reason, each with one press from the queue.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';
import { apiAs, categoryCode, reportInFengshan, unitId } from './api.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('zhujian signs for one event and returns another from the queue, sorted by deadline', async () => {
  // Two fresh events dispatched to 住建局 by 凤山街道.
  const fengshan = await apiAs(server, 'fengshan');
  const category = await categoryCode(fengshan, '房屋装修纠纷');
  const zj = await unitId(fengshan, 'D-ZJ');
  const stamp = Date.now();
  const events = [];
  for (const text of [`队列测试一：楼上装修漏水 ${stamp}`, `队列测试二：装修噪音扰民 ${stamp}`]) {
    const e = await reportInFengshan(fengshan, text, category);
    await fengshan('POST', `/api/v1/events/${e.id}/actions`, { action: 'accept' });
    await fengshan('POST', `/api/v1/events/${e.id}/actions`, { action: 'dispatch', lead_unit: zj });
    events.push(e);
  }

  const { context, offHost } = await guardedContext(browser, server);
  const page = await context.newPage();
  await login(page, server, 'zhujian');
  await page.getByRole('link', { name: '我的待办' }).first().click();
  await page.waitForURL('**/queue');
  await page.getByRole('heading', { name: /我的待办/ }).waitFor();

  // Nearest deadline first: the due times never go backwards; rows without one come last.
  const dues = await page.locator('li.queue-row').evaluateAll((rows) =>
    rows.map((r) => r.querySelector('.queue-due .nowrap')?.textContent.trim() ?? null));
  assert.ok(dues.length >= 2, `queue has rows: ${dues.length}`);
  const withDue = dues.filter((d) => d !== null);
  assert.deepEqual(withDue, [...withDue].sort(), 'sorted by handling deadline');
  assert.ok(dues.indexOf(null) === -1 || dues.slice(dues.indexOf(null)).every((d) => d === null));
  // Every row says its warning level in words, not colour alone.
  assert.match(await page.locator('li.queue-row').first().innerText(), /红色|黄色|绿色|无办理时限/);
  await screenshot(page, 'queue-1-zhujian');

  // j / k move the focus between the rows' event links.
  await page.locator('h1').click();
  await page.keyboard.press('j');
  const first = await page.evaluate(() => document.activeElement?.className);
  assert.equal(first, 'queue-link');
  const firstHref = await page.evaluate(() => document.activeElement.getAttribute('href'));
  await page.keyboard.press('j');
  const secondHref = await page.evaluate(() => document.activeElement.getAttribute('href'));
  assert.notEqual(firstHref, secondHref, 'j moves down');
  await page.keyboard.press('k');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), firstHref, 'k moves up');

  // 签收 the first new event with one press.
  const [one, two] = events;
  await page.getByRole('button', { name: `签收 ${one.number}` }).click();
  await page.waitForURL(/\/queue\?done=sign/);
  await page.locator('.notice', { hasText: `已对 ${one.number} 完成「签收」` }).waitFor();
  const row = page.locator('li.queue-row').filter({ has: page.getByRole('link', { name: one.number, exact: true }) });
  assert.match(await row.innerText(), /处置中/);
  await screenshot(page, 'queue-2-signed');

  // 退回 the second with its reason: it leaves the queue.
  const other = page.locator('li.queue-row').filter({ has: page.getByRole('link', { name: two.number, exact: true }) });
  await other.locator('summary', { hasText: '退回' }).click();
  await other.getByLabel('退回理由（必填）').fill('不属于住建职责：应由综合执法处理。');
  await other.getByRole('button', { name: `确认退回 ${two.number}` }).click();
  await page.waitForURL(/\/queue\?done=return/);
  await page.locator('.notice', { hasText: `已对 ${two.number} 完成「退回」` }).waitFor();
  assert.equal(await page.getByRole('link', { name: two.number, exact: true }).count(), 0, 'returned event left the queue');
  await screenshot(page, 'queue-3-returned');

  // The township sees the return and its reason on the event.
  const detail = await fengshan('GET', `/api/v1/events/${two.id}`);
  assert.equal(detail.status.code, 'accepted');
  assert.ok(detail.timeline.some((t) => t.action.code === 'return' && t.note.includes('不属于住建职责')));
  assert.deepEqual(offHost, [], 'requests to other hosts');
});

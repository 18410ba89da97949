// Bulk actions in the township command room: fengshan ticks events on the event
// list and accepts them in one go; the one already accepted reports its failure.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';
import { apiAs, categoryCode, reportInFengshan } from './api.mjs';

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

test('fengshan accepts two events at once; an event in the wrong state fails alone', async () => {
  const fengshan = await apiAs(server, 'fengshan');
  const category = await categoryCode(fengshan, '房屋装修纠纷');
  const marker = `批量${Date.now()}`;
  const a = await reportInFengshan(fengshan, `${marker} 甲：楼道堆放装修垃圾`, category);
  const b = await reportInFengshan(fengshan, `${marker} 乙：装修破坏承重墙`, category);
  const c = await reportInFengshan(fengshan, `${marker} 丙：装修时间扰民`, category);
  await fengshan('POST', `/api/v1/events/${c.id}/actions`, { action: 'accept' });

  const { context, offHost } = await guardedContext(browser, server);
  const page = await context.newPage();
  await login(page, server, 'fengshan');
  await page.goto(`${server.url}/events?q=${encodeURIComponent(marker)}`);
  await page.locator('p.count', { hasText: '共 3 条' }).waitFor();

  // Select all on the page (three), then leave out none: two succeed, one fails.
  await page.getByLabel('全选本页事件').check();
  for (const e of [a, b, c]) assert.ok(await page.getByLabel(`选择 ${e.number}`).isChecked());
  await page.locator('#bulk-count', { hasText: '已选 3 件' }).waitFor();
  await page.getByLabel('选择 ' + c.number).uncheck();
  await page.getByLabel('选择 ' + c.number).check();
  await page.getByLabel('操作').selectOption({ label: '受理' });
  await page.getByLabel('意见（督办必填）').fill('批量受理');
  await screenshot(page, 'bulk-1-selected');
  await page.getByRole('button', { name: '批量提交' }).click();
  await page.waitForURL('**/events/bulk');
  await page.getByRole('heading', { name: '批量受理结果' }).waitFor();
  await page.getByText('共 3 件：成功 2 件，失败 1 件').waitFor();
  const rowOf = (e) => page.getByRole('row').filter({ has: page.getByRole('link', { name: e.number, exact: true }) });
  assert.match(await rowOf(a).innerText(), /成功，现为「已受理」/);
  assert.match(await rowOf(b).innerText(), /成功，现为「已受理」/);
  assert.match(await rowOf(c).innerText(), /失败：当前状态为「已受理」/);
  await screenshot(page, 'bulk-2-result');

  // Each success has its own timeline entry.
  for (const e of [a, b]) {
    const d = await fengshan('GET', `/api/v1/events/${e.id}`);
    assert.equal(d.status.code, 'accepted');
    assert.equal(d.timeline.filter((t) => t.action.code === 'accept' && t.note === '批量受理').length, 1);
  }
  assert.deepEqual(offHost, [], 'requests to other hosts');
});

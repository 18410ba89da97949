// A grid worker reports from a phone: the report form at 360 px wide, no sideways
// scrolling, and the report then in the worker's own list.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventStatus, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

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

const noSideScroll = (page) => page.evaluate(() => document.documentElement.scrollWidth);

test('grid1 reports from a 360 px wide page and finds the report in the list', async () => {
  const { context, offHost } = await guardedContext(browser, server, {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  await login(page, server, 'grid1');
  assert.ok((await noSideScroll(page)) <= 360, 'event list fits 360 px');

  await page.goto(`${server.url}/events/new`);
  assert.ok((await noSideScroll(page)) <= 360, 'report form fits 360 px');
  // The worker's own grid is filled in, and the worker is the reporter.
  assert.match(await page.getByLabel('网格编码').inputValue(), /^\d{14}$/);
  assert.equal(await page.getByLabel('上报人类型').inputValue(), 'grid_worker');
  await screenshot(page, 'grid-1-report-form-360');

  const text = `网格巡查：小区东门人行道地砖大面积翘起破损，老人容易绊倒，请尽快维修。${Date.now()}`;
  await page.getByLabel('事件描述').fill(text);
  await page.getByLabel('事件类别').selectOption({ label: '道路破损' });
  await page.getByLabel('详细地址').fill('小区东门');
  await page.getByRole('button', { name: '提交上报' }).tap();
  await page.waitForURL(/\/events\/\d+/);
  assert.equal(await eventStatus(page), '上报');
  const number = (await page.locator('h1').innerText()).replace('事件', '').trim();
  assert.ok((await noSideScroll(page)) <= 360, 'event page fits 360 px');
  await screenshot(page, 'grid-2-reported-360');

  await page.getByRole('link', { name: '事件列表' }).first().tap();
  await page.waitForURL('**/events');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: number }) });
  await row.waitFor();
  assert.match(await row.innerText(), /道路破损/);
  assert.ok((await noSideScroll(page)) <= 360, 'list fits 360 px');
  await screenshot(page, 'grid-3-list-360');

  assert.deepEqual(offHost, [], 'requests to other hosts');
});

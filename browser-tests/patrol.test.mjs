// Patrol check-in from a phone: grid1 at 360 px presses one button, the (faked)
// position is taken, the grid found from it, and the check-in is listed for the day;
// the township's command room then sees it counted under the grid.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';
import { apiAs } from './api.mjs';

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

test('grid1 checks in at 360 px with the phone position and sees it listed', async () => {
  // A point inside grid1's own grid: the label point of its outline.
  const grid1 = await apiAs(server, 'grid1');
  const me = await grid1('GET', '/api/v1/me');
  const grids = await grid1('GET', '/api/v1/grids');
  const own = grids.features.find((f) => f.properties.id === me.org_id);
  assert.ok(own, 'grid1 has a grid with an outline');
  const [longitude, latitude] = own.properties.label;

  const { context, offHost } = await guardedContext(browser, server, {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    geolocation: { longitude, latitude, accuracy: 10 },
    permissions: ['geolocation'],
  });
  const page = await context.newPage();
  await login(page, server, 'grid1');
  await page.getByRole('link', { name: '巡查打卡' }).first().tap();
  await page.waitForURL('**/patrol');
  assert.ok((await noSideScroll(page)) <= 360, 'patrol page fits 360 px');
  const button = page.getByRole('button', { name: '巡查打卡' });
  const box = await button.boundingBox();
  assert.ok(box.height >= 56 && box.width >= 300, `a big button: ${JSON.stringify(box)}`);
  await page.getByText('还没有打卡记录').waitFor();
  await screenshot(page, 'patrol-1-before-360');

  await page.getByLabel('巡查情况（选填）').fill('小区东门、菜场周边巡查，无异常。');
  await button.tap();
  await page.waitForURL(/\/patrol\?done=in/);
  await page.locator('.notice', { hasText: '打卡成功' }).waitFor();
  const item = page.locator('#patrol-list li').first();
  assert.match(await item.innerText(), new RegExp(own.properties.name));
  assert.match(await item.innerText(), /无异常/);
  assert.equal(await page.locator('#patrol-list .flag').count(), 0, 'inside the own grid: not flagged');
  assert.ok((await noSideScroll(page)) <= 360, 'list fits 360 px');
  await screenshot(page, 'patrol-2-checked-in-360');

  // The command room of 凤山街道 sees it under the grid, the count linking to the list.
  const room = await guardedContext(browser, server);
  const fengshan = await room.context.newPage();
  await login(fengshan, server, 'fengshan');
  await fengshan.goto(`${server.url}/patrol`);
  const row = fengshan.getByRole('row').filter({ hasText: own.properties.code });
  await row.getByRole('link', { name: '1', exact: true }).click();
  await fengshan.waitForURL(/grid=/);
  assert.equal(await fengshan.locator('#patrol-list li').count(), 1);
  await screenshot(fengshan, 'patrol-3-township');

  assert.deepEqual(offHost, [], 'requests to other hosts');
  assert.deepEqual(room.offHost, [], 'requests to other hosts');
});

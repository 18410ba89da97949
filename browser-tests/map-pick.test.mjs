// A citizen reports from a 360 px phone by tapping the place on the report form's
// map: the longitude and latitude fields fill in (WGS-84), the event lands in the
// grid that was tapped. Without the map (address only) the form still works.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, eventStatus, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

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

const phone = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

async function gridFeatures() {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'citizen1', password: 'zhili-demo' }),
  }).then((r) => r.json());
  const fc = await fetch(`${server.url}/api/v1/grids`, {
    headers: { authorization: `Bearer ${login.token}` },
  }).then((r) => r.json());
  return fc.features;
}

test('citizen1 taps the map at 360 px and the report lands in that grid', async () => {
  const target = (await gridFeatures()).find((f) => f.properties.label);
  const [lon, lat] = target.properties.label;
  const { context, offHost } = await guardedContext(browser, server, phone);
  const page = await context.newPage();
  await login(page, server, 'citizen1');
  await page.goto(`${server.url}/events/new`);
  const box = page.locator('#pick-map[data-ready="1"]');
  await box.waitFor({ timeout: 20_000 });
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360, 'fits 360 px');
  assert.equal(await page.getByLabel('经度（选填）').inputValue(), '');

  // Zoom to the target grid, then tap its label point as a finger would.
  const point = await page.evaluate(([la, lo]) => {
    const map = document.getElementById('pick-map').zhiliMap;
    map.setView([la, lo], 16, { animate: false });
    const p = map.latLngToContainerPoint([la, lo]);
    return { x: p.x, y: p.y };
  }, [lat, lon]);
  await box.scrollIntoViewIfNeeded();
  const rect = await box.boundingBox();
  await page.touchscreen.tap(rect.x + point.x, rect.y + point.y);
  await page.waitForFunction(() => document.getElementById('f-lon').value !== '');
  const gotLon = Number(await page.getByLabel('经度（选填）').inputValue());
  const gotLat = Number(await page.getByLabel('纬度（选填）').inputValue());
  // A tap is a few pixels from the exact point: at zoom 16 a pixel is about 2 m.
  assert.ok(Math.abs(gotLon - lon) < 0.0003 && Math.abs(gotLat - lat) < 0.0003, `${gotLon},${gotLat} vs ${lon},${lat}`);
  assert.equal(await page.getByLabel('网格编码').inputValue(), target.properties.code);
  assert.match(await page.locator('#pick-status').innerText(), new RegExp(target.properties.name));
  assert.deepEqual(await axe(page), [], 'axe on the report form with its map');
  await screenshot(page, 'map-pick-1-tapped-360');

  await page.getByLabel('事件描述').fill(`地图选点上报：人行道井盖缺失，晚上很危险。${Date.now()}`);
  await page.getByRole('button', { name: '提交上报' }).tap();
  await page.waitForURL(/\/events\/\d+/);
  assert.equal(await eventStatus(page), '上报');
  const body = await page.locator('main').innerText();
  assert.ok(body.includes(target.properties.name), `event page names the grid ${target.properties.name}`);
  await screenshot(page, 'map-pick-2-reported-360');
  assert.deepEqual(offHost, [], 'requests to other hosts');
  await context.close();
});

test('without JavaScript the report form works with an address alone', async () => {
  const { context, offHost } = await guardedContext(browser, server, { ...phone, javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page, server, 'citizen1');
  await page.goto(`${server.url}/events/new`);
  assert.equal(await page.locator('#pick-map').isVisible(), false, 'no empty map box without JS');
  await page.getByLabel('事件描述').fill(`只填地址：小区门口垃圾桶满溢，气味很大。${Date.now()}`);
  await page.getByLabel('乡镇（街道）').selectOption({ label: '凤山街道' });
  await page.getByLabel('详细地址').fill('凤山街道舜北小区东门');
  await page.getByRole('button', { name: '提交上报' }).tap();
  await page.waitForURL(/\/events\/\d+/);
  assert.equal(await eventStatus(page), '上报');
  assert.deepEqual(offHost, [], 'requests to other hosts');
  await context.close();
});

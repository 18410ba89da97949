// The city command centre (/command) as `city` sees it: the map of grids and open
// events, the KPI tiles; a citizen reports through the API and, without a reload,
// the new event appears on the map (the marker count, then the marker itself at its
// place) and in the tiles. Accessibility (axe) on the desk and wall layouts,
// screenshots of both, and no request to any host but the zhili server (the map has
// no tile layer unless an admin configures one).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

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

async function api(method, path, token, body) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function token(username) {
  const r = await api('POST', '/api/v1/auth/login', null, { username, password: 'zhili-demo' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

const tile = (page, key) =>
  page.locator(`.cmd-tile[data-key="${key}"] .cmd-tile-value`).innerText().then((t) => Number(t.trim()));
const markerCount = (page) =>
  page.locator('#cmd-marker-count').getAttribute('data-count').then(Number);

test('city watches a new report arrive on the map and in the tiles without a reload', async () => {
  const { context, offHost } = await guardedContext(browser, server, { viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await login(page, server, 'city');
  await page.goto(`${server.url}/command`);
  await page.locator('#command[data-ready="1"]').waitFor({ timeout: 30_000 });
  // Grid polygons drawn from our own data, and the open events as clustered markers.
  assert.ok((await page.locator('#cmd-map path.leaflet-interactive').count()) > 100, 'grid polygons');
  assert.ok((await page.locator('#cmd-map .marker-cluster').count()) > 0, 'marker clusters');
  const markersBefore = await markerCount(page);
  const todayBefore = await tile(page, 'today');
  const openBefore = await tile(page, 'open');
  assert.ok(markersBefore > 0, 'open events on the map');
  assert.equal(markersBefore <= openBefore, true, 'markers are open events with a position');
  // Every tile is a link to its events.
  for (const a of await page.locator('.cmd-tile').all()) {
    assert.match(await a.getAttribute('href'), /^\/events\?/);
  }
  await screenshot(page, 'command-1-desk');

  // A citizen reports through the API, at the label point of a grid.
  const citizen = await token('citizen1');
  const grids = await api('GET', '/api/v1/grids', citizen);
  const grid = grids.json.features.find((f) => f.properties.label);
  const [lon, lat] = grid.properties.label;
  const created = await api('POST', '/api/v1/events', citizen, {
    channel: 'web_form',
    text: `指挥中心浏览器测试：路灯不亮，夜间行人看不清路面。${Date.now()}`,
    location: { lon, lat },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const number = created.json.number;

  // Within a few polls (every 5 s), with no reload.
  await page.waitForFunction(
    ([m, t]) =>
      Number(document.getElementById('cmd-marker-count').dataset.count) === m + 1 &&
      Number(document.querySelector('.cmd-tile[data-key="today"] .cmd-tile-value').textContent) === t + 1,
    [markersBefore, todayBefore],
    { timeout: 30_000 },
  );
  assert.equal(await tile(page, 'open'), openBefore + 1);
  // The marker itself, at its place once the map is zoomed in there.
  await page.evaluate(([la, lo]) => document.getElementById('cmd-map').zhiliMap.setView([la, lo], 18, { animate: false }), [lat, lon]);
  const marker = page.locator(`#cmd-map .leaflet-marker-icon[title^="${number}"]`);
  await marker.waitFor({ timeout: 10_000 });
  await marker.click();
  const popup = page.locator('.leaflet-popup-content');
  await popup.getByRole('link', { name: number }).waitFor();
  assert.equal(await popup.getByRole('link', { name: number }).getAttribute('href'), `/events/${created.json.id}`);
  await screenshot(page, 'command-2-new-event');

  // The today tile opens the list of exactly those events.
  await page.locator('.cmd-tile[data-key="today"]').click();
  await page.waitForURL(/\/events\?from=/);
  assert.match(await page.locator('.count').innerText(), new RegExp(`共 ${todayBefore + 1} 条`));

  assert.deepEqual(offHost, [], 'requests to other hosts');
  await context.close();
});

test('the command centre passes axe on the desk and wall layouts', async () => {
  const { context, offHost } = await guardedContext(browser, server, { viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  await login(page, server, 'city');
  for (const [path, name] of [['/command', 'command-3-axe-desk'], ['/command?wall=1', 'command-4-wall']]) {
    await page.goto(`${server.url}${path}`);
    await page.locator('#command[data-ready="1"]').waitFor({ timeout: 30_000 });
    const violations = await axe(page);
    assert.deepEqual(violations, [], `${path}: ${JSON.stringify(violations, null, 2)}`);
    await screenshot(page, name);
  }
  assert.deepEqual(offHost, [], 'requests to other hosts');
  await context.close();
});

test('a township room sees its own township; oversight reads it masked', async () => {
  const { context, offHost } = await guardedContext(browser, server);
  const page = await context.newPage();
  await login(page, server, 'fengshan');
  await page.goto(`${server.url}/command`);
  await page.locator('#command[data-ready="1"]').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('h1').innerText(), /凤山街道/);
  const rows = await page.locator('#cmd-townships tbody th').allInnerTexts();
  assert.deepEqual([...new Set(rows)], ['凤山街道']);
  await context.close();

  const o = await guardedContext(browser, server);
  const op = await o.context.newPage();
  await login(op, server, 'oversight');
  await op.goto(`${server.url}/command`);
  await op.locator('#command[data-ready="1"]').waitFor({ timeout: 30_000 });
  assert.match(await op.locator('.notice').innerText(), /个人信息已隐去/);
  assert.equal(await op.locator('#cmd-channels').count(), 0, 'no channel internals for oversight');
  await o.context.close();
  assert.deepEqual([...offHost, ...o.offHost], [], 'requests to other hosts');
});

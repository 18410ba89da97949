// Triage: a report without a category whose words the demo model does not know waits
// in the township's triage queue; the operator picks its category there.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

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

test('an event the classifier cannot place waits in triage until the operator picks a category', async () => {
  const { context, offHost } = await guardedContext(browser, server);
  const page = await context.newPage();
  await login(page, server, 'fengshan');

  await page.goto(`${server.url}/events/new`);
  // Latin letters and digits only: no word of the model's Chinese vocabulary.
  await page.getByLabel('事件描述').fill(`Browser test ${Date.now()}: qwzx vbnm plkj`);
  await page.getByLabel('乡镇（街道）').selectOption({ label: '凤山街道' });
  await page.getByRole('button', { name: '提交上报' }).click();
  await page.waitForURL(/\/events\/\d+/);
  const number = (await page.locator('h1').innerText()).replace('事件', '').trim();
  await page.getByText('系统没有把握，等待指挥室人工分类').waitFor();

  await page.getByRole('link', { name: '去分类待办' }).click();
  await page.waitForURL('**/triage');
  const item = page.locator('article').filter({ has: page.getByRole('link', { name: number }) });
  await item.waitFor();
  await screenshot(page, 'triage-queue');

  await item.getByLabel('其他类别').selectOption({ label: '道路破损（1001）' });
  await item.getByRole('button', { name: '确定分类' }).click();
  await page.waitForURL('**/triage');
  assert.equal(await item.count(), 0, 'the event left the queue');

  await page.goto(`${server.url}/events?q=${encodeURIComponent(number)}`);
  await page.getByRole('link', { name: number }).click();
  await page.waitForURL(/\/events\/\d+/);
  assert.match(
    await page.locator('section[aria-labelledby="h-content"] .facts').innerText(),
    /事件类别\s*道路破损/,
  );
  assert.deepEqual(offHost, [], 'requests to other hosts');
});

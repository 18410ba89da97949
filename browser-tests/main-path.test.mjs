// The main path of issue #6 through the pages, each role in its own browser context:
// a citizen reports → the township operator accepts and dispatches → the unit signs
// and resolves → the operator verifies and gives feedback → the citizen rates.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventStatus, guardedContext, launchBrowser, login, screenshot, startServer } from './harness.mjs';

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

async function signedIn(username) {
  const g = await guardedContext(browser, server);
  guards.push(g);
  const page = await g.context.newPage();
  await login(page, server, username);
  return page;
}

/** Submits the event page's form for one action and waits for the status a user then sees. */
async function act(page, code, expected, fill = async () => {}) {
  const form = page.locator(`form.action:has(input[name="action"][value="${code}"])`);
  await form.waitFor();
  await fill(form);
  const label = (await form.locator('h3').innerText()).trim();
  await form.getByRole('button', { name: label }).click();
  await page.locator('.notice', { hasText: `已完成「${label}」` }).waitFor();
  assert.equal(await eventStatus(page), expected, `after ${label}`);
}

test('a citizen reports, the township dispatches, the unit resolves, the township feeds back, the citizen rates', async () => {
  const text = `浏览器测试：我家装修的阳台防水没做好，楼下邻居家天花板渗水，装修公司不肯返工。编号 ${Date.now()}`;

  // 群众 citizen1 reports a 住建 matter (房屋装修纠纷) in 凤山街道.
  const citizen = await signedIn('citizen1');
  await citizen.getByRole('link', { name: '上报事件' }).first().click();
  await citizen.waitForURL('**/events/new');
  await citizen.getByLabel('事件描述').fill(text);
  await citizen.getByLabel('事件类别').selectOption({ label: '房屋装修纠纷' });
  await citizen.getByLabel('乡镇（街道）').selectOption({ label: '凤山街道' });
  await citizen.getByLabel('详细地址').fill('凤山街道某小区 3 幢');
  await citizen.getByRole('button', { name: '提交上报' }).click();
  await citizen.waitForURL(/\/events\/\d+/);
  const eventUrl = new URL(citizen.url());
  eventUrl.search = '';
  assert.equal(await eventStatus(citizen), '上报');
  await screenshot(citizen, 'main-1-citizen-reported');

  // 凤山街道综合指挥室 accepts and dispatches to 住建局, the routing suggestion.
  const fengshan = await signedIn('fengshan');
  await fengshan.goto(eventUrl.href);
  assert.equal(await eventStatus(fengshan), '上报');
  await act(fengshan, 'accept', '已受理');
  await act(fengshan, 'dispatch', '已分派', async (form) => {
    const lead = form.getByLabel('主办单位');
    const suggested = await lead.locator('option:checked').innerText();
    if (!suggested.includes('住房和城乡建设局')) {
      await lead.selectOption({ label: '余姚市住房和城乡建设局' });
    }
  });
  assert.match(await fengshan.locator('section[aria-labelledby="h-content"] .facts').innerText(), /主办单位\s*余姚市住房和城乡建设局/);
  await screenshot(fengshan, 'main-2-township-dispatched');

  // 住建局's handler signs and resolves.
  const unit = await signedIn('zhujian');
  await unit.goto(eventUrl.href);
  assert.equal(await eventStatus(unit), '已分派');
  await act(unit, 'sign', '处置中');
  await act(unit, 'resolve', '已办结', async (form) => {
    await form.getByRole('textbox').fill('已约谈装修公司，重新做防水并赔偿楼下损失，双方签字确认。');
  });
  await screenshot(unit, 'main-3-unit-resolved');

  // The township verifies and informs the reporter.
  await fengshan.goto(eventUrl.href);
  await act(fengshan, 'verify_pass', '已核查');
  await act(fengshan, 'inform', '已反馈', async (form) => {
    await form.getByRole('textbox').fill('已电话告知报告人办理结果。');
  });
  await screenshot(fengshan, 'main-4-township-informed');

  // The citizen sees the result and rates it.
  await citizen.goto(eventUrl.href);
  assert.equal(await eventStatus(citizen), '已反馈');
  await act(citizen, 'rate', '已评价', async (form) => {
    await form.getByLabel('满意', { exact: true }).check();
  });
  assert.match(await citizen.locator('section[aria-labelledby="h-content"] .facts').innerText(), /满意度\s*满意/);
  await screenshot(citizen, 'main-5-citizen-rated');

  for (const g of guards) assert.deepEqual(g.offHost, [], 'requests to other hosts');
});

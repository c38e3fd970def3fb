// Browser tests of the Ask view and the event panel's Explain action, against a running AOC
// demo with AI_FEATURES_ENABLED=true (scripts/ui-test sets it; no language model: the answers
// are the server's built ones), and of their absence with AI features off (the sign-in demo at
// AOC_AUTH_UI_URL runs without them; that test is skipped when it is unset).
//
//   AOC_UI_URL=http://127.0.0.1:8000 node --test tests/ask.test.mjs      (from web/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = (process.env.AOC_UI_URL || '').replace(/\/+$/, '');
const AUTH_BASE = (process.env.AOC_AUTH_UI_URL || '').replace(/\/+$/, '');
const SHOTS = process.env.AOC_UI_SCREENSHOTS
  ? path.resolve(process.env.AOC_UI_SCREENSHOTS)
  : path.resolve(WEB_DIR, '../target/ui-screenshots');
const CHROMIUM = process.env.AOC_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser;
let features = {};
const problems = [];

before(async () => {
  if (!BASE) throw new Error('set AOC_UI_URL to the base URL of a running AOC server (e.g. http://127.0.0.1:8000)');
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  features = await api('GET', '/api/config/features');
});

after(async () => {
  await browser?.close();
});

async function api(method, p, body, base = BASE) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${p} -> ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q.toString();
}

async function openPage(base = BASE) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Before sign-in the sign-in demo answers 401 to what the page asks; CSP violations never pass.
    if (base === AUTH_BASE && /status of 401/.test(msg.text()) && !/CSP violation/.test(msg.text())) return;
    problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
  await page.goto(`${base}/`);
  return page;
}

async function listSettled(page) {
  await page.waitForFunction(() => {
    const list = document.querySelector('#list');
    return list && !list.hidden && list.dataset.state && list.dataset.state !== 'loading';
  });
  return page.$eval('#list', (l) => l.dataset.state);
}

const rowIds = (page, sel) => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => tr.dataset.id));

test('the Ask view answers a question with its query and events, and "Apply as filters" sets the list', async (t) => {
  if (!features.ai_features_enabled) {
    t.skip('AI_FEATURES_ENABLED is off on this server');
    return;
  }
  const page = await openPage();
  await listSettled(page);
  await page.waitForSelector('#ask-link:not([hidden])');
  await page.click('#ask-link');
  await page.waitForURL((u) => u.hash === '#ask');
  await page.waitForSelector('#ask-question');
  assert.ok(await page.isHidden('#list'), 'the event list is out of the way');

  // A question about role changes: the intent is read from the words, the events are the API's.
  const question = 'who assigned roles last week?';
  await page.fill('#ask-question', question);
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/ask') && r.method() === 'POST'),
    page.click('#ask-submit'),
  ]);
  const sent = JSON.parse(req.postData());
  assert.equal(sent.question, question);
  assert.deepEqual(sent.filters, {}, 'no list filters were active');
  await page.waitForSelector('#view[data-state="answered"]');
  const expected = await api('POST', '/api/ask', { question, filters: {}, time_zone: sent.time_zone || 'UTC' });
  assert.equal(expected.query.intent, 'role_assigned');
  assert.ok((await page.textContent('#ask-answer')).trim().length > 0, 'an answer is shown');
  assert.equal(await page.textContent('#ask-query dd[data-key="intent"]'), 'role_assigned');
  assert.equal(await page.textContent('#ask-query dd[data-key="start"]'), expected.query.start);
  const shown = await rowIds(page, '#view .mini-events');
  assert.deepEqual(shown, expected.events.map((e) => e.id), 'the events behind the answer, as the API returns them');
  await page.screenshot({ path: path.join(SHOTS, 'ask.png'), fullPage: false });

  // A question naming a service and an outcome: applying its query filters the event list.
  const second = 'which mail changes failed this month?';
  await page.fill('#ask-question', second);
  await page.click('#ask-submit');
  await page.waitForFunction(() => document.querySelector('#view').dataset.state === 'answered' && document.querySelector('#ask-query dd[data-key="service"]'));
  const answer = await api('POST', '/api/ask', { question: second, filters: {}, time_zone: sent.time_zone || 'UTC' });
  assert.equal(answer.query.service, 'Exchange');
  assert.equal(answer.query.result, 'failure');
  await page.click('#ask-apply');
  await page.waitForURL((u) => u.hash === '' && u.searchParams.get('service') === 'Exchange');
  await listSettled(page);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('result'), 'failure');
  assert.equal(await page.inputValue('#f-service'), 'Exchange');
  assert.equal(await page.inputValue('#f-result'), 'failure');
  const start = url.searchParams.get('start');
  const end = url.searchParams.get('end');
  assert.ok(start && end, 'the time range is applied too');
  const page1 = await api('GET', `/api/events?${qs({ service: 'Exchange', result: 'failure', start, end })}`);
  assert.deepEqual(await rowIds(page, '#events'), page1.items.map((e) => e.id), 'the list is the filtered one');
  assert.ok(await page.isVisible('#list'));

  // Back returns to the answer, kept across the visit.
  await page.goBack();
  await page.waitForSelector('#view[data-state="answered"] #ask-answer');
  await page.context().close();
});

test('"Explain this event" in the event panel shows the explanation\'s sections', async (t) => {
  if (!features.ai_features_enabled) {
    t.skip('AI_FEATURES_ENABLED is off on this server');
    return;
  }
  // An event with modified properties, so "What changed" has rows.
  const page1 = await api('GET', `/api/events?${qs({ service: 'AzureActiveDirectory', page_size: 50 })}`);
  const ev = page1.items.find((e) => Array.isArray(e.raw?.ModifiedProperties) && e.raw.ModifiedProperties.length) || page1.items[0];
  const expected = await api('POST', `/api/events/${encodeURIComponent(ev.id)}/explain`);
  const page = await openPage();
  await page.goto(`${BASE}/?event=${encodeURIComponent(ev.id)}`);
  await page.waitForSelector('#panel:not([hidden]) .explain-button');
  await page.click('#panel .explain-button');
  await page.waitForSelector('#panel .explanation');
  const parts = await page.$$eval('#panel .explanation [data-part]', (els) => els.map((e) => e.dataset.part));
  for (const p of ['what', 'who', 'changes', 'why', 'next']) assert.ok(parts.includes(p), `section ${p} is shown (${parts})`);
  assert.equal((await page.textContent('#panel .explain-what p')).trim(), expected.what_happened);
  assert.equal((await page.textContent('#panel .explain-who p')).trim(), expected.who);
  assert.equal(await page.locator('#panel .explain-changes tbody tr').count(), expected.changes.length);
  assert.equal(await page.locator('#panel .explain-next li').count(), expected.next_steps.length);
  await page.locator('#panel').screenshot({ path: path.join(SHOTS, 'explain.png') });
  await page.context().close();
});

test('with AI features off the Ask link, the Ask view and Explain are absent', { skip: AUTH_BASE ? false : 'set AOC_AUTH_UI_URL (a demo without AI features)' }, async () => {
  const page = await openPage(AUTH_BASE);
  // With sign-in on, the features are read with the token once signed in: take the page's answer.
  const featuresSeen = page.waitForResponse((r) => r.url().endsWith('/api/config/features') && r.status() === 200);
  await page.waitForSelector('#auth-gate[data-auth-state="signed-out"]');
  await page.click('#auth-gate button.primary');
  await page.waitForSelector('button[data-user="admin"]');
  await page.click('button[data-user="admin"]');
  await page.waitForURL((u) => u.toString().startsWith(AUTH_BASE));
  const off = await (await featuresSeen).json();
  assert.equal(off.ai_features_enabled, false, 'the sign-in demo runs without AI features');
  await listSettled(page);
  // The features answer has arrived once the version is shown (both come in one batch).
  await page.waitForFunction(() => document.querySelector('#version').textContent !== '');
  assert.ok(await page.isHidden('#ask-link'), 'no Ask link');
  await page.click('#events tbody tr >> nth=0');
  await page.waitForSelector('#panel:not([hidden]) .fields');
  assert.equal(await page.locator('#panel .explain-button').count(), 0, 'no Explain action');
  // A link straight to #ask says it is off instead of offering a box that can only fail.
  await page.evaluate(() => { window.location.hash = '#ask'; });
  await page.waitForSelector('#view[data-state="off"]');
  assert.equal(await page.locator('#ask-question').count(), 0);
  await page.context().close();
});

test('no console errors and no CSP violations on any page', () => {
  assert.deepEqual(problems, []);
});

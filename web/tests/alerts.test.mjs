// Browser tests of the alert badge, the Alerts and Rules views and saved searches, against a
// running AOC demo whose built-in detection pack raises alerts on the simulated tenant's planted
// detections (the demo sets ALERTS_ENABLED=true).
//
//   AOC_UI_URL=http://127.0.0.1:8000 node --test tests/alerts.test.mjs      (from web/)
//
// Acknowledges (and reopens) one alert, switches one rule off and on again, and saves and
// deletes a saved search: run against a throwaway demo. Screenshots go to AOC_UI_SCREENSHOTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = (process.env.AOC_UI_URL || '').replace(/\/+$/, '');
const SHOTS = process.env.AOC_UI_SCREENSHOTS
  ? path.resolve(process.env.AOC_UI_SCREENSHOTS)
  : path.resolve(WEB_DIR, '../target/ui-screenshots');
const CHROMIUM = process.env.AOC_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The evaluator runs every 2 s after the first fetch; a slow machine gets a minute.
const ALERTS_WAIT_MS = 60_000;

let browser;
const problems = [];

before(async () => {
  if (!BASE) throw new Error('set AOC_UI_URL to the base URL of a running AOC server (e.g. http://127.0.0.1:8000)');
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  // The alerts of the demo's first fetch: wait until the evaluator has looked at every stored
  // event (its lag metric is 0; without metrics, until the summary stops changing), so the list
  // does not grow under the tests that compare the page with the API.
  const deadline = Date.now() + ALERTS_WAIT_MS;
  let last = '';
  for (;;) {
    const summary = await apiGet('/api/alerts/summary');
    const lag = await evaluationLag();
    const now = JSON.stringify(summary);
    if (summary.open > 0 && (lag === 0 || (lag === null && now === last))) break;
    if (Date.now() > deadline) throw new Error(`the evaluator did not settle with open alerts within ${ALERTS_WAIT_MS / 1000} s: ${now}, lag ${lag}`);
    last = now;
    await new Promise((r) => setTimeout(r, 2500));
  }
});

/** aoc_alert_evaluation_lag_events from /metrics, or null when metrics are not served. */
async function evaluationLag() {
  const res = await fetch(`${BASE}/metrics`).catch(() => null);
  if (!res || !res.ok) return null;
  const m = /^aoc_alert_evaluation_lag_events\s+(\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : null;
}

after(async () => {
  await browser?.close();
});

// ---------- helpers ----------

async function api(method, p, body) {
  const res = await fetch(`${BASE}${p}`, {
    method,
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${p} -> ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const apiGet = (p) => api('GET', p);

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q.toString();
}

/**
 * A fresh page that records console errors and CSP violations. `expectErrors` pages may log the
 * failed requests they provoke (a rule the server rejects), never a CSP violation or a script error.
 */
async function openPage({ width = 1280, height = 860, expectErrors = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (expectErrors && !/CSP violation|Content Security Policy/i.test(text)) return;
    problems.push(`console error on ${page.url()}: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
  return page;
}

async function closePage(page) {
  await page.context().close();
}

/** Wait until the alerts / rules view has finished loading; returns its state. */
async function viewSettled(page) {
  await page.waitForFunction(() => {
    const v = document.querySelector('#view');
    return v && !v.hidden && v.dataset.state && v.dataset.state !== 'loading';
  });
  return page.$eval('#view', (v) => v.dataset.state);
}

async function listSettled(page) {
  await page.waitForFunction(() => {
    const list = document.querySelector('#list');
    return list && list.dataset.state && list.dataset.state !== 'loading';
  });
  return page.$eval('#list', (l) => l.dataset.state);
}

async function badgeCount(page) {
  await page.waitForFunction(() => document.querySelector('#alert-badge').dataset.count !== undefined);
  return Number(await page.getAttribute('#alert-badge', 'data-count'));
}

const rowIds = (page, sel) => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => tr.dataset.id));

// ---------- tests (in order) ----------

test('the header badge shows the open alerts and leads to the Alerts view', async () => {
  const summary = await apiGet('/api/alerts/summary');
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  const n = await badgeCount(page);
  assert.equal(n, summary.open, 'the badge is /api/alerts/summary\'s open count');
  assert.ok(n > 0, 'the demo raised alerts');
  assert.ok(await page.isVisible('#alert-badge'));
  assert.equal(await page.getAttribute('#alerts-link', 'aria-label'), `Alerts: ${n} open`);
  await page.screenshot({ path: path.join(SHOTS, 'alerts-badge.png'), clip: { x: 0, y: 0, width: 1280, height: 120 } });

  await page.click('#alerts-link');
  await page.waitForURL((u) => u.hash === '#alerts');
  assert.equal(await viewSettled(page), 'ready');
  assert.ok(await page.isHidden('#list'), 'the event list is out of the way');
  assert.ok(await page.isHidden('#filters'));
  assert.equal(await page.getAttribute('#alerts-link', 'aria-current'), 'page');
  // Back to the events without a reload: the list is still there.
  await page.evaluate(() => { window.__samePage = true; });
  await page.click('.views a[data-route="events"]');
  await page.waitForFunction(() => !document.querySelector('#list').hidden);
  assert.equal(await page.evaluate(() => window.__samePage), true, 'switching views does not reload the page');
  assert.equal(new URL(page.url()).hash, '');
  await closePage(page);
});

test('the Alerts view lists the alerts the API has, filters them and opens one with its events', async () => {
  const open = (await apiGet(`/api/alerts?${qs({ status: 'open', limit: 50 })}`)).items;
  assert.ok(open.length > 0);
  const page = await openPage();
  await page.goto(`${BASE}/#alerts`);
  assert.equal(await viewSettled(page), 'ready');
  assert.deepEqual(await rowIds(page, '#alerts-table'), open.map((a) => String(a.id)), 'the open alerts, newest first');
  assert.equal(await page.inputValue('#a-status'), 'open');
  await page.screenshot({ path: path.join(SHOTS, 'alerts.png'), fullPage: false });

  // The severity filter asks the API for that severity only.
  const severity = open[0].severity;
  await page.selectOption('#a-severity', severity);
  await page.waitForFunction(() => document.querySelector('#view').dataset.state !== 'loading');
  await viewSettled(page);
  const bySeverity = (await apiGet(`/api/alerts?${qs({ status: 'open', severity, limit: 50 })}`)).items;
  assert.deepEqual(await rowIds(page, '#alerts-table'), bySeverity.map((a) => String(a.id)));
  const chips = await page.$$eval('#alerts-table tbody .sev', (s) => s.map((x) => x.textContent));
  assert.ok(chips.every((c) => c === severity), `every row is ${severity}`);

  // Open an alert that has events.
  const alert = bySeverity.find((a) => a.event_count > 0 && !a.restricted);
  assert.ok(alert, 'an alert with events');
  await page.click(`#alerts-table tr[data-id="${alert.id}"] a.alert-link`);
  await page.waitForURL((u) => u.hash === `#alerts/${alert.id}`);
  await viewSettled(page);
  const detail = await apiGet(`/api/alerts/${alert.id}`);
  assert.match(await page.textContent('#alert-title'), new RegExp(detail.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const evIds = await rowIds(page, '#view .mini-events');
  assert.deepEqual(evIds, detail.events.map((e) => e.id), 'the alert\'s events, as the API lists them');
  assert.ok(evIds.length > 0);

  // An event opens in the side panel, over the alert.
  await page.click('#view .mini-events tbody tr >> nth=0 >> a.event-link');
  await page.waitForSelector('#panel:not([hidden])');
  assert.equal((await page.textContent('#panel-title')).trim(), detail.events[0].operation);
  assert.ok((await page.textContent('#panel .fields')).includes(detail.events[0].id));
  assert.equal(new URL(page.url()).hash, `#alerts/${alert.id}`, 'still on the alert');
  await page.screenshot({ path: path.join(SHOTS, 'alert-detail.png') });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#panel', { state: 'hidden' });
  assert.equal(new URL(page.url()).hash, `#alerts/${alert.id}`, 'closing the panel stays on the alert');

  // Back returns to the filtered list.
  await page.goBack();
  await page.waitForURL((u) => u.hash === '#alerts');
  await viewSettled(page);
  assert.equal(await page.inputValue('#a-severity'), severity);
  await closePage(page);
});

test('"load more" pages through the alerts with the API\'s cursor', async () => {
  const all = (await apiGet(`/api/alerts?${qs({ limit: 200 })}`)).items;
  assert.ok(all.length > 10, `enough alerts to page through: ${all.length}`);
  const page = await openPage();
  // Pages of 10 instead of the view's 50, so the demo's alerts need several.
  await page.route((u) => u.pathname === '/api/alerts', (route) => {
    const u = new URL(route.request().url());
    u.searchParams.set('limit', '10');
    route.continue({ url: u.toString() });
  });
  await page.goto(`${BASE}/#alerts`);
  await viewSettled(page);
  await page.selectOption('#a-status', '');
  await page.waitForFunction(() => document.querySelectorAll('#alerts-table tbody tr').length === 10);
  assert.ok(await page.isVisible('#alerts-more'));
  while (await page.isVisible('#alerts-more')) {
    const n = await page.locator('#alerts-table tbody tr').count();
    await page.click('#alerts-more');
    await page.waitForFunction((k) => document.querySelectorAll('#alerts-table tbody tr').length > k || document.querySelector('#alerts-more').hidden, n);
  }
  assert.deepEqual(await rowIds(page, '#alerts-table'), all.map((a) => String(a.id)), 'every alert once, newest first');
  await closePage(page);
});

test('acknowledging an alert changes its status and the badge count; reopening restores both', async () => {
  const [alert] = (await apiGet(`/api/alerts?${qs({ status: 'open', limit: 1 })}`)).items;
  assert.ok(alert);
  const note = `checked by the UI test at ${new Date().toISOString()}`;
  const page = await openPage();
  await page.goto(`${BASE}/#alerts/${alert.id}`);
  await viewSettled(page);
  const before = await badgeCount(page);
  assert.equal(before, (await apiGet('/api/alerts/summary')).open);
  assert.match(await page.textContent('#view .alert-fields'), /Open/);

  await page.fill('#alert-note', note);
  await page.click('#view .alert-actions button[data-status="acknowledged"]');
  await page.waitForSelector('#view .alert-fields .status-acknowledged');
  await page.waitForFunction((n) => document.querySelector('#alert-badge').dataset.count === String(n), before - 1);
  assert.match(await page.textContent('#alert-action-status'), /acknowledged/i);
  assert.ok((await page.textContent('#view .alert-fields')).includes(note), 'the note is shown');
  const stored = await apiGet(`/api/alerts/${alert.id}`);
  assert.equal(stored.status, 'acknowledged');
  assert.equal(stored.note, note);
  assert.equal((await apiGet('/api/alerts/summary')).open, before - 1);
  await page.screenshot({ path: path.join(SHOTS, 'alert-acknowledged.png') });

  // The acknowledged alert left the list of open ones.
  await page.click('#view a.back-link');
  await viewSettled(page);
  assert.ok(!(await rowIds(page, '#alerts-table')).includes(String(alert.id)));
  await page.selectOption('#a-status', 'acknowledged');
  await page.waitForSelector(`#alerts-table tr[data-id="${alert.id}"]`);

  // Reopen it: the badge counts it again.
  await page.click(`#alerts-table tr[data-id="${alert.id}"] a.alert-link`);
  await viewSettled(page);
  await page.click('#view .alert-actions button[data-status="open"]');
  await page.waitForSelector('#view .alert-fields .status-open');
  await page.waitForFunction((n) => document.querySelector('#alert-badge').dataset.count === String(n), before);
  assert.equal((await apiGet(`/api/alerts/${alert.id}`)).status, 'open');
  await closePage(page);
});

test('the Rules view lists every rule with its built-in marker and switches one off and on', async () => {
  const rules = await apiGet('/api/rules');
  assert.ok(rules.length > 0);
  const page = await openPage();
  await page.goto(`${BASE}/#rules`);
  assert.equal(await viewSettled(page), 'ready');
  assert.deepEqual(await rowIds(page, '#rules-table'), rules.map((r) => r.id));
  const builtins = await page.$$eval('#rules-table tbody tr', (trs) => trs.filter((tr) => tr.querySelector('.builtin')).map((tr) => tr.dataset.id));
  assert.deepEqual(builtins, rules.filter((r) => r.builtin).map((r) => r.id));
  await page.screenshot({ path: path.join(SHOTS, 'rules.png') });

  const rule = rules.find((r) => r.enabled);
  assert.ok(rule, 'an enabled rule');
  const toggle = `#rules-table tr[data-id="${rule.id}"] input.switch`;
  await page.uncheck(toggle);
  await page.waitForFunction((t) => /is off/.test(document.querySelector('#rules-status').textContent), rule.name);
  assert.equal((await apiGet(`/api/rules/${rule.id}`)).enabled, false);
  await page.check(toggle);
  await page.waitForFunction(() => /is on/.test(document.querySelector('#rules-status').textContent));
  assert.equal((await apiGet(`/api/rules/${rule.id}`)).enabled, true);
  await closePage(page);
});

test('editing a rule shows the test preview with a count, and the server\'s error beside the field', async () => {
  const rules = await apiGet('/api/rules');
  // A rule that matched something in the demo's data: the preview then has rows.
  const alerted = (await apiGet('/api/alerts?limit=200')).items.map((a) => a.rule_id);
  const rule = rules.find((r) => alerted.includes(r.id) && !r.threshold) || rules[0];
  const page = await openPage({ expectErrors: true });
  await page.goto(`${BASE}/#rules`);
  await viewSettled(page);
  await page.click(`#rules-table tr[data-id="${rule.id}"] a.rule-link`);
  await page.waitForURL((u) => u.hash === `#rules/${rule.id}`);
  await viewSettled(page);
  assert.equal(await page.inputValue('#r-name'), rule.name);
  assert.deepEqual(JSON.parse(await page.inputValue('#r-match')), rule.match);

  await page.selectOption('#r-test-days', '30');
  await page.click('#rule-test');
  await page.waitForSelector('#rule-preview[data-state="ready"]');
  const body = { name: rule.name, description: rule.description, enabled: rule.enabled, severity: rule.severity, match: rule.match, tags: rule.tags };
  if (rule.suppress_minutes) body.suppress_minutes = rule.suppress_minutes;
  const expected = await api('POST', '/api/rules/test', { rule: body, days: 30 });
  assert.equal(Number(await page.getAttribute('#rule-preview', 'data-matched')), expected.matched);
  assert.equal(Number(await page.getAttribute('#rule-preview', 'data-alerts')), expected.alerts);
  const summary = (await page.textContent('#rule-preview-summary')).replace(/[^\d ]/g, '');
  assert.ok(summary.includes(` ${expected.matched} `), `the preview shows the count: ${summary}`);
  assert.ok(expected.matched > 0, 'the rule matched the demo data');
  assert.equal(await page.locator('#rule-preview .mini-events tbody tr').count(), expected.sample.length);
  await page.screenshot({ path: path.join(SHOTS, 'rule-preview.png'), fullPage: true });

  // A bad condition: the server's 400 names the field, shown under Match.
  const bad = { ...rule.match, conditions: [{ path: 'Parameters[Name=Identity].Value', op: 'sounds-like', value: 'x' }] };
  await page.fill('#r-match', JSON.stringify(bad, null, 2));
  await page.click('#rule-test');
  await page.waitForSelector('#r-err-match:not([hidden])');
  assert.match(await page.textContent('#r-err-match'), /match\.conditions\[0\]\.op/);
  assert.equal(await page.getAttribute('#r-match', 'aria-invalid'), 'true');
  assert.ok(await page.isVisible('#rule-error'));
  // JSON that does not parse is caught before asking the server.
  await page.fill('#r-match', '{ "service": ');
  await page.click('#rule-save');
  await page.waitForFunction(() => /not valid JSON/.test(document.querySelector('#r-err-match').textContent));
  assert.deepEqual((await apiGet(`/api/rules/${rule.id}`)).match, rule.match, 'nothing was saved');
  await page.screenshot({ path: path.join(SHOTS, 'rule-error.png') });
  await closePage(page);
});

test('a new rule is created from the form, saved with its fields, and deleted', async () => {
  const name = `UI test rule ${Date.now().toString(36)}`;
  const page = await openPage();
  await page.goto(`${BASE}/#rules`);
  await viewSettled(page);
  await page.click('#new-rule');
  await page.waitForURL((u) => u.hash === '#rules/new');
  await viewSettled(page);
  assert.ok(!/\b(null|undefined)\b/.test(await page.textContent('#view')), 'no stray null or undefined on the page');
  assert.equal(await page.inputValue('#r-match'), '', 'a new rule starts with an empty match (an example is its placeholder)');
  await page.fill('#r-name', name);
  await page.selectOption('#r-severity', 'low');
  await page.fill('#r-match', JSON.stringify({ operation: ['FileDeleted'] }));
  await page.fill('#r-threshold-count', '5');
  await page.fill('#r-threshold-minutes', '15');
  await page.fill('#r-tags', 'ui-test, bulk');
  await page.click('#rule-save');
  await page.waitForURL((u) => /^#rules\/.+/.test(u.hash) && u.hash !== '#rules/new');
  await viewSettled(page);
  await page.waitForFunction(() => /Created/.test(document.querySelector('#rule-status').textContent));
  const id = decodeURIComponent(new URL(page.url()).hash.slice('#rules/'.length));
  const stored = await apiGet(`/api/rules/${encodeURIComponent(id)}`);
  assert.equal(stored.name, name);
  assert.equal(stored.severity, 'low');
  assert.equal(stored.builtin, false);
  assert.deepEqual(stored.match.operation, ['FileDeleted']);
  assert.deepEqual({ count: stored.threshold.count, minutes: stored.threshold.minutes }, { count: 5, minutes: 15 });
  assert.deepEqual(stored.tags, ['ui-test', 'bulk']);

  await page.click('#rule-delete');
  await page.click('#rule-delete'); // the second click confirms
  await page.waitForURL((u) => u.hash === '#rules');
  await viewSettled(page);
  assert.ok(!(await rowIds(page, '#rules-table')).includes(id));
  const res = await fetch(`${BASE}/api/rules/${encodeURIComponent(id)}`);
  assert.equal(res.status, 404, 'the rule is gone');
  await closePage(page);
});

test('a saved search is saved, recalled to apply its filters to the event list, and deleted', async () => {
  const options = await apiGet('/api/filter-options');
  const total = (await apiGet('/api/events/count')).count;
  let service = null;
  for (const s of options.services) {
    const n = (await apiGet(`/api/events/count?${qs({ service: s })}`)).count;
    if (n > 0 && n < total) {
      service = s;
      break;
    }
  }
  assert.ok(service, 'a service with some of the events');
  const name = `UI test search ${Date.now().toString(36)}`;
  const page = await openPage();
  await page.goto(`${BASE}/?${qs({ service, result: 'success' })}`);
  await listSettled(page);
  await page.click('#saved-toggle');
  await page.waitForSelector('#saved-popover:not([hidden]) #saved-name');
  await page.fill('#saved-name', name);
  await page.check('#saved-shared');
  await page.click('#saved-save');
  await page.waitForSelector(`#saved-list .saved-apply >> text=${name}`);
  const saved = (await apiGet('/api/saved-searches')).find((s) => s.name === name);
  assert.ok(saved, 'the search is stored');
  assert.equal(saved.filters.service, service);
  assert.equal(saved.filters.result, 'success');
  assert.equal(saved.shared, true);
  assert.equal(saved.mine, true);
  await page.screenshot({ path: path.join(SHOTS, 'saved-searches.png') });
  await page.keyboard.press('Escape'); // leaves the name box
  await page.keyboard.press('Escape'); // closes the popover
  await page.waitForSelector('#saved-popover', { state: 'hidden' });

  // Clear the filters, then recall the search.
  await page.click('#clear-filters');
  await page.waitForURL((u) => !u.searchParams.has('service'));
  await listSettled(page);
  await page.click('#saved-toggle');
  await page.click(`#saved-list .saved-apply >> text=${name}`);
  await page.waitForURL((u) => u.searchParams.get('service') === service && u.searchParams.get('result') === 'success');
  assert.equal(await listSettled(page), 'ready');
  assert.equal(await page.inputValue('#f-service'), service);
  assert.equal(await page.inputValue('#f-result'), 'success');
  const expected = (await apiGet(`/api/events?${qs({ service, result: 'success', page_size: 50 })}`)).items.map((e) => e.id);
  assert.deepEqual(await page.$$eval('#events tbody tr', (trs) => trs.map((tr) => tr.dataset.id)), expected);

  // Make a rule of it: the editor opens on the new rule, matching the search's filters.
  await page.click('#saved-toggle');
  await page.click(`#saved-list .saved-item[data-id="${saved.id}"] .saved-rule`);
  await page.selectOption(`#saved-list .saved-item[data-id="${saved.id}"] select`, 'high');
  await page.click(`#saved-list .saved-item[data-id="${saved.id}"] button >> text=Create rule`);
  await page.waitForURL((u) => u.hash.startsWith('#rules/'));
  await viewSettled(page);
  const ruleId = decodeURIComponent(new URL(page.url()).hash.slice('#rules/'.length));
  const rule = await apiGet(`/api/rules/${encodeURIComponent(ruleId)}`);
  assert.equal(rule.severity, 'high');
  assert.equal(await page.inputValue('#r-severity'), 'high');
  assert.deepEqual(JSON.parse(await page.inputValue('#r-match')), rule.match);
  assert.match(JSON.stringify(rule.match), new RegExp(service), 'the rule matches the search\'s service');
  await api('DELETE', `/api/rules/${encodeURIComponent(ruleId)}`);

  // Delete the search.
  await page.click('.views a[data-route="events"]');
  await listSettled(page);
  await page.click('#saved-toggle');
  await page.click(`#saved-list .saved-item[data-id="${saved.id}"] .saved-delete`);
  await page.waitForSelector(`#saved-list .saved-item[data-id="${saved.id}"]`, { state: 'detached' });
  assert.ok(!(await apiGet('/api/saved-searches')).some((s) => s.id === saved.id), 'the search is deleted');
  await closePage(page);
});

test('no console errors and no CSP violations on any page', () => {
  assert.deepEqual(problems, []);
});

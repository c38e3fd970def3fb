// Browser tests of the AOC web UI against a running server (seeded by the simulated tenant).
//
//   AOC_UI_URL=http://127.0.0.1:8000 node --test tests/ui.test.mjs      (from web/)
//
// Drives Debian's chromium through playwright-core. Screenshots go to AOC_UI_SCREENSHOTS
// (default ../target/ui-screenshots, relative to web/). Figures are printed: the first load's
// transferred bytes (asserted under 150 KB: the budget is about bytes, which are deterministic)
// and the time to render 500 rows with the longest main-thread task (printed only: timings
// depend on the machine).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DEFAULT_PAGE_SIZE } from '../js/state/url.js';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = (process.env.AOC_UI_URL || '').replace(/\/+$/, '');
const SHOTS = process.env.AOC_UI_SCREENSHOTS
  ? path.resolve(process.env.AOC_UI_SCREENSHOTS)
  : path.resolve(WEB_DIR, '../target/ui-screenshots');
const CHROMIUM = process.env.AOC_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// 150 KB in the strict (decimal) sense.
const FIRST_LOAD_BUDGET = 150 * 1000;

let browser;
/** Console errors, page errors and CSP violations of every page except those that expect them. */
const problems = [];

before(async () => {
  if (!BASE) throw new Error('set AOC_UI_URL to the base URL of a running AOC server (e.g. http://127.0.0.1:8000)');
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

after(async () => {
  await browser?.close();
});

// ---------- helpers ----------

async function apiGet(p) {
  const res = await fetch(`${BASE}${p}`, { headers: { Accept: 'application/json' } });
  const body = await res.text();
  assert.ok(res.ok, `GET ${p} -> ${res.status} ${body.slice(0, 200)}`);
  return JSON.parse(body);
}

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q.toString();
}

async function apiIds(filters, pageSize = DEFAULT_PAGE_SIZE) {
  const page = await apiGet(`/api/events?${qs({ ...filters, page_size: pageSize })}`);
  return page.items.map((e) => e.id);
}

async function apiCount(filters) {
  return (await apiGet(`/api/events/count?${qs(filters)}`)).count;
}

/**
 * A fresh page that records console errors and CSP violations. `expectErrors` pages still fail
 * on CSP violations and script errors, but may log failed requests (error-state tests).
 */
async function openPage({ colorScheme = 'light', width = 1280, height = 860, expectErrors = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, acceptDownloads: true });
  // The CSP report event is turned into a console error so one listener catches both.
  await context.addInitScript(() => {
    window.__aocLongTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__aocLongTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      // no long-task timing in this browser: the figure is reported as 0
    }
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

/** Wait until the list has finished loading (ready, empty or error). */
async function listSettled(page) {
  await page.waitForFunction(() => {
    const list = document.querySelector('#list');
    return list && list.dataset.state && list.dataset.state !== 'loading';
  });
  return page.$eval('#list', (l) => l.dataset.state);
}

async function rowIds(page) {
  return page.$$eval('#events tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
}

async function columnTexts(page, index) {
  return page.$$eval(`#events tbody tr td:nth-child(${index})`, (tds) => tds.map((td) => td.textContent.trim()));
}

function urlParam(page, name) {
  return new URL(page.url()).searchParams.get(name);
}

/** A service with events that is not the whole data set, so filtering visibly changes rows. */
let pickedService = null;
async function pickService() {
  pickedService ??= choosePickService();
  return pickedService;
}

async function choosePickService() {
  const options = await apiGet('/api/filter-options');
  const total = await apiCount({});
  let best = null;
  for (const s of options.services) {
    const n = await apiCount({ service: s });
    if (n > 0 && n < total && (!best || n > best.count)) best = { service: s, count: n };
  }
  assert.ok(best, `need at least two services with events; filter-options: ${JSON.stringify(options.services)}`);
  return best;
}

function modifiedCount(raw) {
  const items = [];
  for (const t of raw?.targetResources || []) items.push(...(t?.modifiedProperties || []));
  for (const r of raw?.resources || []) items.push(...(r?.modifiedProperties || []));
  items.push(...(raw?.ModifiedProperties || []));
  return items.filter((p) => p && typeof p === 'object').length;
}

/** The first JSON-encoded array/object value among an event's Entra modified properties. */
function encodedProperty(raw) {
  const props = [];
  for (const t of raw?.targetResources || []) for (const p of t?.modifiedProperties || []) props.push([p.displayName, p.oldValue, p.newValue]);
  for (const p of raw?.ModifiedProperties || []) props.push([p.Name, p.OldValue, p.NewValue]);
  for (const [name, , v] of props) {
    if (typeof v !== 'string') continue;
    try {
      const parsed = JSON.parse(v);
      if (parsed && typeof parsed === 'object') return { name, pretty: JSON.stringify(parsed, null, 2) };
    } catch {
      // not JSON: shown as text
    }
  }
  return null;
}

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// ---------- tests (run in order, sharing nothing but the server's data) ----------

test('the page loads under CSP, shows the newest events and stays within the weight budget', async () => {
  const page = await openPage();
  // Bytes on the wire: responseBodySize is the encoded (compressed) size, plus the headers.
  // Every request of the load counts, the first page of events included.
  const sizes = { assets: 0, api: 0, files: [] };
  const pending = [];
  page.on('requestfinished', (req) => {
    pending.push((async () => {
      const s = await req.sizes().catch(() => null);
      if (!s) return;
      const res = await req.response().catch(() => null);
      const encoding = (res && (await res.headerValue('content-encoding').catch(() => null))) || 'identity';
      const bytes = s.responseBodySize + s.responseHeadersSize;
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/')) sizes.api += bytes;
      else sizes.assets += bytes;
      sizes.files.push(`${url.pathname}${url.search} ${s.responseBodySize} ${encoding}`);
    })());
  });
  const res = await page.goto(`${BASE}/`);
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'/, 'the server must send the strict CSP with the page');
  assert.equal(await listSettled(page), 'ready');
  await page.waitForLoadState('networkidle');

  const ids = await rowIds(page);
  assert.ok(ids.length > 0, 'rows are shown');
  assert.deepEqual(ids, await apiIds({}), 'the rows are the newest page of /api/events');
  const total = await apiCount({});
  // The total arrives with its own request; digits are compared without group separators.
  await page.waitForFunction((n) => document.querySelector('#summary').textContent.replace(/[^\d ]/g, '').includes(` ${n} `), String(total));
  assert.ok(await page.locator('#timeline svg rect').count() > 0, 'the timeline has bars');
  assert.ok(await page.locator('#f-service option').count() > 1, 'service options are loaded');

  await Promise.all(pending);
  const transferred = sizes.assets + sizes.api;
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`first load transferred: assets ${kib(sizes.assets)} + API data ${kib(sizes.api)} (${ids.length} rows) = ${kib(transferred)} (${transferred} B; budget ${FIRST_LOAD_BUDGET} B)`);
  console.log(`  responses (path, body bytes, encoding): ${sizes.files.join(', ')}`);
  assert.ok(transferred < FIRST_LOAD_BUDGET, `the first load transferred ${transferred} B, budget ${FIRST_LOAD_BUDGET} B`);
  await page.screenshot({ path: path.join(SHOTS, 'main.png') });
  await closePage(page);
});

test('filtering by service shows only that service', async () => {
  const { service, count } = await pickService();
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  const before = await rowIds(page);
  await page.selectOption('#f-service', service);
  await page.waitForURL((u) => u.searchParams.get('service') === service);
  assert.equal(await listSettled(page), 'ready');
  const ids = await rowIds(page);
  assert.deepEqual(ids, await apiIds({ service }));
  assert.notDeepEqual(ids, before, 'rows changed');
  const services = await columnTexts(page, 2);
  assert.ok(services.every((s) => s === service), `every row is ${service}: ${[...new Set(services)]}`);
  assert.equal(ids.length, Math.min(count, DEFAULT_PAGE_SIZE));
  await closePage(page);
});

test('free-text search narrows the rows to what the API finds', async () => {
  const all = (await apiGet(`/api/events?page_size=200`)).items;
  const total = await apiCount({});
  // A target name that appears in some events but not all.
  let term = null;
  for (const ev of all) {
    for (const t of ev.target_displays || []) {
      if (t && t.length >= 4) {
        const n = await apiCount({ search: t });
        if (n > 0 && n < total) {
          term = t;
          break;
        }
      }
    }
    if (term) break;
  }
  assert.ok(term, 'found a search term that matches some events');
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.fill('#f-search', term);
  await page.press('#f-search', 'Enter');
  await page.waitForURL((u) => u.searchParams.get('search') === term);
  assert.equal(await listSettled(page), 'ready');
  assert.deepEqual(await rowIds(page), await apiIds({ search: term }));
  await closePage(page);
});

test('the list loads summary rows and an opened row loads its raw record on demand', async () => {
  const page = await openPage();
  const listRequests = [];
  const eventRequests = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname === '/api/events') listRequests.push(url);
    else if (/^\/api\/events\/[^/]+$/.test(url.pathname) && !['count', 'histogram', 'export'].includes(url.pathname.split('/')[3])) eventRequests.push(url);
  });
  const listed = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/events');
  await page.goto(`${BASE}/`);
  const rows = (await (await listed).json()).items;
  assert.equal(await listSettled(page), 'ready');
  assert.ok(listRequests.length > 0 && listRequests.every((u) => u.searchParams.get('view') === 'summary'), 'the list asks for summaries');
  assert.ok(rows.length > 0 && rows.every((e) => !('raw' in e) && !('actor' in e) && !('targets' in e)), 'summary rows carry no record');

  const id = rows[0].id;
  const full = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/events/${encodeURIComponent(id)}`);
  await page.click(`#events tbody tr[data-id=${JSON.stringify(id)}]`);
  const ev = await (await full).json();
  assert.ok(ev.raw && typeof ev.raw === 'object', 'the whole event has its raw record');
  assert.equal(eventRequests.length, 1, 'one request for the opened event');
  await page.waitForSelector('#panel .raw');
  await page.click('#panel .raw > summary');
  await page.waitForSelector('#panel .json .j-key');
  const rawText = await page.textContent('#panel .raw');
  const someKey = Object.keys(ev.raw)[0];
  assert.ok(rawText.includes(someKey), `the raw record (${someKey}) is shown`);
  assert.equal(await page.getAttribute('#panel .panel-body', 'aria-busy'), 'false');
  await closePage(page);
});

test('opening an event shows its fields, the decoded old -> new diff and the raw record', async () => {
  const items = (await apiGet('/api/events?page_size=500')).items;
  // Prefer an event whose modified properties carry JSON-encoded values (Entra records).
  // The richest one makes the most useful screenshot.
  const withDiff = items.filter((e) => modifiedCount(e.raw) > 0).sort((a, b) => modifiedCount(b.raw) - modifiedCount(a.raw));
  assert.ok(withDiff.length > 0, 'the seeded data has events with modified properties');
  const ev = withDiff.find((e) => encodedProperty(e.raw)) || withDiff[0];

  const page = await openPage();
  await page.goto(`${BASE}/?page_size=500`);
  assert.equal(await listSettled(page), 'ready');
  await page.waitForFunction(() => document.querySelector('#list').dataset.rendered);

  const row = page.locator(`#events tbody tr[data-id=${JSON.stringify(ev.id)}]`);
  await row.click();
  await page.waitForSelector('#panel:not([hidden])');
  await page.waitForURL((u) => u.searchParams.get('event') === ev.id);
  assert.equal((await page.textContent('#panel-title')).trim(), ev.operation);
  const fields = await page.textContent('#panel .fields');
  assert.ok(fields.includes(ev.id), 'the panel shows the event id');
  if (ev.actor_display) assert.ok(fields.includes(ev.actor_display), 'the panel shows the actor');

  // The list rows are summaries: the diff comes with the record, loaded when the row opens.
  await page.waitForSelector('#panel .raw');
  const diffRows = page.locator('#panel .diff .diff-row');
  assert.equal(await diffRows.count(), modifiedCount(ev.raw), 'one diff row per modified property');
  const encoded = encodedProperty(ev.raw);
  if (encoded) {
    const newCells = await page.$$eval('#panel .diff .diff-row', (rows) => rows.map((r) => ({
      name: r.querySelector('.diff-name').textContent,
      value: r.querySelector('.diff-new').textContent,
    })));
    const cell = newCells.find((c) => c.name === encoded.name);
    assert.ok(cell, `a diff row for ${encoded.name}`);
    assert.equal(cell.value, encoded.pretty, 'JSON-encoded values are decoded and pretty-printed');
  }
  // Filter links for this actor / operation.
  assert.ok(await page.locator('#panel a.filter-link').count() >= 2);

  await page.screenshot({ path: path.join(SHOTS, 'panel.png') });
  await page.click('#panel .raw > summary');
  await page.waitForSelector('#panel .json .j-key');
  // The raw record sits below the diff: scroll the panel so the screenshot shows it.
  await page.evaluate(() => document.querySelector('#panel .raw > summary').scrollIntoView({ block: 'start' }));
  assert.ok(await page.locator('#panel .copy-raw').isVisible());
  await page.screenshot({ path: path.join(SHOTS, 'panel-raw.png') });

  // A filter link narrows the list to this operation and keeps the event open.
  await page.click('#panel .fields a.filter-link >> nth=1');
  await page.waitForURL((u) => u.searchParams.get('operation') === ev.operation);
  await listSettled(page);
  const ops = await columnTexts(page, 3);
  assert.ok(ops.length > 0 && ops.every((o) => o === ev.operation));
  await closePage(page);
});

test('rendering 500 rows (measurement)', async () => {
  const page = await openPage();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    await page.goto(`${BASE}/?page_size=500`);
    await listSettled(page);
    await page.waitForFunction(() => document.querySelector('#list').dataset.rendered);
    runs.push(await page.evaluate(() => {
      const last = (name) => performance.getEntriesByName(name).at(-1)?.duration;
      return {
        rows: document.querySelectorAll('#events tbody tr').length,
        firstScript: last('aoc:render-first-rows'),
        firstPainted: last('aoc:first-rows-painted'),
        allInserted: last('aoc:render-rows'),
        allPainted: last('aoc:render-rows-painted'),
        // Tasks over 50 ms (the browser's long-task threshold), over the whole load and over the
        // render alone (from the first row inserted to the last row painted).
        longestTask: Math.max(0, ...(window.__aocLongTasks || []).map((t) => t.duration)),
        longestRenderTask: (() => {
          const start = performance.getEntriesByName('aoc:render-start').at(-1)?.startTime ?? 0;
          const painted = performance.getEntriesByName('aoc:render-rows-painted').at(-1);
          const end = painted ? painted.startTime + painted.duration : Infinity;
          const during = (window.__aocLongTasks || []).filter((t) => t.start + t.duration > start && t.start < end);
          return Math.max(0, ...during.map((t) => t.duration));
        })(),
      };
    }));
  }
  const fmt = (k) => runs.map((r) => r[k]?.toFixed(0)).join(' / ');
  console.log(`500 rows (${runs[0].rows} rendered; 3 page loads, ms): first screenful scripted ${fmt('firstScript')}, painted ${fmt('firstPainted')}; all rows inserted ${fmt('allInserted')}, painted ${fmt('allPainted')}; longest main-thread task while rendering ${fmt('longestRenderTask')}, of the whole load ${fmt('longestTask')} (0 = none over 50 ms)`);
  assert.equal(runs[0].rows, Math.min(500, await apiCount({})));
  await closePage(page);
});

test('a tag and a comment are saved in place and survive a reload; tags can be removed', async () => {
  const [id] = await apiIds({}, 1);
  const tag = `ui-test-${Date.now().toString(36)}`;
  const comment = `checked by the UI test at ${new Date().toISOString()}`;
  const page = await openPage();
  await page.goto(`${BASE}/?${qs({ event: id })}`);
  await listSettled(page);
  await page.waitForSelector('#panel:not([hidden]) .tag-input');

  await page.fill('#panel .tag-input', tag);
  await page.press('#panel .tag-input', 'Enter');
  await page.waitForSelector(`#panel .tag-list .tag-text >> text=${tag}`);
  await page.fill('#panel .comment-input', comment);
  await page.click('#panel .comment-form button[type=submit]');
  await page.waitForSelector(`#panel .comment-text >> text=${comment}`);
  // The row in the table shows the new tag without a reload.
  await page.waitForSelector(`#events tbody tr[data-id=${JSON.stringify(id)}] .c-tags .tag >> text=${tag}`);

  await page.reload();
  await listSettled(page);
  await page.waitForSelector(`#panel:not([hidden]) .tag-list .tag-text >> text=${tag}`);
  await page.waitForSelector(`#panel .comment-text >> text=${comment}`);
  const stored = await apiGet(`/api/events/${encodeURIComponent(id)}`);
  assert.ok(stored.tags.includes(tag));
  assert.ok(stored.comments.some((c) => c.text === comment));

  await page.click(`#panel button[aria-label=${JSON.stringify(`Remove tag ${tag}`)}]`);
  await page.waitForSelector(`#panel .tag-list .tag-text >> text=${tag}`, { state: 'detached' });
  const after = await apiGet(`/api/events/${encodeURIComponent(id)}`);
  assert.ok(!after.tags.includes(tag), 'the tag is removed on the server');
  await closePage(page);
});

test('the URL carries the filters: reload keeps them, Back restores the previous view', async () => {
  const { service } = await pickService();
  const sample = (await apiGet(`/api/events?${qs({ service, page_size: 20 })}`)).items;
  const term = sample.find((e) => e.actor_display)?.actor_display;
  assert.ok(term, 'an actor name to search for');

  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.selectOption('#f-service', service);
  await page.waitForURL((u) => u.searchParams.get('service') === service);
  await listSettled(page);
  const serviceOnly = await rowIds(page);

  await page.fill('#f-search', term);
  await page.press('#f-search', 'Enter');
  await page.waitForURL((u) => u.searchParams.get('search') === term);
  await listSettled(page);
  const both = await rowIds(page);
  assert.deepEqual(both, await apiIds({ service, search: term }));

  await page.click('.ranges button[data-range="30d"]');
  await page.waitForURL((u) => u.searchParams.get('range') === '30d');
  await listSettled(page);

  await page.reload();
  assert.equal(await listSettled(page), 'ready');
  assert.equal(await page.inputValue('#f-service'), service);
  assert.equal(await page.inputValue('#f-search'), term);
  assert.equal(await page.getAttribute('.ranges button[data-range="30d"]', 'aria-pressed'), 'true');

  await page.goBack();
  await page.waitForURL((u) => !u.searchParams.has('range') && u.searchParams.get('search') === term);
  await listSettled(page);
  assert.deepEqual(await rowIds(page), both, 'Back restores the view before the time pick');

  await page.goBack();
  await page.waitForURL((u) => !u.searchParams.has('search'));
  await listSettled(page);
  assert.equal(urlParam(page, 'service'), service);
  assert.equal(await page.inputValue('#f-search'), '');
  assert.equal(await page.inputValue('#f-service'), service);
  assert.deepEqual(await rowIds(page), serviceOnly, 'Back restores the service-only view');

  await page.goForward();
  await page.waitForURL((u) => u.searchParams.get('search') === term);
  await listSettled(page);
  assert.equal(await page.inputValue('#f-search'), term);
  await closePage(page);
});

test('CSV export downloads exactly the filtered rows', async () => {
  const { service } = await pickService();
  const expected = await apiCount({ service });
  const page = await openPage();
  await page.goto(`${BASE}/?${qs({ service })}`);
  await listSettled(page);
  const href = await page.getAttribute('#export-csv', 'href');
  assert.match(href, /format=csv/);
  assert.equal(new URL(href, BASE).searchParams.get('service'), service);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const file = await download.path();
  const rows = parseCsv(await readFile(file, 'utf8')).filter((r) => r.length > 1 || r[0] !== '');
  const [header, ...data] = rows;
  assert.deepEqual(header, ['timestamp', 'service', 'operation', 'result', 'actor', 'targets', 'summary', 'id', 'source', 'tags', 'result_detail']);
  assert.equal(data.length, expected, 'one CSV row per event counted by /api/events/count');
  assert.ok(data.every((r) => r[1] === service), 'every exported row has the filtered service');
  await closePage(page);
});

test('dragging across the timeline narrows the time range', async () => {
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.waitForSelector('#timeline svg rect');
  const box = await page.locator('#timeline svg').boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, y, { steps: 6 });
  await page.mouse.up();
  await page.waitForURL((u) => u.searchParams.has('start') && u.searchParams.has('end'));
  const start = urlParam(page, 'start');
  const end = urlParam(page, 'end');
  assert.ok(Date.parse(start) < Date.parse(end));
  const state = await listSettled(page);
  const expected = await apiIds({ start, end });
  assert.equal(state, expected.length ? 'ready' : 'empty');
  assert.deepEqual(await rowIds(page), expected);
  const times = await page.$$eval('#events tbody time', (ts) => ts.map((t) => t.dateTime));
  assert.ok(times.every((t) => Date.parse(t) >= Date.parse(start) && Date.parse(t) <= Date.parse(end)), 'every row is inside the dragged range');
  assert.equal(await page.getAttribute('.ranges button[data-range="custom"]', 'aria-pressed'), 'true');
  await closePage(page);
});

test('"load more" pages with the cursor and the total stays in view', async () => {
  const total = await apiCount({});
  const page = await openPage();
  await page.goto(`${BASE}/?page_size=20`);
  await listSettled(page);
  if (total <= 20) {
    assert.ok(await page.locator('#load-more').isHidden(), 'no "load more" when everything is shown');
    await closePage(page);
    return;
  }
  const first = await apiGet('/api/events?page_size=20');
  const second = await apiGet(`/api/events?${qs({ page_size: 20, cursor: first.next_cursor })}`);
  await page.click('#load-more');
  await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length > 20);
  assert.deepEqual(await rowIds(page), [...first.items, ...second.items].map((e) => e.id));
  const summary = (await page.textContent('#summary')).replace(/[^\d ]/g, '');
  assert.ok(summary.includes(` ${total} `), `summary shows the total: ${summary}`);
  await closePage(page);
});

test('source health lists every source the API reports', async () => {
  const health = await apiGet('/api/source-health');
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.click('#health-toggle');
  await page.waitForSelector('#health-popover:not([hidden])');
  if (health.length) {
    await page.waitForFunction((n) => document.querySelectorAll('#health-table tr[class^="health-"]').length === n, health.length);
    const text = await page.textContent('#health-table');
    for (const h of health) assert.ok(text.includes(h.source), `${h.source} is listed`);
  }
  await page.keyboard.press('Escape');
  await page.waitForSelector('#health-popover', { state: 'hidden' });
  await closePage(page);
});

test('keyboard: / focuses search, arrows move, Enter opens, Esc closes', async () => {
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-search');
  await page.keyboard.press('Escape');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const ids = await rowIds(page);
  assert.equal(await page.getAttribute('#events tbody tr.selected', 'data-id'), ids[1]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#panel:not([hidden])');
  assert.equal(urlParam(page, 'event'), ids[1]);
  await page.keyboard.press('ArrowUp');
  await page.waitForURL((u) => u.searchParams.get('event') === ids[0]);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#panel', { state: 'hidden' });
  assert.equal(urlParam(page, 'event'), null);
  await closePage(page);
});

test('empty and error states are explicit and show the API message', async () => {
  const page = await openPage({ expectErrors: true });
  await page.goto(`${BASE}/?${qs({ search: `no-such-thing-${Date.now()}` })}`);
  assert.equal(await listSettled(page), 'empty');
  assert.match(await page.textContent('#list-state'), /No events match/);

  // The API rejects a start after the end; the page must show its message, not a blank table.
  await page.goto(`${BASE}/?${qs({ start: '2030-01-02T00:00:00Z', end: '2030-01-01T00:00:00Z' })}`);
  assert.equal(await listSettled(page), 'error');
  const text = await page.textContent('#list-state');
  assert.match(text, /Could not load events/);
  assert.match(text, /start/i, `the API's message is shown: ${text}`);
  await closePage(page);
});

test('dark theme and a narrow laptop screen (screenshots)', async () => {
  const dark = await openPage({ colorScheme: 'dark' });
  await dark.goto(`${BASE}/`);
  await listSettled(dark);
  const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(246, 247, 249)', 'dark theme follows the system setting');
  await dark.screenshot({ path: path.join(SHOTS, 'main-dark.png') });
  await dark.click('#events tbody tr >> nth=0');
  await dark.waitForSelector('#panel:not([hidden])');
  await dark.screenshot({ path: path.join(SHOTS, 'panel-dark.png') });
  await closePage(dark);

  const narrow = await openPage({ width: 1024, height: 720 });
  await narrow.goto(`${BASE}/`);
  await listSettled(narrow);
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 1024 px (overflow ${overflow} px)`);
  await narrow.screenshot({ path: path.join(SHOTS, 'main-1024.png') });
  await closePage(narrow);
});

test('no console errors and no CSP violations on any page', () => {
  assert.deepEqual(problems, []);
  console.log(`screenshots in ${SHOTS}`);
});

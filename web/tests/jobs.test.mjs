// Browser tests of the work that runs as jobs and of SIEM status, against a running AOC demo:
// "Fetch now" (a fetch job whose progress is followed until its report), the upload import (a
// small Management Activity API export with one malformed line: upload progress, the job's
// progress bar, then new / duplicate / rejected counts and the rejected line), and the SIEM
// forwarding table in the source-health popover (scripts/ui-test points the demo's webhook at a
// closed port, so the target has a backlog and a last error).
//
//   AOC_UI_URL=http://127.0.0.1:8000 node --test tests/jobs.test.mjs      (from web/)
//
// Fetches from the simulated tenant and imports three events: run against a throwaway demo.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.join(WEB_DIR, 'tests/fixtures/purview-import.jsonl');
const BASE = (process.env.AOC_UI_URL || '').replace(/\/+$/, '');
const SHOTS = process.env.AOC_UI_SCREENSHOTS
  ? path.resolve(process.env.AOC_UI_SCREENSHOTS)
  : path.resolve(WEB_DIR, '../target/ui-screenshots');
const CHROMIUM = process.env.AOC_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const JOB_WAIT_MS = 90_000;

let browser;
const problems = [];

before(async () => {
  if (!BASE) throw new Error('set AOC_UI_URL to the base URL of a running AOC server (e.g. http://127.0.0.1:8000)');
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

after(async () => {
  await browser?.close();
});

async function apiGet(p) {
  const res = await fetch(`${BASE}${p}`, { headers: { Accept: 'application/json' } });
  const text = await res.text();
  assert.ok(res.ok, `GET ${p} -> ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** A page recording console errors and CSP violations; `allow` matches console errors it provokes. */
async function openPage({ allow = null } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
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
    if (allow && allow.test(text) && !/CSP violation|Content Security Policy/i.test(text)) return;
    problems.push(`console error on ${page.url()}: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
  return page;
}

async function listSettled(page) {
  await page.waitForFunction(() => {
    const list = document.querySelector('#list');
    return list && list.dataset.state && list.dataset.state !== 'loading';
  });
  return page.$eval('#list', (l) => l.dataset.state);
}

test('"Fetch now" starts a fetch job, shows its progress, then its report, and reloads the list', async () => {
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  // Every state the status line goes through, and whether the progress bar was on screen then.
  await page.evaluate(() => {
    const status = document.querySelector('#fetch-status');
    window.__jobStates = [];
    new MutationObserver(() => {
      const s = status.dataset.jobState;
      const bar = !document.querySelector('#fetch-progress').hidden;
      const last = window.__jobStates.at(-1);
      if (!last || last.s !== s) window.__jobStates.push({ s, bar, text: status.textContent });
    }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
  });
  const listLoads = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/api/events') listLoads.push(Date.now());
  });
  const [startReq] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/jobs/fetch') && r.method() === 'POST'),
    page.click('#fetch-now'),
  ]);
  assert.deepEqual(JSON.parse(startReq.postData()), { hours: Number(await page.inputValue('#fetch-hours')) });
  assert.ok(await page.isDisabled('#fetch-now'), 'one fetch at a time');
  await page.waitForSelector('#fetch-status[data-job-id]');
  const jobId = await page.getAttribute('#fetch-status', 'data-job-id');
  await page.waitForFunction(() => ['succeeded', 'failed', 'cancelled', 'interrupted', 'error'].includes(document.querySelector('#fetch-status').dataset.jobState), null, { timeout: JOB_WAIT_MS });
  const finishedAt = Date.now();
  const states = await page.evaluate(() => window.__jobStates);
  const job = await apiGet(`/api/jobs/${jobId}`);
  assert.equal(job.kind, 'fetch');
  assert.equal(job.state, 'succeeded', `the job ended ${job.state}: ${job.error}; states seen ${JSON.stringify(states)}`);
  assert.equal(await page.getAttribute('#fetch-status', 'data-job-state'), 'succeeded');

  // Progress was shown while the job was queued or running, with the bar on screen.
  const live = states.filter((x) => x.s === 'queued' || x.s === 'running');
  assert.ok(live.length > 0, `a queued or running state was shown: ${JSON.stringify(states)}`);
  assert.ok(live.every((x) => x.bar), 'the progress bar is on screen while the job runs');
  assert.match(live[0].text, /Fetch queued|Fetching/);
  assert.ok(await page.isHidden('#fetch-progress'), 'the bar goes away when the job ends');

  // The report: the job's result, in the status line and the report block.
  const r = job.result;
  const status = await page.textContent('#fetch-status');
  assert.match(status, new RegExp(`${r.stored.toLocaleString('en-US').replace(/,/g, '.?')} new`), status);
  await page.waitForSelector('#fetch-report:not([hidden])');
  const report = await page.textContent('#fetch-report');
  for (const source of Object.keys(r.sources || {})) assert.ok(report.includes(source), `${source} is in the report`);
  assert.ok(!(await page.isDisabled('#fetch-now')));

  // The list is loaded again once the job succeeded.
  await page.waitForFunction(() => document.querySelector('#list').dataset.state !== 'loading');
  assert.ok(listLoads.some((t) => t >= finishedAt - 1500), 'the event list was reloaded after the fetch');
  await page.screenshot({ path: path.join(SHOTS, 'fetch-job.png'), clip: { x: 0, y: 0, width: 1280, height: 160 } });
  await page.context().close();
});

test('"Fetch now" shows the server\'s error when the job cannot start', async () => {
  const page = await openPage({ allow: /status of 503/ });
  await page.route('**/api/jobs/fetch', (route) => route.fulfill({
    status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'fetching is not configured on this server' }),
  }));
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.click('#fetch-now');
  await page.waitForSelector('#fetch-status.error');
  assert.equal((await page.textContent('#fetch-status')).trim(), 'Fetch failed: fetching is not configured on this server');
  assert.ok(!(await page.isDisabled('#fetch-now')), 'the button is usable again');
  await page.context().close();
});

test('import: upload an export, follow the job, then the counts and the rejected line', async () => {
  // The fixture's records, moved to yesterday so they sit inside the demo's data (the file's ids
  // stay: a second run against the same server counts them as duplicates).
  const yesterday = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
  const body = (await readFile(FIXTURE, 'utf8')).replaceAll('2026-03-02T', `${yesterday}T`);
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.click('#import-toggle');
  await page.waitForSelector('#import-popover:not([hidden]) #import-file');
  assert.equal(await page.getAttribute('#import-toggle', 'aria-expanded'), 'true');

  // Without a file: a clear word, no request.
  await page.click('#import-start');
  assert.match(await page.textContent('#import-status'), /Choose a file/);

  await page.setInputFiles('#import-file', { name: 'purview-import.jsonl', mimeType: 'application/json', buffer: Buffer.from(body) });
  const [upload] = await Promise.all([
    page.waitForRequest((r) => r.url().includes('/api/jobs/import?') && r.method() === 'POST'),
    page.click('#import-start'),
  ]);
  assert.equal(new URL(upload.url()).searchParams.get('filename'), 'purview-import.jsonl');
  assert.equal(upload.headers()['content-type'], 'application/octet-stream', 'the file is the raw body');
  await page.waitForFunction(() => ['succeeded', 'failed', 'cancelled', 'interrupted', 'error'].includes(document.querySelector('#import-popover').dataset.state), null, { timeout: JOB_WAIT_MS });
  assert.equal(await page.getAttribute('#import-popover', 'data-state'), 'succeeded', await page.textContent('#import-status'));
  assert.equal(Number(await page.getAttribute('#import-upload', 'value')), 1, 'the upload bar is full');
  assert.equal(Number(await page.getAttribute('#import-progress', 'value')), 1, 'the import bar is full');

  const count = async (key) => Number(await page.getAttribute(`#import-result .import-${key}`, 'data-count'));
  assert.equal(await count('records'), 4);
  assert.equal(await count('new') + await count('duplicates'), 3, 'three good records, new or already stored');
  assert.equal(await count('rejected'), 1);
  const rejected = await page.$$eval('#import-rejected li', (lis) => lis.map((li) => li.textContent));
  assert.equal(rejected.length, 1);
  assert.match(rejected[0], /^line 4: invalid JSON/);
  await page.locator('#import-popover').screenshot({ path: path.join(SHOTS, 'import-job.png') });

  // The page's figures are the job's.
  const jobs = await apiGet('/api/jobs?kind=import&limit=1');
  const result = jobs.items[0].result;
  assert.equal(jobs.items[0].params.bytes, Buffer.byteLength(body), 'the whole file arrived');
  assert.equal(await count('new'), result.new);
  assert.equal(await count('duplicates'), result.duplicates);
  // The imported events are stored and findable.
  const found = await apiGet('/api/events?search=import.tester%40contoso.com&page_size=10');
  assert.equal(found.items.length, 3);

  await page.keyboard.press('Escape');
  await page.waitForSelector('#import-popover', { state: 'hidden' });
  await page.context().close();
});

test('source health shows SIEM forwarding per target, or no SIEM table without targets', async () => {
  const siem = await apiGet('/api/siem/status');
  const page = await openPage();
  await page.goto(`${BASE}/`);
  await listSettled(page);
  await page.click('#health-toggle');
  await page.waitForSelector('#health-popover:not([hidden])');
  if (!siem.targets.length) {
    await page.waitForTimeout(500);
    assert.ok(await page.isHidden('#siem-status'), 'no SIEM table when no target is configured');
    await page.context().close();
    return;
  }
  await page.waitForSelector('#siem-status:not([hidden])');
  await page.waitForFunction((n) => document.querySelectorAll('#siem-table tr[data-target]').length === n, siem.targets.length);
  for (const t of siem.targets) {
    const row = `#siem-table tr[data-target="${t.name}"]`;
    const backlog = Number((await page.textContent(`${row} .siem-backlog`)).replace(/\D/g, ''));
    assert.ok(backlog > 0 || t.backlog === 0, `${t.name}: backlog shown (${backlog})`);
    if (t.last_error) {
      const shown = await page.textContent(`${row} .siem-error`);
      // The error can change between the two reads (a new attempt): compare its stable start.
      assert.ok(shown.startsWith(t.last_error.slice(0, 30)), `${t.name}: last error shown: ${shown}`);
    }
  }
  await page.locator('#health-popover').screenshot({ path: path.join(SHOTS, 'siem-status.png') });
  await page.keyboard.press('Escape');
  await page.context().close();
});

test('no console errors and no CSP violations on any page', () => {
  assert.deepEqual(problems, []);
});

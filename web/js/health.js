// Source health (last success / last error per source, and SIEM forwarding per target) and
// "Fetch now", which starts a fetch job and follows its progress until the report arrives.

import { api } from './api.js';
import { h, formatAgo, formatLocal, formatUtc, formatNumber } from './format.js';
import { watchJob } from './jobs.js';

const JOB_STATE_WORDS = { queued: 'Fetch queued…', running: 'Fetching…' };

export class SourceHealth {
  /**
   * @param {HTMLElement} root the header block holding the health toggle, popover and fetch form
   * @param {{onFetched: (report: object) => void}} handlers
   */
  constructor(root, { onFetched }) {
    this.onFetched = onFetched;
    this.toggle = root.querySelector('#health-toggle');
    this.dots = root.querySelector('#health-dots');
    this.popover = root.querySelector('#health-popover');
    this.table = root.querySelector('#health-table');
    this.fetchButton = root.querySelector('#fetch-now');
    this.hours = root.querySelector('#fetch-hours');
    this.status = root.querySelector('#fetch-status');
    this.report = root.querySelector('#fetch-report');
    this.progress = root.querySelector('#fetch-progress');
    this.cancelButton = root.querySelector('#fetch-cancel');
    this.siem = root.querySelector('#siem-status');
    this.siemTable = root.querySelector('#siem-table');
    this.busy = false;
    this.job = null;
    this.cancelButton.addEventListener('click', () => this.cancel());

    this.toggle.addEventListener('click', () => this.setOpen(this.popover.hidden));
    document.addEventListener('click', (e) => {
      if (!this.popover.hidden && !root.contains(e.target)) this.setOpen(false);
    });
    this.fetchButton.addEventListener('click', () => this.fetchNow());
  }

  get isOpen() {
    return !this.popover.hidden;
  }

  setOpen(open) {
    this.popover.hidden = !open;
    this.toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) this.refresh();
  }

  /** Say whether this server can fetch at all (`fetch_configured` from /api/config/features). */
  setConfigured(configured) {
    if (configured === false) {
      this.fetchButton.disabled = true;
      this.fetchButton.title = 'No Microsoft 365 tenant is configured on this server (TENANT_ID, CLIENT_ID, CLIENT_SECRET)';
    }
  }

  async refresh() {
    this.refreshSiem();
    try {
      const rows = await api.sourceHealth();
      this.render(Array.isArray(rows) ? rows : []);
    } catch (err) {
      this.dots.replaceChildren(h('span', { className: 'dot dot-error', title: err.message }));
      this.table.replaceChildren(h('tr', {}, h('td', { colSpan: 5, className: 'state-error' }, `Source health unavailable: ${err.message}`)));
    }
  }

  render(rows) {
    const dots = document.createDocumentFragment();
    const body = document.createDocumentFragment();
    for (const r of rows) {
      const state = stateOf(r);
      dots.append(h('span', { className: `dot dot-${state}`, title: `${r.source}: ${state === 'ok' ? 'ok' : state === 'error' ? 'last attempt failed' : 'never fetched'}` }));
      body.append(h('tr', { className: `health-${state}` },
        h('th', { scope: 'row' }, h('span', { className: `dot dot-${state}` }), ' ', r.source),
        timeCell(r.last_success),
        timeCell(r.last_attempt),
        h('td', { className: 'num' }, r.last_count == null ? '—' : formatNumber(r.last_count)),
        h('td', { className: 'health-error' }, r.last_error || '—'),
      ));
    }
    if (!rows.length) {
      body.append(h('tr', {}, h('td', { colSpan: 5, className: 'muted' }, 'No source has been fetched yet.')));
    }
    this.dots.replaceChildren(dots);
    this.table.replaceChildren(body);
  }

  /** SIEM forwarding per target; the table stays hidden when no target is configured. */
  async refreshSiem() {
    let status;
    try {
      status = await api.siemStatus();
    } catch {
      status = null;
    }
    const targets = Array.isArray(status?.targets) ? status.targets : [];
    this.siem.hidden = !targets.length;
    this.siemTable.replaceChildren(...targets.map((t) => {
      const failing = Boolean(t.last_error);
      return h('tr', { className: failing ? 'health-error-row' : '', dataset: { target: String(t.name || '') } },
        h('th', { scope: 'row' }, h('span', { className: `dot dot-${failing ? 'error' : t.last_success ? 'ok' : 'never'}` }), ' ', t.name || t.kind || '?',
          t.kind && t.kind !== t.name ? h('span', { className: 'muted' }, ` (${t.kind})`) : null),
        h('td', { className: 'num siem-backlog' }, `${formatNumber(t.backlog)}${t.backlog_capped ? '+' : ''}`),
        timeCell(t.last_success),
        h('td', { className: 'num' }, formatNumber(t.delivered)),
        h('td', { className: 'health-error siem-error', title: t.last_error_at ? `${formatLocal(t.last_error_at)} (${formatUtc(t.last_error_at)})` : '' }, t.last_error || '—'),
      );
    }));
  }

  async fetchNow() {
    if (this.busy) return;
    this.busy = true;
    this.fetchButton.disabled = true;
    this.fetchButton.classList.add('is-busy');
    this.report.hidden = true;
    this.status.classList.remove('error');
    this.status.dataset.jobState = 'starting';
    this.status.textContent = 'Starting the fetch…';
    const started = Date.now();
    try {
      const job = await api.startFetchJob(this.hours.value);
      this.job = job;
      this.progress.hidden = false;
      this.cancelButton.hidden = false;
      this.cancelButton.disabled = false;
      const done = await watchJob(job, { onUpdate: (j) => this.showProgress(j, started) });
      this.finish(done, started);
    } catch (err) {
      this.status.dataset.jobState = 'error';
      this.status.textContent = `Fetch failed: ${err.message}`;
      this.status.classList.add('error');
    } finally {
      this.job = null;
      this.busy = false;
      this.progress.hidden = true;
      this.cancelButton.hidden = true;
      this.fetchButton.disabled = false;
      this.fetchButton.classList.remove('is-busy');
      this.refresh();
    }
  }

  /** A fetch never knows its total: the bar is indeterminate, the words count records. */
  showProgress(job, started) {
    const s = Math.round((Date.now() - started) / 1000);
    this.status.dataset.jobState = job.state;
    this.status.dataset.jobId = String(job.id);
    const records = Number(job.progress?.done) || 0;
    const word = JOB_STATE_WORDS[job.state] || 'Fetching…';
    this.status.textContent = job.state === 'running'
      ? `${word} ${formatNumber(records)} records received (${s} s)`
      : `${word} (${s} s)`;
    if (job.cancel_requested) this.status.textContent = 'Cancelling…';
  }

  finish(job, started) {
    const s = Math.round((Date.now() - started) / 1000);
    this.status.dataset.jobState = job.state;
    const report = job.result && typeof job.result === 'object' ? job.result : null;
    if (job.state === 'succeeded' && report) {
      this.status.textContent = `Fetched in ${s} s: ${formatNumber(report.stored)} new, ${formatNumber(report.duplicates)} already known`;
      this.showReport(report);
      this.onFetched(report);
      return;
    }
    this.status.classList.add('error');
    if (job.state === 'cancelled') {
      this.status.textContent = `Fetch cancelled after ${formatNumber(Number(job.progress?.done) || 0)} records (what was stored stays stored).`;
      this.onFetched(report || {});
      return;
    }
    this.status.textContent = `Fetch ${job.state === 'interrupted' ? 'interrupted' : 'failed'}: ${job.error || 'no reason given'}`;
    // A fetch whose every source failed still carries the report with each source's error.
    if (report && report.sources) this.showReport(report);
  }

  async cancel() {
    const job = this.job;
    if (!job) return;
    this.cancelButton.disabled = true;
    this.status.textContent = 'Cancelling…';
    try {
      await api.cancelJob(job.id);
    } catch (err) {
      this.cancelButton.disabled = false;
      this.status.textContent = `Could not cancel: ${err.message}`;
    }
  }

  showReport(report) {
    this.status.classList.remove('error');
    const lines = [h('p', {},
      `Fetched ${formatNumber(report.fetched)} records: ${formatNumber(report.stored)} stored, ${formatNumber(report.duplicates)} duplicates.`)];
    const sources = report.sources && typeof report.sources === 'object' ? Object.entries(report.sources) : [];
    if (sources.length) {
      lines.push(h('ul', { className: 'report-sources' }, sources.map(([name, s]) => h('li', { className: s && s.error ? 'error' : '' },
        h('strong', {}, name), ': ',
        s && s.error ? `failed: ${s.error}` : `${formatNumber(s?.fetched)} fetched, ${formatNumber(s?.stored)} stored, ${formatNumber(s?.duplicates)} duplicates${s?.rejected ? `, ${formatNumber(s.rejected)} rejected` : ''}`))));
    }
    const warnings = Array.isArray(report.warnings) ? report.warnings : [];
    if (warnings.length) {
      lines.push(h('ul', { className: 'report-warnings' }, warnings.map((w) => h('li', {}, String(w)))));
    }
    const close = h('button', { type: 'button', className: 'report-close', attrs: { 'aria-label': 'Dismiss' } }, '×');
    close.addEventListener('click', () => { this.report.hidden = true; });
    this.report.replaceChildren(close, ...lines);
    this.report.hidden = false;
    if (sources.some(([, s]) => s && s.error) || warnings.length) this.report.classList.add('has-problems');
    else this.report.classList.remove('has-problems');
  }
}

function stateOf(r) {
  const failedLast = r.last_error && (!r.last_success || Date.parse(r.last_attempt) > Date.parse(r.last_success));
  if (failedLast) return 'error';
  return r.last_success ? 'ok' : 'never';
}

function timeCell(iso) {
  return h('td', { title: iso ? `${formatLocal(iso)} (${formatUtc(iso)})` : '' }, formatAgo(iso));
}

// Source health (last success / last error per source) and "Fetch now". A fetch is one long
// request, so progress is shown as elapsed time until the summary arrives.

import { api } from './api.js';
import { h, formatAgo, formatLocal, formatUtc, formatNumber } from './format.js';

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
    this.busy = false;

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

  async fetchNow() {
    if (this.busy) return;
    this.busy = true;
    this.fetchButton.disabled = true;
    this.fetchButton.classList.add('is-busy');
    this.report.hidden = true;
    const started = Date.now();
    const tick = () => {
      const s = Math.round((Date.now() - started) / 1000);
      this.status.textContent = `Fetching… ${s} s`;
    };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      const report = await api.fetchNow(this.hours.value);
      const s = Math.round((Date.now() - started) / 1000);
      this.status.textContent = `Fetched in ${s} s: ${formatNumber(report.stored)} new, ${formatNumber(report.duplicates)} already known`;
      this.showReport(report);
      this.onFetched(report);
    } catch (err) {
      this.status.textContent = `Fetch failed: ${err.message}`;
      this.status.classList.add('error');
    } finally {
      clearInterval(timer);
      this.busy = false;
      this.fetchButton.disabled = false;
      this.fetchButton.classList.remove('is-busy');
      this.refresh();
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

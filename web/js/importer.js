// Import from the header: pick a Purview audit export (CSV, JSON or JSON lines), upload it as
// the body of POST /api/jobs/import (upload progress from XMLHttpRequest), then follow the
// import job's progress bar (bytes read of the file) to its new / duplicate / rejected counts and
// the rejected lines. Loaded the first time the "Import…" button is used.

import { api, uploadImport } from './api.js';
import { h, formatNumber } from './format.js';
import { watchJob, progressRatio } from './jobs.js';

const ACCEPT = '.csv,.json,.jsonl,.ndjson,.txt,text/csv,application/json';

export class Importer {
  /**
   * @param {HTMLElement} popover
   * @param {HTMLButtonElement} toggle
   * @param {{onImported: (result: object) => void}} handlers
   */
  constructor(popover, toggle, { onImported }) {
    this.popover = popover;
    this.toggle = toggle;
    this.onImported = onImported;
    this.busy = false;
    this.job = null;
    this.file = h('input', { type: 'file', id: 'import-file', name: 'file', accept: ACCEPT });
    this.start = h('button', { type: 'button', className: 'primary', id: 'import-start' }, 'Upload and import');
    this.cancelButton = h('button', { type: 'button', className: 'ghost', id: 'import-cancel', hidden: true }, 'Cancel');
    this.uploadBar = h('progress', { id: 'import-upload', className: 'job-progress', max: 1, value: 0, attrs: { 'aria-label': 'Upload progress' } });
    this.jobBar = h('progress', { id: 'import-progress', className: 'job-progress', max: 1, value: 0, attrs: { 'aria-label': 'Import progress' } });
    this.uploadRow = h('div', { className: 'import-step', hidden: true }, h('span', {}, 'Upload'), this.uploadBar);
    this.jobRow = h('div', { className: 'import-step', hidden: true }, h('span', {}, 'Import'), this.jobBar);
    this.status = h('p', { className: 'form-status', id: 'import-status', attrs: { role: 'status' } });
    this.result = h('div', { className: 'import-result', id: 'import-result', attrs: { 'aria-live': 'polite' } });
    this.start.addEventListener('click', () => this.run());
    this.cancelButton.addEventListener('click', () => this.cancel());
    popover.replaceChildren(
      h('h2', { className: 'popover-title' }, 'Import an audit log export'),
      h('p', { className: 'field-hint' }, 'A Purview audit search export (CSV), or Management Activity API records as JSON or JSON lines. Records already stored are counted as duplicates.'),
      h('div', { className: 'import-form' },
        h('label', { htmlFor: 'import-file', className: 'visually-hidden' }, 'Export file'),
        this.file, this.start, this.cancelButton),
      this.uploadRow, this.jobRow, this.status, this.result);
    document.addEventListener('click', (e) => {
      if (this.isOpen && !e.composedPath().includes(popover.parentElement)) this.setOpen(false);
    });
  }

  get isOpen() {
    return !this.popover.hidden;
  }

  setOpen(open) {
    this.popover.hidden = !open;
    this.toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open && !this.busy) this.file.focus();
  }

  say(text, error = false) {
    this.status.textContent = text;
    this.status.className = error ? 'form-status error' : 'form-status';
  }

  async run() {
    const file = this.file.files?.[0];
    if (!file) {
      this.say('Choose a file first.', true);
      this.file.focus();
      return;
    }
    if (this.busy) return;
    this.busy = true;
    this.start.disabled = true;
    this.cancelButton.hidden = false;
    this.cancelButton.disabled = false;
    this.result.replaceChildren();
    this.popover.dataset.state = 'uploading';
    this.uploadRow.hidden = false;
    this.jobRow.hidden = true;
    this.uploadBar.value = 0;
    this.abort = new AbortController();
    this.say(`Uploading ${file.name}…`);
    try {
      const job = await uploadImport(file, {
        signal: this.abort.signal,
        onProgress: (sent, total) => {
          this.uploadBar.value = total ? sent / total : 0;
          this.say(`Uploading ${file.name}… ${formatNumber(sent)} of ${formatNumber(total)} bytes`);
        },
      });
      this.uploadBar.value = 1;
      this.job = job;
      this.jobRow.hidden = false;
      this.popover.dataset.state = 'importing';
      const done = await watchJob(job, { onUpdate: (j) => this.showProgress(j) });
      this.finish(done);
    } catch (err) {
      this.popover.dataset.state = 'error';
      this.say(err.name === 'AbortError' ? 'Upload cancelled.' : `Import failed: ${err.message}`, true);
    } finally {
      this.busy = false;
      this.job = null;
      this.start.disabled = false;
      this.cancelButton.hidden = true;
    }
  }

  showProgress(job) {
    const ratio = progressRatio(job);
    if (ratio === null) this.jobBar.removeAttribute('value');
    else this.jobBar.value = ratio;
    this.popover.dataset.jobState = job.state;
    this.say(job.state === 'queued' ? 'Import queued…' : job.cancel_requested ? 'Cancelling…'
      : `Importing… ${ratio === null ? '' : `${Math.round(ratio * 100)} %`}`);
  }

  finish(job) {
    this.popover.dataset.jobState = job.state;
    this.popover.dataset.state = job.state;
    const r = job.result && typeof job.result === 'object' ? job.result : null;
    if (job.state === 'succeeded' && r) {
      this.jobBar.value = 1;
      this.say(`Imported ${r.filename || 'the file'}.`);
      this.result.replaceChildren(resultView(r));
      this.onImported(r);
      return;
    }
    if (job.state === 'cancelled') {
      this.say('Import cancelled: what was read before the cancel stays stored.', true);
      this.onImported(r || {});
      return;
    }
    this.say(`Import ${job.state === 'interrupted' ? 'interrupted' : 'failed'}: ${job.error || 'no reason given'}`, true);
    if (r) this.result.replaceChildren(resultView(r));
  }

  async cancel() {
    this.cancelButton.disabled = true;
    if (!this.job) {
      this.abort?.abort();
      return;
    }
    try {
      await api.cancelJob(this.job.id);
    } catch (err) {
      this.cancelButton.disabled = false;
      this.say(`Could not cancel: ${err.message}`, true);
    }
  }
}

function resultView(r) {
  const count = (key, label) => [h('dt', {}, label), h('dd', { className: `import-${key}`, dataset: { count: String(Number(r[key]) || 0) } }, formatNumber(Number(r[key]) || 0))];
  const parts = [h('dl', { className: 'import-counts' },
    count('records', 'Records'), count('new', 'New'), count('duplicates', 'Duplicates'), count('rejected', 'Rejected'))];
  const lines = Array.isArray(r.rejected_lines) ? r.rejected_lines : [];
  if (lines.length) {
    parts.push(h('h3', { className: 'popover-subtitle' }, lines.length < r.rejected ? `The first ${lines.length} rejected records` : 'Rejected records'),
      h('ul', { className: 'import-rejected', id: 'import-rejected' }, lines.map((l) => h('li', {},
        h('strong', {}, String(l?.at || '?')), ': ', String(l?.reason || '')))));
  }
  const warnings = Array.isArray(r.warnings) ? r.warnings : [];
  if (warnings.length) parts.push(h('ul', { className: 'report-warnings' }, warnings.map((w) => h('li', {}, String(w)))));
  return h('div', {}, parts);
}

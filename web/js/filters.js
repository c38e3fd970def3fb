// The filter bar: service / operation / result dropdowns and the actor type-ahead fed by
// /api/filter-options, quick time picks and a custom range, and free text. It only reports
// changes (as view patches); the URL and the list are main.js's business.

import { h, OUTCOMES, outcomeLabel } from './format.js';

const SEARCH_DEBOUNCE_MS = 350;

export class FilterBar {
  /**
   * @param {HTMLFormElement} form
   * @param {{onChange: (patch: object, opts: {typing?: boolean}) => void, onClear: () => void}} handlers
   */
  constructor(form, { onChange, onClear }) {
    this.form = form;
    this.onChange = onChange;
    this.el = {
      search: form.querySelector('#f-search'),
      service: form.querySelector('#f-service'),
      operation: form.querySelector('#f-operation'),
      result: form.querySelector('#f-result'),
      actor: form.querySelector('#f-actor'),
      actors: form.querySelector('#actor-options'),
      ranges: form.querySelector('.ranges'),
      custom: form.querySelector('.custom-range'),
      start: form.querySelector('#f-start'),
      end: form.querySelector('#f-end'),
    };
    this.options = { services: [], operations: [], results: [], actors: [] };
    this.view = null;
    this.searchTimer = 0;

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.flushSearch();
      this.commitActor();
    });
    for (const key of ['service', 'operation', 'result']) {
      this.el[key].addEventListener('change', () => this.onChange({ [key]: this.el[key].value }));
    }
    // Typing updates the list after a pause; Enter applies at once.
    this.el.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.flushSearch(true), SEARCH_DEBOUNCE_MS);
    });
    this.el.search.addEventListener('search', () => this.flushSearch());
    this.el.actor.addEventListener('change', () => this.commitActor());
    // Picking a suggestion from the <datalist> applies it at once (typing waits for Enter/blur).
    this.el.actor.addEventListener('input', (e) => {
      if (!e.inputType || e.inputType === 'insertReplacementText') this.commitActor();
    });
    this.el.ranges.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-range]');
      if (!b) return;
      if (b.dataset.range === 'custom') {
        this.showCustom(true);
        this.el.start.focus();
        return;
      }
      this.showCustom(false);
      this.onChange({ range: b.dataset.range, start: '', end: '' });
    });
    this.el.custom.addEventListener('change', () => this.commitCustom());
    form.querySelector('#clear-filters').addEventListener('click', () => onClear());
  }

  flushSearch(typing = false) {
    clearTimeout(this.searchTimer);
    this.searchTimer = 0;
    const value = this.el.search.value.trim();
    if (this.view && value !== this.view.search) this.onChange({ search: value }, { typing });
  }

  commitActor() {
    const value = this.el.actor.value.trim();
    if (this.view && value !== this.view.actor) this.onChange({ actor: value });
  }

  commitCustom() {
    const start = fromLocalInput(this.el.start.value);
    const end = fromLocalInput(this.el.end.value);
    if (start && end && start > end) {
      this.el.end.setCustomValidity('The end must be after the start');
      this.el.end.reportValidity();
      return;
    }
    this.el.end.setCustomValidity('');
    // Editing a date field fires once per part: one history entry for the whole edit.
    this.onChange({ range: '', start, end }, { typing: true });
  }

  showCustom(on) {
    this.el.custom.hidden = !on;
    for (const b of this.el.ranges.querySelectorAll('button[data-range]')) {
      const active = on ? b.dataset.range === 'custom' : b.dataset.range === (this.view?.range || (this.view?.start || this.view?.end ? 'custom' : ''));
      b.setAttribute('aria-pressed', active ? 'true' : 'false');
    }
  }

  /** Fill the dropdowns and the actor list from /api/filter-options. */
  setOptions(options) {
    this.options = {
      services: list(options.services),
      operations: list(options.operations),
      // Only the outcome vocabulary, in its own order (success before failure).
      results: OUTCOMES.filter((o) => list(options.results).some((r) => r.toLowerCase() === o)),
      actors: list(options.actors),
    };
    const frag = document.createDocumentFragment();
    for (const a of this.options.actors) frag.append(h('option', { value: a }));
    this.el.actors.replaceChildren(frag);
    if (this.view) this.sync(this.view);
  }

  /** Show a view's filters in the controls (after navigation, Back/Forward or a reload). */
  sync(view) {
    this.view = view;
    fillSelect(this.el.service, 'All services', this.options.services, view.service);
    fillSelect(this.el.operation, 'All operations', this.options.operations, view.operation);
    fillSelect(this.el.result, 'All results', this.options.results, view.result, outcomeLabel);
    // Never rewrite the box under someone's fingers (a pending edit, or a trailing space).
    const input = this.el.search;
    const focused = document.activeElement === input;
    if (!(focused && (this.searchTimer || input.value.trim() === view.search))) input.value = view.search;
    this.el.actor.value = view.actor;
    const custom = !view.range && Boolean(view.start || view.end);
    this.el.start.value = toLocalInput(view.start);
    this.el.end.value = toLocalInput(view.end);
    this.showCustom(custom);
  }

  focusSearch() {
    this.el.search.focus();
    this.el.search.select();
  }
}

function list(v) {
  return Array.isArray(v) ? v.filter((x) => typeof x === 'string' && x !== '') : [];
}

/** Rebuild a <select> only when its options changed, and keep a value that is not listed. */
function fillSelect(select, allLabel, values, current, label = (v) => v) {
  const wanted = values.includes(current) || !current ? values : [current, ...values];
  const key = wanted.join('\u0000');
  if (select.dataset.key !== key) {
    const frag = document.createDocumentFragment();
    frag.append(h('option', { value: '' }, allLabel));
    for (const v of wanted) frag.append(h('option', { value: v }, label(v)));
    select.replaceChildren(frag);
    select.dataset.key = key;
  }
  select.value = current;
}

/** datetime-local text (local wall time) -> RFC 3339 UTC; '' stays ''. */
function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** RFC 3339 -> datetime-local text in the local time zone. */
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

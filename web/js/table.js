// The event list. Rows are cloned from a <template> into a DocumentFragment and inserted once,
// and nothing reads layout while rows are built, so 500 rows cost one style/layout pass.

import { formatLocal, formatUtc, resultKind, outcomeLabel } from './format.js';

const MAX_TARGETS_SHOWN = 3;
const MAX_TAGS_SHOWN = 4;
const FIRST_CHUNK = 40; // a screenful and a half of dense rows at 860 px
const CHUNK = 40;

export class EventTable {
  /**
   * @param {HTMLTableSectionElement} tbody
   * @param {HTMLTemplateElement} template the row template (one <tr> with the cells)
   * @param {{onOpen: (id: string) => void}} handlers
   */
  constructor(tbody, template, { onOpen }) {
    this.tbody = tbody;
    this.template = template.content.firstElementChild;
    this.onOpen = onOpen;
    this.ids = [];
    this.selected = -1;
    this.pending = [];
    this.scheduled = false;
    /** Called when every row is in the document (for the render measurement). */
    this.onRendered = null;
    tbody.addEventListener('click', (e) => {
      if (e.target.closest('a, button')) return;
      const tr = e.target.closest('tr[data-id]');
      if (!tr) return;
      this.select(Number(tr.dataset.index), { scroll: false });
      this.onOpen(tr.dataset.id);
    });
  }

  get length() {
    return this.ids.length;
  }

  /** Replace every row. */
  render(events) {
    this.ids = [];
    this.selected = -1;
    this.pending = [];
    this.tbody.replaceChildren();
    this.append(events);
  }

  /**
   * Add rows below the current ones. The first screenful is inserted at once; the rest follows
   * in chunks, one per frame, so no single task has to style and lay out hundreds of rows.
   */
  append(events) {
    const first = this.ids.length;
    for (const ev of events) this.ids.push(ev.id);
    const now = this.pending.length ? 0 : Math.min(events.length, first === 0 ? FIRST_CHUNK : CHUNK);
    if (now > 0) this.tbody.append(this.buildRows(events.slice(0, now), first));
    let offset = first + now;
    for (let i = now; i < events.length; i += CHUNK) {
      this.pending.push({ events: events.slice(i, i + CHUNK), offset });
      offset += Math.min(CHUNK, events.length - i);
    }
    if (this.pending.length) this.schedule();
    else this.onRendered?.(this.ids.length);
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the next frame is painted, not before it: rows already inserted show first.
    requestAnimationFrame(() => setTimeout(() => {
      this.scheduled = false;
      const chunk = this.pending.shift();
      if (!chunk) return;
      this.tbody.append(this.buildRows(chunk.events, chunk.offset));
      if (this.pending.length) this.schedule();
      else this.onRendered?.(this.ids.length);
    }, 0));
  }

  /** Insert every pending row now (before selecting or updating one of them). */
  flush() {
    if (!this.pending.length) return;
    const frag = document.createDocumentFragment();
    for (const chunk of this.pending) frag.append(this.buildRows(chunk.events, chunk.offset));
    this.pending = [];
    this.tbody.append(frag);
    this.onRendered?.(this.ids.length);
  }

  buildRows(events, offset) {
    const frag = document.createDocumentFragment();
    events.forEach((ev, i) => {
      const tr = this.template.cloneNode(true);
      fillRow(tr, ev);
      tr.dataset.index = String(offset + i);
      frag.append(tr);
    });
    return frag;
  }

  /** Redraw one row after its tags changed. */
  update(ev) {
    const i = this.ids.indexOf(ev.id);
    if (i < 0) return;
    this.flush();
    const old = this.tbody.children[i];
    const tr = this.template.cloneNode(true);
    fillRow(tr, ev);
    tr.dataset.index = String(i);
    if (i === this.selected) markSelected(tr, true);
    old.replaceWith(tr);
  }

  indexOf(id) {
    return this.ids.indexOf(id);
  }

  select(index, { scroll = true } = {}) {
    if (index < 0 || index >= this.ids.length) return null;
    if (index >= this.tbody.children.length) this.flush();
    const prev = this.tbody.children[this.selected];
    if (prev) markSelected(prev, false);
    this.selected = index;
    const tr = this.tbody.children[index];
    markSelected(tr, true);
    if (scroll) tr.scrollIntoView({ block: 'nearest' });
    return this.ids[index];
  }

  /** Move the selection by `delta` rows; returns the newly selected id. */
  move(delta) {
    if (this.ids.length === 0) return null;
    const next = this.selected < 0 ? (delta > 0 ? 0 : this.ids.length - 1) : this.selected + delta;
    return this.select(Math.min(this.ids.length - 1, Math.max(0, next)));
  }

  selectedId() {
    return this.selected >= 0 ? this.ids[this.selected] : null;
  }
}

function markSelected(tr, on) {
  tr.classList.toggle('selected', on);
  tr.setAttribute('aria-selected', on ? 'true' : 'false');
}

function fillRow(tr, ev) {
  tr.dataset.id = ev.id;
  const [time, service, op, actor, targets, result, tags] = tr.children;

  const t = time.firstElementChild;
  t.dateTime = ev.timestamp;
  t.textContent = formatLocal(ev.timestamp);
  time.title = formatUtc(ev.timestamp);

  service.textContent = ev.service || '—';
  service.title = ev.source ? `${ev.service} (source: ${ev.source})` : ev.service;

  op.textContent = ev.operation || '—';
  op.title = ev.display_summary || ev.operation || '';

  actor.textContent = ev.actor_display || '—';
  actor.title = ev.actor_display || '';

  const names = Array.isArray(ev.target_displays) ? ev.target_displays.filter(Boolean) : [];
  if (names.length > MAX_TARGETS_SHOWN) {
    targets.textContent = `${names.slice(0, MAX_TARGETS_SHOWN).join('; ')} +${names.length - MAX_TARGETS_SHOWN}`;
  } else {
    targets.textContent = names.length ? names.join('; ') : '—';
  }
  targets.title = names.join('\n');

  const kind = resultKind(ev.result);
  const badge = result.firstElementChild;
  badge.textContent = outcomeLabel(ev.result) || '—';
  if (ev.result_detail) badge.title = ev.result_detail;
  badge.classList.add(`result-${kind}`);
  if (kind === 'failure') tr.classList.add('row-failure');

  const list = Array.isArray(ev.tags) ? ev.tags : [];
  for (const tag of list.slice(0, MAX_TAGS_SHOWN)) {
    const chip = document.createElement('span');
    chip.className = 'tag';
    chip.textContent = tag;
    tags.append(chip);
  }
  if (list.length > MAX_TAGS_SHOWN) tags.append(` +${list.length - MAX_TAGS_SHOWN}`);
  if (list.length) tags.title = list.join(', ');
  const comments = Array.isArray(ev.comments) ? ev.comments.length : 0;
  if (comments) {
    const c = document.createElement('span');
    c.className = 'comment-count';
    c.textContent = String(comments);
    c.title = `${comments} comment${comments === 1 ? '' : 's'}`;
    tags.append(c);
  }
}

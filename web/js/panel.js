// The event side panel: normalized fields, what changed (old -> new), tags and comments edited
// in place, the raw record, and links that filter the list by this actor / target / operation.

import { api } from './api.js';
import { h, formatLocal, formatUtc, resultKind, outcomeLabel, copyText } from './format.js';
import { modifiedProperties, renderDiff, exchangeParameters } from './diff.js';
import { renderJson } from './jsonview.js';

export class EventPanel {
  /**
   * @param {HTMLElement} root the <aside>
   * @param {{
   *   filterHref: (patch: object) => string,
   *   onFilter: (patch: object) => void,
   *   onChanged: (event: object) => void,
   *   onClose: () => void,
   * }} handlers
   */
  constructor(root, handlers) {
    this.root = root;
    this.body = root.querySelector('.panel-body');
    this.title = root.querySelector('.panel-title');
    this.handlers = handlers;
    this.event = null;
    this.loadingId = null;
    this.explainEnabled = false;
    root.querySelector('.panel-close').addEventListener('click', () => handlers.onClose());
    // Filter links are real links (open in a new tab works); a plain click stays in the page.
    root.addEventListener('click', (e) => {
      const a = e.target.closest('a[data-filter]');
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      handlers.onFilter(JSON.parse(a.dataset.filter));
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  /** Offer "Explain" (only when the server has AI features on: the route is 404 otherwise). */
  setExplainEnabled(on) {
    this.explainEnabled = Boolean(on);
    if (this.event && this.isOpen) this.render();
  }

  get currentId() {
    return this.event ? this.event.id : this.loadingId;
  }

  /** Open on an event we already have (from the list). */
  show(event) {
    this.loadingId = null;
    this.event = event;
    this.root.hidden = false;
    document.body.classList.add('panel-open');
    this.render();
  }

  /**
   * Open on a row of the list. Rows are summaries (the list asks for `view=summary`, without
   * the raw record): their fields show at once, and the whole event is fetched for the rest.
   * Resolves to the whole event (null when it could not be loaded).
   */
  async showRow(row) {
    if (row.raw !== undefined) {
      this.show(row);
      return row;
    }
    this.event = null;
    this.loadingId = row.id;
    this.root.hidden = false;
    document.body.classList.add('panel-open');
    this.renderHeader(row);
    this.body.setAttribute('aria-busy', 'true');
    this.body.append(h('p', { className: 'state state-loading record-loading' }, 'Loading the record…'));
    try {
      const ev = await api.event(row.id);
      if (this.loadingId === row.id) this.show(ev);
      return ev;
    } catch (err) {
      if (this.loadingId === row.id) {
        this.body.setAttribute('aria-busy', 'false');
        this.body.querySelector('.record-loading')?.replaceWith(
          h('p', { className: 'state state-error', attrs: { role: 'alert' } }, `Could not load the record: ${err.message}`));
      }
      return null;
    }
  }

  /** Open on an event id that is not in the list (a shared link): fetch it. */
  async showById(id) {
    this.event = null;
    this.loadingId = id;
    this.root.hidden = false;
    document.body.classList.add('panel-open');
    this.title.textContent = 'Loading event…';
    this.body.replaceChildren(h('p', { className: 'state state-loading' }, 'Loading event…'));
    try {
      const ev = await api.event(id);
      if (this.loadingId === id) this.show(ev);
      return ev;
    } catch (err) {
      if (this.loadingId === id) {
        this.title.textContent = 'Event not available';
        this.body.replaceChildren(h('p', { className: 'state state-error', role: 'alert' }, err.message));
      }
      return null;
    }
  }

  close() {
    this.root.hidden = true;
    this.event = null;
    this.loadingId = null;
    document.body.classList.remove('panel-open');
  }

  /** The title, summary and fields: everything a list row (a summary) already has. */
  renderHeader(ev) {
    this.title.textContent = ev.operation || '(no operation)';
    const kind = resultKind(ev.result);
    const sections = [];
    if (ev.display_summary) sections.push(h('p', { className: 'summary-text' }, ev.display_summary));
    sections.push(h('dl', { className: 'fields' },
      field('Time', h('time', { dateTime: ev.timestamp, title: formatUtc(ev.timestamp) }, formatLocal(ev.timestamp)), h('span', { className: 'muted' }, ` · ${formatUtc(ev.timestamp)}`)),
      field('Service', ev.service || '—', this.filterLink({ service: ev.service }, 'filter', `Show only ${ev.service} events`), h('span', { className: 'muted' }, ` · source ${ev.source}`)),
      field('Operation', ev.operation || '—', this.filterLink({ operation: ev.operation }, 'filter', 'Show only this operation')),
      field('Result', h('span', { className: `result result-${kind}` }, outcomeLabel(ev.result) || '—'),
        // The source's own word (True, Failed, timeout...), as it wrote it.
        ev.result_detail && ev.result_detail.toLowerCase() !== String(ev.result || '').toLowerCase()
          ? h('span', { className: 'muted' }, ` · source says ${ev.result_detail}`) : null),
      field('Actor', ev.actor_display || '—', ev.actor_display ? this.filterLink({ actor: ev.actor_display }, 'filter', 'Show only events by this actor') : null),
      field('Targets', targetList(ev, this)),
      field('Event id', h('code', {}, ev.id)),
    ));
    this.body.replaceChildren(...sections);
    this.body.scrollTop = 0;
  }

  render() {
    const ev = this.event;
    this.renderHeader(ev);
    this.body.setAttribute('aria-busy', 'false');
    const sections = [];
    if (this.explainEnabled) sections.push(explainSection(ev));

    const changes = modifiedProperties(ev.raw);
    const changesSection = h('section', { className: 'section', attrs: { 'aria-label': 'Modified properties' } },
      h('h3', {}, 'What changed'));
    if (changes.length) changesSection.append(renderDiff(changes));
    const params = exchangeParameters(ev.raw);
    if (params.length) {
      changesSection.append(h('table', { className: 'params' },
        h('caption', {}, 'Cmdlet parameters'),
        h('tbody', {}, params.map((p) => h('tr', {}, h('th', { scope: 'row' }, p.name), h('td', {}, h('pre', {}, p.value || '—')))))));
    }
    if (!changes.length && !params.length) {
      changesSection.append(h('p', { className: 'muted' }, 'This record lists no modified properties.'));
    }
    sections.push(changesSection);

    sections.push(this.tagsSection(ev));
    sections.push(this.commentsSection(ev));
    sections.push(rawSection(ev.raw));

    this.body.append(...sections);
  }

  filterLink(patch, label, title) {
    return [' ', h('a', {
      className: 'filter-link',
      href: this.handlers.filterHref(patch),
      title,
      dataset: { filter: JSON.stringify(patch) },
    }, label)];
  }

  tagsSection(ev) {
    const tags = Array.isArray(ev.tags) ? ev.tags : [];
    const list = h('ul', { className: 'tag-list', attrs: { 'aria-label': 'Tags' } });
    for (const tag of tags) {
      const remove = h('button', { type: 'button', className: 'tag-remove', title: `Remove tag ${tag}`, attrs: { 'aria-label': `Remove tag ${tag}` } }, '×');
      remove.addEventListener('click', () => this.saveTags(tags.filter((t) => t !== tag), status));
      list.append(h('li', { className: 'tag' }, h('span', { className: 'tag-text' }, tag), remove));
    }
    if (!tags.length) list.append(h('li', { className: 'muted' }, 'No tags yet.'));
    const input = h('input', { type: 'text', name: 'tag', maxLength: 64, placeholder: 'Add a tag', className: 'tag-input', attrs: { 'aria-label': 'New tag' } });
    const form = h('form', { className: 'inline-form tag-form' }, input, h('button', { type: 'submit' }, 'Add tag'));
    const status = h('p', { className: 'form-status', attrs: { role: 'status' } });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const fresh = input.value.split(',').map((t) => t.trim()).filter(Boolean);
      if (!fresh.length) return;
      this.saveTags([...tags, ...fresh], status);
    });
    return h('section', { className: 'section' }, h('h3', {}, 'Tags'), list, form, status);
  }

  async saveTags(tags, status) {
    const id = this.event.id;
    status.textContent = 'Saving…';
    status.className = 'form-status';
    try {
      const ev = await api.setTags(id, tags);
      this.updated(ev, 'tag-input');
    } catch (err) {
      status.textContent = err.message;
      status.className = 'form-status error';
    }
  }

  commentsSection(ev) {
    const comments = Array.isArray(ev.comments) ? ev.comments : [];
    const list = h('ol', { className: 'comment-list' });
    for (const c of comments) {
      list.append(h('li', { className: 'comment' },
        h('div', { className: 'comment-meta' },
          h('strong', {}, c.author || 'anonymous'), ' · ',
          h('time', { dateTime: c.created_at, title: formatUtc(c.created_at) }, formatLocal(c.created_at))),
        h('p', { className: 'comment-text' }, c.text)));
    }
    if (!comments.length) list.append(h('li', { className: 'muted' }, 'No comments yet.'));
    const text = h('textarea', { name: 'comment', rows: 3, maxLength: 10000, placeholder: 'Add a comment (what was this, who checked it?)', className: 'comment-input', attrs: { 'aria-label': 'New comment' } });
    const status = h('p', { className: 'form-status', attrs: { role: 'status' } });
    const form = h('form', { className: 'comment-form' }, text, h('button', { type: 'submit' }, 'Add comment'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      const id = this.event.id;
      status.textContent = 'Saving…';
      status.className = 'form-status';
      try {
        const ev = await api.addComment(id, value);
        this.updated(ev, 'comment-input');
      } catch (err) {
        status.textContent = err.message;
        status.className = 'form-status error';
      }
    });
    return h('section', { className: 'section' }, h('h3', {}, `Comments (${comments.length})`), list, form, status);
  }

  /** The server answered with the updated event: redraw, and keep the focus where it was. */
  updated(ev, focusClass) {
    this.handlers.onChanged(ev);
    if (!this.event || this.event.id !== ev.id) return;
    const rawOpen = this.body.querySelector('.raw')?.open;
    this.event = ev;
    this.render();
    if (rawOpen) this.body.querySelector('.raw').open = true;
    this.body.querySelector(`.${focusClass}`)?.focus();
  }
}

function field(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function targetList(ev, panel) {
  const names = Array.isArray(ev.target_displays) ? ev.target_displays.filter(Boolean) : [];
  if (!names.length) return '—';
  return h('ul', { className: 'targets' }, names.map((n) =>
    h('li', {}, n, panel.filterLink({ search: n }, 'search', 'Show events that mention this target'))));
}

// The explanation module is loaded on the first click: most visits never ask for one.
function explainSection(ev) {
  const out = h('div', { className: 'explain-out', attrs: { 'aria-live': 'polite' } });
  const button = h('button', { type: 'button', className: 'explain-button' }, 'Explain this event');
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.replaceChildren(h('p', { className: 'state state-loading' }, 'Explaining…'));
    try {
      const { explainEvent } = await import('./explain.js');
      await explainEvent(ev.id, out);
    } catch (err) {
      out.replaceChildren(h('p', { className: 'state state-error', attrs: { role: 'alert' } }, `Could not explain this event: ${err.message}`));
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { className: 'section explain', attrs: { 'aria-label': 'Explanation' } },
    h('h3', {}, 'Explanation'), button, out);
}

function rawSection(raw) {
  const details = h('details', { className: 'section raw' });
  const copy = h('button', { type: 'button', className: 'copy-raw' }, 'Copy JSON');
  const status = h('span', { className: 'form-status', attrs: { role: 'status' } });
  copy.addEventListener('click', async () => {
    try {
      await copyText(JSON.stringify(raw, null, 2));
      status.textContent = 'Copied';
    } catch (err) {
      status.textContent = `Copy failed: ${err.message}`;
    }
  });
  let built = false;
  // Large records are only turned into DOM when someone opens them.
  details.addEventListener('toggle', () => {
    if (details.open && !built) {
      built = true;
      details.append(h('div', { className: 'raw-tools' }, copy, status), renderJson(raw));
    }
  });
  details.append(h('summary', {}, h('h3', {}, 'Raw record')));
  return details;
}

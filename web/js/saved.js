// Saved searches in the filter bar: keep the current filters under a name (optionally shared
// with everyone), apply one, delete your own, or turn one into an alert rule. Loaded the first
// time the "Saved searches" button is used.

import { api } from './api.js';
import { h } from './format.js';
import { SEVERITIES } from './views.js';

const NAME_MAX = 200;

export class SavedSearches {
  /**
   * @param {HTMLElement} popover
   * @param {HTMLButtonElement} toggle
   * @param {{
   *   getFilters: () => object,      // the API filters of the list on screen
   *   quickRange: () => string,      // '24h' and the like when a quick range is picked
   *   apply: (filters: object) => void,
   *   go: (route: string, arg?: string) => void,
   * }} handlers
   */
  constructor(popover, toggle, handlers) {
    this.popover = popover;
    this.toggle = toggle;
    this.handlers = handlers;
    this.items = [];
    this.gen = 0;
    this.list = h('ul', { className: 'saved-list', id: 'saved-list', attrs: { 'aria-label': 'Saved searches' } });
    this.listStatus = h('p', { className: 'form-status', attrs: { role: 'status' } });
    this.name = h('input', { type: 'text', id: 'saved-name', name: 'name', required: true, maxLength: NAME_MAX, placeholder: 'Name these filters' });
    this.shared = h('input', { type: 'checkbox', id: 'saved-shared', name: 'shared' });
    this.hint = h('p', { className: 'field-hint', id: 'saved-hint' });
    this.formStatus = h('p', { className: 'form-status', id: 'saved-status', attrs: { role: 'status' } });
    // Not a <form>: the popover sits inside the filter bar's form, and forms do not nest.
    const saveButton = h('button', { type: 'button', className: 'primary', id: 'saved-save' }, 'Save');
    saveButton.addEventListener('click', () => this.save());
    this.name.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault(); // not the filter bar's submit
      this.save();
    });
    const form = h('div', { className: 'saved-form', id: 'saved-form', attrs: { role: 'group', 'aria-label': 'Save the current filters' } },
      h('label', { htmlFor: 'saved-name', className: 'visually-hidden' }, 'Name'),
      this.name,
      h('label', { className: 'check' }, this.shared, ' Shared'),
      saveButton,
      this.hint, this.formStatus);
    popover.replaceChildren(
      h('h2', { className: 'popover-title' }, 'Saved searches'),
      this.list, this.listStatus,
      h('h3', { className: 'popover-subtitle' }, 'Save the current filters'),
      form);
    // The path as dispatched: a button that replaced itself (Rule…) is no longer in the popover
    // by the time the click reaches the document, yet it was clicked inside.
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
    if (!open) return;
    const range = this.handlers.quickRange();
    this.hint.textContent = range ? `The time range (the last ${range}) is saved as fixed dates.` : '';
    this.formStatus.textContent = '';
    // The list as last read, with no picker left open from an earlier visit; refresh() redraws
    // it only if the server's list differs.
    if (this.drawn) this.render();
    this.refresh();
    this.name.focus();
  }

  async refresh() {
    const mine = ++this.gen;
    this.listStatus.className = 'form-status';
    this.listStatus.textContent = 'Loading…';
    try {
      const items = await api.savedSearches();
      if (mine !== this.gen) return;
      const fresh = Array.isArray(items) ? items : [];
      this.listStatus.textContent = '';
      // Redraw only when something changed: a redraw would drop a "Rule…" picker someone opened
      // while the list was being read again.
      if (this.drawn && JSON.stringify(fresh) === JSON.stringify(this.items)) return;
      this.items = fresh;
      this.drawn = true;
      this.render();
    } catch (err) {
      if (mine !== this.gen) return;
      this.listStatus.className = 'form-status error';
      this.listStatus.textContent = `Could not load saved searches: ${err.message}`;
    }
  }

  render() {
    const rows = this.items.map((s) => this.item(s));
    if (!rows.length) rows.push(h('li', { className: 'muted' }, 'Nothing saved yet.'));
    this.list.replaceChildren(...rows);
  }

  item(s) {
    const apply = h('button', { type: 'button', className: 'saved-apply linkish', title: describe(s.filters) || 'no filters' }, s.name);
    apply.addEventListener('click', () => {
      this.setOpen(false);
      this.handlers.apply(s.filters || {});
      this.toggle.focus();
    });
    const status = h('span', { className: 'form-status', attrs: { role: 'status' } });
    const tools = h('span', { className: 'saved-tools' });
    const ruleButton = h('button', { type: 'button', className: 'ghost small saved-rule', title: 'Make an alert rule from this search' }, 'Rule…');
    ruleButton.addEventListener('click', () => {
      const severity = h('select', { attrs: { 'aria-label': `Severity of the rule from ${s.name}` } }, SEVERITIES.map((v) => h('option', { value: v }, v)));
      severity.value = 'medium';
      const create = h('button', { type: 'button', className: 'small primary' }, 'Create rule');
      create.addEventListener('click', async () => {
        create.disabled = true;
        status.className = 'form-status';
        status.textContent = 'Creating…';
        try {
          const rule = await api.ruleFromSearch(s.id, severity.value);
          this.setOpen(false);
          if (rule?.id) this.handlers.go('rules', rule.id);
        } catch (err) {
          create.disabled = false;
          status.className = 'form-status error';
          status.textContent = err.message;
        }
      });
      tools.replaceChildren(severity, create);
      severity.focus();
    });
    tools.append(ruleButton);
    if (s.mine) {
      const del = h('button', { type: 'button', className: 'ghost small saved-delete', attrs: { 'aria-label': `Delete ${s.name}` } }, 'Delete');
      del.addEventListener('click', async () => {
        del.disabled = true;
        try {
          await api.deleteSavedSearch(s.id);
          this.items = this.items.filter((x) => x.id !== s.id);
          this.render();
          this.listStatus.className = 'form-status';
          this.listStatus.textContent = `Deleted “${s.name}”.`;
        } catch (err) {
          del.disabled = false;
          status.className = 'form-status error';
          status.textContent = err.message;
        }
      });
      tools.append(del);
    }
    const who = s.mine ? (s.shared ? 'shared' : '') : `shared by ${s.owner || 'someone'}`;
    return h('li', { className: 'saved-item', dataset: { id: s.id } },
      apply, who ? h('span', { className: 'muted saved-who' }, who) : null, tools, status);
  }

  async save() {
    const name = this.name.value.trim();
    if (!name) {
      this.formStatus.className = 'form-status error';
      this.formStatus.textContent = 'Give the search a name.';
      this.name.focus();
      return;
    }
    this.formStatus.className = 'form-status';
    this.formStatus.textContent = 'Saving…';
    try {
      const saved = await api.saveSearch(name, this.handlers.getFilters(), this.shared.checked);
      this.name.value = '';
      this.shared.checked = false;
      this.formStatus.textContent = `Saved “${saved?.name || name}”.`;
      await this.refresh();
    } catch (err) {
      this.formStatus.className = 'form-status error';
      this.formStatus.textContent = err.message;
    }
  }
}

function describe(filters) {
  if (!filters || typeof filters !== 'object') return '';
  return Object.entries(filters).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(', ');
}

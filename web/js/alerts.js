// The Alerts view (#alerts): the newest alerts with status and severity filters and cursor
// paging, and one alert (#alerts/<id>) with its events and the acknowledge / resolve / reopen
// actions. Loaded on first use.

import { api } from './api.js';
import { h, formatNumber } from './format.js';
import { SEVERITIES, severityChip, timeEl, loading, errorLine, eventTable } from './views.js';
import { routeHref } from './router.js';

const PAGE = 50;
const STATUSES = ['open', 'acknowledged', 'resolved'];
const STATUS_LABELS = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };
// What each status can become, and the button's words.
const ACTIONS = {
  open: [['acknowledged', 'Acknowledge'], ['resolved', 'Resolve']],
  acknowledged: [['resolved', 'Resolve'], ['open', 'Reopen']],
  resolved: [['open', 'Reopen']],
};
const NOTE_MAX = 2000;

// Kept across visits, so Back from an alert returns to the same filtered list.
const filters = { status: 'open', severity: '' };
let gen = 0;

/** Draw the list (arg '') or one alert (arg = its id) into `root`. */
export function render(root, arg, ctx) {
  gen += 1;
  root.dataset.view = 'alerts';
  if (arg) showAlert(root, arg, ctx, gen);
  else showList(root, ctx, gen);
}

function statusChip(status) {
  return h('span', { className: `status status-${STATUSES.includes(status) ? status : 'unknown'}` }, STATUS_LABELS[status] || status || '—');
}

function select(id, label, options, value, onChange) {
  const el = h('select', { id, attrs: { 'aria-label': label } },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  el.value = value;
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

// ---------- the list ----------

function showList(root, ctx, myGen) {
  document.title = 'Alerts · AOC';
  const head = h('div', { className: 'view-head' },
    h('h2', { className: 'view-title' }, 'Alerts'),
    h('div', { className: 'view-tools', attrs: { role: 'group', 'aria-label': 'Alert filters' } },
      select('a-status', 'Status', [['', 'Every status'], ...STATUSES.map((s) => [s, STATUS_LABELS[s]])], filters.status, (v) => {
        filters.status = v;
        render(root, '', ctx);
      }),
      select('a-severity', 'Severity', [['', 'Every severity'], ...SEVERITIES.map((s) => [s, s[0].toUpperCase() + s.slice(1)])], filters.severity, (v) => {
        filters.severity = v;
        render(root, '', ctx);
      }),
      h('a', { href: routeHref('rules'), className: 'view-link' }, 'Rules')));
  const body = h('tbody');
  const table = h('table', { className: 'grid alerts-table', id: 'alerts-table' },
    h('thead', {}, h('tr', {}, ['Severity', 'Rule', 'Summary', 'Events', 'Last seen', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
    body);
  const state = h('div', { className: 'list-state', attrs: { role: 'status' } }, loading('Loading alerts…'));
  const more = h('button', { type: 'button', id: 'alerts-more', hidden: true }, 'Load more');
  const moreStatus = h('span', { attrs: { role: 'status' } });
  root.replaceChildren(head, table, state, h('div', { className: 'more' }, more, moreStatus));
  root.setAttribute('aria-busy', 'true');

  // A click anywhere on a row opens the alert; the summary is the row's real link.
  body.addEventListener('click', (e) => {
    if (e.target.closest('a, button')) return;
    const tr = e.target.closest('tr[data-id]');
    if (tr) ctx.go('alerts', tr.dataset.id);
  });

  let cursor = null;
  let shown = 0;
  const query = { status: filters.status, severity: filters.severity };
  const load = async () => {
    try {
      const page = await api.alerts(query, { limit: PAGE, cursor });
      if (myGen !== gen) return;
      const items = Array.isArray(page?.items) ? page.items : [];
      for (const a of items) body.append(alertRow(a));
      shown += items.length;
      cursor = page?.next_cursor || null;
      more.hidden = !cursor;
      moreStatus.textContent = '';
      root.dataset.state = shown ? 'ready' : 'empty';
      state.replaceChildren(shown ? h('span', { className: 'muted' }, `${formatNumber(shown)} alert${shown === 1 ? '' : 's'} shown`) : h('p', { className: 'state state-empty' },
        filters.status || filters.severity ? 'No alerts match these filters.' : 'No alerts yet. Alerts appear here when an enabled rule matches a stored event.'));
    } catch (err) {
      if (myGen !== gen) return;
      if (shown) moreStatus.textContent = `Could not load more: ${err.message}`;
      else {
        root.dataset.state = 'error';
        state.replaceChildren(errorLine('Could not load alerts:', err, () => render(root, '', ctx)));
      }
    } finally {
      if (myGen === gen) root.setAttribute('aria-busy', 'false');
    }
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    moreStatus.textContent = 'Loading…';
    await load();
    more.disabled = false;
  });
  root.dataset.state = 'loading';
  load();
}

function alertRow(a) {
  const summary = a.restricted
    ? h('span', { className: 'muted' }, 'Details withheld')
    : a.summary || a.rule_name || a.id;
  return h('tr', { className: `row alert-row alert-${a.status}`, dataset: { id: a.id, status: a.status || '' } },
    h('td', {}, severityChip(a.severity)),
    h('td', {}, a.rule_name || a.rule_id || '—'),
    h('td', { className: 'c-summary' }, h('a', { href: routeHref('alerts', a.id), className: 'alert-link' }, summary)),
    h('td', { className: 'num' }, formatNumber(a.event_count ?? (Array.isArray(a.event_ids) ? a.event_ids.length : 0))),
    h('td', { className: 'c-time' }, timeEl(a.last_seen || a.created_at)),
    h('td', {}, statusChip(a.status)));
}

// ---------- one alert ----------

async function showAlert(root, id, ctx, myGen) {
  document.title = 'Alert · AOC';
  const back = h('a', { href: routeHref('alerts'), className: 'back-link' }, '← All alerts');
  root.replaceChildren(back, loading('Loading the alert…'));
  root.dataset.state = 'loading';
  root.setAttribute('aria-busy', 'true');
  let alert;
  try {
    alert = await api.alert(id);
  } catch (err) {
    if (myGen !== gen) return;
    root.dataset.state = 'error';
    root.setAttribute('aria-busy', 'false');
    root.replaceChildren(back, errorLine('Could not load the alert:', err, () => render(root, id, ctx)));
    return;
  }
  if (myGen !== gen) return;
  root.setAttribute('aria-busy', 'false');
  drawAlert(root, alert, ctx, back);
}

function drawAlert(root, alert, ctx, back, flash = '') {
  root.dataset.state = 'ready';
  const title = alert.restricted ? `${alert.rule_name || 'Alert'} (details withheld)` : alert.summary || alert.rule_name || 'Alert';
  const rule = alert.rule_id ? h('a', { href: routeHref('rules', alert.rule_id) }, alert.rule_name || alert.rule_id) : alert.rule_name || '—';
  const fields = h('dl', { className: 'fields alert-fields' },
    field('Status', statusChip(alert.status)),
    field('Severity', severityChip(alert.severity)),
    field('Rule', rule),
    alert.restricted ? null : field('Group', alert.group_key || '—'),
    field('First seen', timeEl(alert.first_seen)),
    field('Last seen', timeEl(alert.last_seen)),
    field('Events', formatNumber(alert.event_count ?? 0)),
    field('Raised', timeEl(alert.created_at)),
    alert.updated_by || alert.note ? field('Last change', timeEl(alert.updated_at), alert.updated_by ? ` by ${alert.updated_by}` : '') : null,
    alert.note ? field('Note', h('span', { className: 'alert-note' }, alert.note)) : null);

  const sections = [back, h('h2', { className: 'view-title', id: 'alert-title' }, severityChip(alert.severity), ' ', title), fields, actionsForm(root, alert, ctx, back, flash)];

  const events = Array.isArray(alert.events) ? alert.events : [];
  const evSection = h('section', { className: 'section', attrs: { 'aria-labelledby': 'alert-events-title' } }, h('h3', { id: 'alert-events-title' }, 'Events'));
  if (alert.restricted) {
    evSection.append(h('p', { className: 'restricted-note', attrs: { role: 'note' } },
      'Details withheld: this alert is about events your role may not see. Its summary, group and events are not shown.'));
  } else if (!events.length) {
    evSection.append(h('p', { className: 'muted' }, 'None of this alert\'s events is visible to you.'));
  } else {
    evSection.append(eventTable(events, ctx.openEvent));
    const total = Number(alert.event_count) || events.length;
    if (total > events.length) evSection.append(h('p', { className: 'muted' }, `${formatNumber(events.length)} of ${formatNumber(total)} events shown; the others are not visible to you.`));
  }
  sections.push(evSection);
  root.replaceChildren(...sections);
}

function field(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function actionsForm(root, alert, ctx, back, flash) {
  const note = h('textarea', { id: 'alert-note', name: 'note', rows: 2, maxLength: NOTE_MAX, placeholder: 'What was this? Who checked it?' });
  const status = h('p', { className: 'form-status', id: 'alert-action-status', attrs: { role: 'status' } }, flash);
  const buttons = (ACTIONS[alert.status] || ACTIONS.open).map(([to, label], i) => {
    const b = h('button', { type: 'button', className: i === 0 ? 'primary' : '', dataset: { status: to } }, label);
    b.addEventListener('click', () => change(to));
    return b;
  });
  const form = h('form', { className: 'alert-actions' },
    h('label', { htmlFor: 'alert-note' }, 'Note (optional)'), note,
    h('div', { className: 'buttons' }, buttons), status);
  form.addEventListener('submit', (e) => e.preventDefault());

  async function change(to) {
    for (const b of buttons) b.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Saving…';
    try {
      const updated = await api.updateAlert(alert.id, to, note.value.trim());
      // PATCH answers with the alert alone: keep the events already on screen.
      const next = { ...alert, ...updated, events: alert.events };
      ctx.refreshBadge();
      drawAlert(root, next, ctx, back, `Marked ${STATUS_LABELS[next.status]?.toLowerCase() || next.status}.`);
      root.querySelector('.alert-actions button')?.focus();
    } catch (err) {
      for (const b of buttons) b.disabled = false;
      status.className = 'form-status error';
      status.textContent = err.message;
    }
  }
  return form;
}

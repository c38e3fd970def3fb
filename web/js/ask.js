// The Ask view (#ask): a question in plain language answered by POST /api/ask, with the
// answer, the structured query it ran (applied to the event list with one click), the counts of
// a counting question and the events behind the answer. Only offered with AI features on;
// loaded on first use.

import { api } from './api.js';
import { h, formatNumber, localZoneName } from './format.js';
import { loading, errorLine, eventTable } from './views.js';

const QUESTION_MAX = 1000;
// The query fields that are /api/events filters as they are (docs/API.md, Ask and explain).
const FILTER_FIELDS = ['service', 'actor', 'operation', 'result', 'search', 'start', 'end'];
const FIELD_LABELS = {
  service: 'Service', actor: 'Actor', operation: 'Operation', result: 'Result', search: 'Search',
  start: 'From', end: 'To', time_zone: 'Time zone', intent: 'Intent', operations: 'Operation names containing',
  aggregation: 'Counting',
};

// Kept across visits: coming back from the list shows the last question and its answer.
const last = { question: '', answer: null };
let gen = 0;

export async function render(root, _arg, ctx) {
  const mine = ++gen;
  root.dataset.view = 'ask';
  document.title = 'Ask · AOC';
  root.dataset.state = 'loading';
  root.replaceChildren(loading('Loading…'));
  const on = await ctx.features();
  if (mine !== gen) return;
  if (on?.ai_features_enabled !== true) {
    root.dataset.state = 'off';
    root.replaceChildren(h('p', { className: 'state state-empty' }, 'Asking questions is not enabled on this server (AI_FEATURES_ENABLED).'));
    return;
  }

  const input = h('input', { type: 'search', id: 'ask-question', name: 'question', maxLength: QUESTION_MAX, required: true, value: last.question,
    placeholder: 'e.g. who assigned roles last week?  how many failed sign-ins today?', attrs: { 'aria-label': 'Question' } });
  const listFilters = ctx.listFilters();
  const filterWords = Object.entries(listFilters).map(([k, v]) => `${k}: ${v}`).join(', ');
  const within = h('input', { type: 'checkbox', id: 'ask-within', checked: Boolean(filterWords) });
  const submit = h('button', { type: 'submit', className: 'primary', id: 'ask-submit' }, 'Ask');
  const form = h('form', { className: 'ask-form', id: 'ask-form', attrs: { role: 'search' } },
    input, submit,
    filterWords ? h('label', { className: 'check ask-within' }, within, ` Within the event list's filters (${filterWords})`) : null);
  const out = h('div', { className: 'ask-out', id: 'ask-out', attrs: { 'aria-live': 'polite' } });
  root.replaceChildren(
    h('div', { className: 'view-head' }, h('h2', { className: 'view-title' }, 'Ask about the audit log')),
    h('p', { className: 'muted ask-hint' }, 'Time ranges, people, services, what was done and whether it failed are read from the question; the query it ran is shown so you can check it and apply it to the event list.'),
    form, out);
  root.dataset.state = last.answer ? 'answered' : 'ready';
  if (last.answer) out.replaceChildren(...answerParts(last.answer, ctx));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    const asked = ++gen;
    last.question = question;
    submit.disabled = true;
    root.dataset.state = 'asking';
    root.setAttribute('aria-busy', 'true');
    out.replaceChildren(loading('Looking for the answer…'));
    try {
      const answer = await ask(question, within.checked ? listFilters : {});
      if (asked !== gen) return;
      last.answer = answer;
      out.replaceChildren(...answerParts(answer, ctx));
      root.dataset.state = 'answered';
    } catch (err) {
      if (asked !== gen) return;
      root.dataset.state = 'error';
      out.replaceChildren(errorLine('Could not answer:', err));
    } finally {
      submit.disabled = false;
      root.setAttribute('aria-busy', 'false');
    }
  });
  if (!last.answer) input.focus();
}

/** Ask in the browser's time zone; a zone the server does not know falls back to UTC. */
async function ask(question, filters) {
  const zone = localZoneName();
  const tz = zone && zone !== 'local time' ? zone : undefined;
  try {
    return await api.ask(question, filters, tz);
  } catch (err) {
    if (tz && err.status === 400 && /time.?zone/i.test(err.message)) return api.ask(question, filters);
    throw err;
  }
}

function answerParts(a, ctx) {
  const parts = [h('p', { className: 'ask-answer', id: 'ask-answer' }, String(a?.answer || ''))];
  const understood = Array.isArray(a?.understood) ? a.understood : [];
  if (understood.length) parts.push(h('p', { className: 'muted ask-understood' }, 'Understood: ', understood.join('; ')));
  const warnings = Array.isArray(a?.warnings) ? a.warnings : [];
  if (warnings.length) parts.push(h('ul', { className: 'ask-warnings' }, warnings.map((w) => h('li', {}, String(w)))));
  parts.push(querySection(a?.query || {}, ctx));
  if (a?.aggregation) parts.push(aggregationSection(a.aggregation));
  const events = Array.isArray(a?.events) ? a.events : [];
  const total = typeof a?.total === 'number' ? a.total : events.length;
  parts.push(h('section', { className: 'section ask-events', attrs: { 'aria-label': 'Events behind the answer' } },
    h('h3', {}, events.length < total ? `The newest ${formatNumber(events.length)} of ${formatNumber(total)} events` : `${formatNumber(events.length)} event${events.length === 1 ? '' : 's'}`),
    events.length ? eventTable(events, ctx.openEvent) : h('p', { className: 'muted' }, 'No event matches.')));
  return parts;
}

function querySection(query, ctx) {
  const rows = Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== '');
  const filters = {};
  for (const k of FILTER_FIELDS) if (query[k]) filters[k] = query[k];
  const apply = h('button', { type: 'button', id: 'ask-apply', disabled: !Object.keys(filters).length }, 'Apply as filters');
  apply.addEventListener('click', () => ctx.applyFilters(filters));
  const extra = rows.some(([k]) => !FILTER_FIELDS.includes(k) && k !== 'time_zone');
  return h('section', { className: 'section ask-query', attrs: { 'aria-label': 'The query it ran' } },
    h('h3', {}, 'The query it ran'),
    h('dl', { className: 'fields ask-query-fields', id: 'ask-query' }, rows.map(([k, v]) => [
      h('dt', {}, FIELD_LABELS[k] || k),
      h('dd', { dataset: { key: k } }, displayValue(v)),
    ])),
    apply,
    extra ? h('p', { className: 'field-hint' }, 'Intent, operation names and counting have no event-list filter: applying keeps the rest.') : null);
}

function aggregationSection(agg) {
  const groups = Array.isArray(agg.groups) ? agg.groups : [];
  const title = agg.kind === 'top' ? `Top ${agg.by || ''}`.trim() : 'Count';
  return h('section', { className: 'section ask-aggregation', attrs: { 'aria-label': 'Counts' } },
    h('h3', {}, title),
    h('p', {}, `${formatNumber(agg.total)} events${agg.complete === false ? ' (the newest 5,000 counted)' : ''}`),
    groups.length ? h('table', { className: 'grid ask-groups' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, agg.by || 'key'), h('th', { scope: 'col', className: 'num' }, 'Events'))),
      h('tbody', {}, groups.map((g) => h('tr', {}, h('td', {}, String(g.key ?? '—')), h('td', { className: 'num' }, formatNumber(g.count)))))) : null);
}

function displayValue(v) {
  if (Array.isArray(v)) return v.join(', ');
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}: ${x}`).join(', ');
  return String(v);
}

// "Explain this event" in the side panel: POST /api/events/{id}/explain drawn as sections (what
// happened, who, what changed, why it may matter, what to check next, the model's narrative when
// one answered). Loaded on the first click.

import { api } from './api.js';
import { h } from './format.js';

/** Ask the server about event `id` and draw the answer into `out` (errors propagate). */
export async function explainEvent(id, out) {
  const x = await api.explain(id);
  out.replaceChildren(renderExplanation(x));
}

export function renderExplanation(x) {
  const parts = [];
  const section = (key, title, ...body) => h('div', { className: `explain-part explain-${key}`, dataset: { part: key } }, h('h4', {}, title), ...body);
  if (x?.what_happened) parts.push(section('what', 'What happened', h('p', {}, x.what_happened)));
  if (x?.who) parts.push(section('who', 'Who did it', h('p', {}, x.who)));
  const changes = Array.isArray(x?.changes) ? x.changes : [];
  parts.push(section('changes', 'What changed', changes.length
    ? h('table', { className: 'explain-changes' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Property'), h('th', { scope: 'col' }, 'Old'), h('th', { scope: 'col' }, 'New'))),
      h('tbody', {}, changes.map((c) => h('tr', {},
        h('th', { scope: 'row' }, String(c?.property ?? '')),
        h('td', { className: 'diff-old' }, valueText(c?.old)),
        h('td', { className: 'diff-new' }, valueText(c?.new))))))
    : h('p', { className: 'muted' }, 'The record lists no changed properties.')));
  if (x?.why_it_matters) parts.push(section('why', 'Why it may matter', h('p', {}, x.why_it_matters)));
  const steps = Array.isArray(x?.next_steps) ? x.next_steps : [];
  if (steps.length) parts.push(section('next', 'What to check next', h('ol', {}, steps.map((s) => h('li', {}, String(s))))));
  if (x?.narrative) parts.push(section('narrative', 'Narrative (language model)', h('p', { className: 'narrative' }, x.narrative)));
  const warnings = Array.isArray(x?.warnings) ? x.warnings : [];
  if (warnings.length) parts.push(h('ul', { className: 'explain-warnings' }, warnings.map((w) => h('li', {}, String(w)))));
  parts.push(h('p', { className: 'muted explain-source' }, x?.llm_used ? 'Written with a language model from this record.' : 'Built from this record without a language model.'));
  return h('div', { className: 'explanation' }, parts);
}

function valueText(v) {
  if (v === null || v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

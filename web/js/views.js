// Pieces the alerts and rules views share: severity chips, a compact event table whose rows open
// the event panel, and the loading / error lines. Loaded only with those views.

import { h, formatLocal, formatUtc, outcomeLabel, resultKind } from './format.js';
import { hrefFor, currentView } from './state/url.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'];

export function severityChip(severity) {
  const s = SEVERITIES.includes(severity) ? severity : 'unknown';
  return h('span', { className: `sev sev-${s}` }, severity || '—');
}

export function timeEl(iso) {
  if (!iso) return '—';
  return h('time', { dateTime: iso, title: formatUtc(iso) }, formatLocal(iso));
}

export function loading(text) {
  return h('p', { className: 'state state-loading' }, h('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }), text);
}

export function errorLine(prefix, err, retry) {
  const p = h('p', { className: 'state state-error', attrs: { role: 'alert' } }, h('strong', {}, prefix), ' ', err.message || String(err));
  if (retry) {
    const b = h('button', { type: 'button' }, 'Try again');
    b.addEventListener('click', retry);
    p.append(' ', b);
  }
  return p;
}

/**
 * A small table of events (an alert's, a rule test's sample). The operation is a real link to
 * the event in the list (open in a new tab works); a plain click opens the side panel here.
 */
export function eventTable(events, openEvent, caption) {
  const body = h('tbody');
  for (const ev of events) {
    const link = h('a', { href: hrefFor({ ...currentView(), event: ev.id }), className: 'event-link' }, ev.operation || '(no operation)');
    link.addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      openEvent(ev);
    });
    const kind = resultKind(ev.result);
    body.append(h('tr', { dataset: { id: ev.id } },
      h('td', { className: 'c-time' }, timeEl(ev.timestamp)),
      h('td', {}, ev.service || '—'),
      h('td', { className: 'c-op' }, link),
      h('td', {}, ev.actor_display || '—'),
      h('td', {}, Array.isArray(ev.target_displays) ? ev.target_displays.filter(Boolean).join('; ') || '—' : '—'),
      h('td', {}, h('span', { className: `result result-${kind}` }, outcomeLabel(ev.result) || '—'))));
  }
  return h('table', { className: 'mini-events' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, ['Time', 'Service', 'Operation', 'Actor', 'Targets', 'Result'].map((t) => h('th', { scope: 'col' }, t)))),
    body);
}

// Small shared helpers: DOM building without innerHTML, time and result formatting.

/**
 * Create an element. `props` sets properties (className, textContent, href, ...) and
 * `dataset`/`attrs` objects; children are nodes or strings (added as text, never parsed as HTML).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) el.setAttribute(a, av);
    else el[k] = v;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Intl formatters are built once: constructing them per call is slow.
const shortTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const dayOnly = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

const pad = (n) => (n < 10 ? `0${n}` : String(n));

/**
 * Local time as shown in the table: "2026-03-06 14:15:00", sortable and compact. Built by hand
 * because Intl formatting per row is the slow part of a big table.
 */
export function formatLocal(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || '');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The browser's time zone, for the Time column's header. */
export function localZoneName() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/** The same instant in UTC, for tooltips. */
export function formatUtc(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatShort(date, withTime = true) {
  return (withTime ? shortTime : dayOnly).format(date);
}

/** "3 min ago" style text for health timestamps. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 0) return formatLocal(iso);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The outcome vocabulary the API stores every source's result in, and how each reads. */
export const OUTCOMES = ['success', 'failure', 'partial', 'unknown'];
const OUTCOME_LABELS = { success: 'Success', failure: 'Failure', partial: 'Partial', unknown: 'Unknown' };

const FAILURE = /fail|false|error|denied|timeout|block|reject|unauthori[sz]ed/i;
const PARTIAL = /partial/i;

/** 'failure' | 'partial' | 'success' | 'unknown'. The API sends the vocabulary; the
 *  patterns still read a source's own word (an event from an older server). */
export function resultKind(result) {
  const r = String(result || '').trim();
  const word = r.toLowerCase();
  if (OUTCOMES.includes(word)) return word;
  if (!r) return 'unknown';
  if (PARTIAL.test(r)) return 'partial';
  if (FAILURE.test(r)) return 'failure';
  return 'success';
}

/** How an outcome reads in the UI ('failure' -> 'Failure'); other text as it is. */
export function outcomeLabel(result) {
  return OUTCOME_LABELS[String(result || '').trim().toLowerCase()] || String(result || '');
}

export function formatNumber(n) {
  return typeof n === 'number' ? n.toLocaleString() : String(n ?? '');
}

/** Copy text to the clipboard; falls back to a selected textarea where the API is missing. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = h('textarea', { value: text, className: 'offscreen', readOnly: true });
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand('copy');
  ta.remove();
  if (!ok) throw new Error('copy is not allowed here');
}

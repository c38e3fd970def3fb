// The view lives in the query string, so a view can be bookmarked and shared and Back/Forward
// walk through earlier views. Quick time picks stay relative (range=24h) so a bookmark keeps
// meaning "the last 24 hours"; custom and dragged ranges are absolute start/end.

export const QUICK_RANGES = {
  '1h': 3600e3,
  '24h': 86400e3,
  '7d': 7 * 86400e3,
  '30d': 30 * 86400e3,
};

const TEXT_KEYS = ['service', 'operation', 'result', 'actor', 'search'];
// The API default: keeps the first load light (events carry their raw records).
export const DEFAULT_PAGE_SIZE = 50;

/** The view a query string describes. */
export function parseView(search) {
  const q = new URLSearchParams(search);
  const view = {};
  for (const k of TEXT_KEYS) view[k] = (q.get(k) || '').trim();
  const range = q.get('range') || '';
  view.range = Object.hasOwn(QUICK_RANGES, range) ? range : '';
  view.start = view.range ? '' : validTime(q.get('start'));
  view.end = view.range ? '' : validTime(q.get('end'));
  const size = Number.parseInt(q.get('page_size') || '', 10);
  view.pageSize = Number.isFinite(size) ? Math.min(500, Math.max(1, size)) : DEFAULT_PAGE_SIZE;
  view.event = q.get('event') || '';
  return view;
}

function validTime(v) {
  if (!v) return '';
  return Number.isNaN(Date.parse(v)) ? '' : v;
}

/** The query string of a view; the inverse of parseView. */
export function serializeView(view) {
  const q = new URLSearchParams();
  for (const k of TEXT_KEYS) if (view[k]) q.set(k, view[k]);
  if (view.range) q.set('range', view.range);
  else {
    if (view.start) q.set('start', view.start);
    if (view.end) q.set('end', view.end);
  }
  if (view.pageSize && view.pageSize !== DEFAULT_PAGE_SIZE) q.set('page_size', String(view.pageSize));
  if (view.event) q.set('event', view.event);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The API filters of a view at time `now` (quick ranges resolve to a start time). */
export function apiFilters(view, now = Date.now()) {
  const f = {};
  for (const k of TEXT_KEYS) if (view[k]) f[k] = view[k];
  if (view.range) {
    f.start = new Date(now - QUICK_RANGES[view.range]).toISOString();
  } else {
    if (view.start) f.start = view.start;
    if (view.end) f.end = view.end;
  }
  return f;
}

/** True when two views ask the API for the same events (the open event does not count). */
export function sameFilters(a, b) {
  return serializeView({ ...a, event: '' }) === serializeView({ ...b, event: '' });
}

export function hasFilters(view) {
  return TEXT_KEYS.some((k) => view[k]) || Boolean(view.range || view.start || view.end);
}

export function currentView() {
  return parseView(window.location.search);
}

/**
 * Make `view` the current URL. A new history entry when the filters change (so Back returns to
 * the previous view); the open event only replaces the entry, so Back never walks through every
 * row a person looked at.
 */
export function commitView(view, { replace = false } = {}) {
  // A new view of the list leaves the alerts or rules (the fragment); opening or closing an
  // event over them (a replace) stays where it is.
  const hash = replace ? window.location.hash : '';
  const url = `${window.location.pathname}${serializeView(view)}${hash}`;
  const now = `${window.location.pathname}${window.location.search}${window.location.hash}`;
  if (url === now) return;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
}

/** A link (href) to this page with the view's filters changed, for real <a> elements. */
export function hrefFor(view) {
  return `${window.location.pathname}${serializeView(view)}`;
}

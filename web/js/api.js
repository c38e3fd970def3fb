// The one place the UI talks HTTP. Every error the server sends is JSON {"error": "..."};
// ApiError carries that message so the page can show it instead of going blank.

/** Filters the event endpoints share (docs/API.md). */
export const FILTER_KEYS = ['service', 'operation', 'result', 'actor', 'start', 'end', 'search'];

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

// Auth seam: a sign-in flow will later install a getter that returns the current access token.
// Tokens stay in memory only (never localStorage), so a page reload means signing in again.
let tokenGetter = () => null;

export function setTokenGetter(getter) {
  tokenGetter = typeof getter === 'function' ? getter : () => null;
}

// Told about 401 and 403 answers, so sign-in (auth.js) can say "sign in again" or "no access"
// once for the whole page instead of every panel showing its own error.
let authErrorHandler = () => {};

export function setAuthErrorHandler(handler) {
  authErrorHandler = typeof handler === 'function' ? handler : () => {};
}

async function authHeaders() {
  const token = await tokenGetter();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** A query string from an object, skipping empty values. */
export function toQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request(method, path, { body, signal, quiet = false } = {}) {
  const headers = { Accept: 'application/json', ...(await authHeaders()) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server cannot be reached. Is AOC running?');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    // Background checks (the alert badge) stay quiet: a role that may not read alerts must not
    // put the whole page behind the "no access" panel.
    if ((res.status === 401 || res.status === 403) && !quiet) authErrorHandler(res.status);
    const message = data && typeof data.error === 'string' && data.error
      ? data.error
      : `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, message);
  }
  if (data === null && text) throw new ApiError(res.status, 'The server sent a response that is not JSON.');
  return data;
}

const enc = encodeURIComponent;

export const api = {
  events: (filters, { pageSize, cursor, signal } = {}) =>
    request('GET', `/api/events${toQuery({ ...filters, page_size: pageSize, cursor })}`, { signal }),
  count: (filters, { signal } = {}) =>
    request('GET', `/api/events/count${toQuery(filters)}`, { signal }),
  histogram: (filters, { buckets, signal } = {}) =>
    request('GET', `/api/events/histogram${toQuery({ ...filters, buckets })}`, { signal }),
  event: (id, { signal } = {}) => request('GET', `/api/events/${enc(id)}`, { signal }),
  setTags: (id, tags) => request('PATCH', `/api/events/${enc(id)}/tags`, { body: { tags } }),
  addComment: (id, text) => request('POST', `/api/events/${enc(id)}/comments`, { body: { text } }),
  filterOptions: () => request('GET', '/api/filter-options'),
  sourceHealth: () => request('GET', '/api/source-health'),
  fetchNow: (hours) => request('GET', `/api/fetch-audit-logs${toQuery({ hours })}`),
  features: () => request('GET', '/api/config/features'),
  authConfig: () => request('GET', '/api/config/auth'),
  version: () => request('GET', '/api/version'),

  alertSummary: ({ signal } = {}) => request('GET', '/api/alerts/summary', { signal, quiet: true }),
  alerts: (filters, { limit, cursor, signal } = {}) =>
    request('GET', `/api/alerts${toQuery({ ...filters, limit, cursor })}`, { signal }),
  alert: (id, { signal } = {}) => request('GET', `/api/alerts/${enc(id)}`, { signal }),
  updateAlert: (id, status, note) => request('PATCH', `/api/alerts/${enc(id)}`, { body: note ? { status, note } : { status } }),

  rules: ({ signal } = {}) => request('GET', '/api/rules', { signal }),
  rule: (id, { signal } = {}) => request('GET', `/api/rules/${enc(id)}`, { signal }),
  createRule: (rule) => request('POST', '/api/rules', { body: rule }),
  updateRule: (id, fields) => request('PUT', `/api/rules/${enc(id)}`, { body: fields }),
  deleteRule: (id) => request('DELETE', `/api/rules/${enc(id)}`),
  testRule: (rule, days, { signal } = {}) => request('POST', '/api/rules/test', { body: { rule, days }, signal }),

  savedSearches: () => request('GET', '/api/saved-searches'),
  saveSearch: (name, filters, shared) => request('POST', '/api/saved-searches', { body: { name, filters, shared } }),
  deleteSavedSearch: (id) => request('DELETE', `/api/saved-searches/${enc(id)}`),
  ruleFromSearch: (id, severity) => request('POST', `/api/saved-searches/${enc(id)}/rule`, { body: { severity } }),
};

/** The streaming export URL of the current view (a plain link: the browser downloads it). */
export function exportUrl(filters, format) {
  return `/api/events/export${toQuery({ format, ...filters })}`;
}

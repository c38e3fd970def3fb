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
  // `view: 'summary'` asks for list rows without the raw record (docs/API.md).
  events: (filters, { pageSize, cursor, view, signal } = {}) =>
    request('GET', `/api/events${toQuery({ ...filters, page_size: pageSize, cursor, view })}`, { signal }),
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

  startFetchJob: (hours) => request('POST', '/api/jobs/fetch', { body: { hours: Number(hours) } }),
  job: (id, { signal } = {}) => request('GET', `/api/jobs/${enc(id)}`, { signal }),
  cancelJob: (id) => request('DELETE', `/api/jobs/${enc(id)}`),
  // A server without forwarding (or an older one) simply shows no SIEM table.
  siemStatus: () => request('GET', '/api/siem/status', { quiet: true }),

  ask: (question, filters, timeZone) => request('POST', '/api/ask', { body: { question, filters, ...(timeZone ? { time_zone: timeZone } : {}) } }),
  explain: (id) => request('POST', `/api/events/${enc(id)}/explain`),
};

/**
 * Upload an export file to `POST /api/jobs/import` as the raw body and resolve with the queued
 * job. XMLHttpRequest rather than fetch: only it reports upload progress (`onProgress(sent,
 * total)`). `signal` aborts the upload.
 */
export async function uploadImport(file, { onProgress, signal } = {}) {
  const headers = { Accept: 'application/json', ...(await authHeaders()) };
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/jobs/import${toQuery({ filename: file.name })}`);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        resolve(data);
        return;
      }
      if (xhr.status === 401 || xhr.status === 403) authErrorHandler(xhr.status);
      const message = data && typeof data.error === 'string' && data.error
        ? data.error
        : xhr.status === 413 ? 'The file is larger than this server accepts (IMPORT_MAX_UPLOAD_MB).' : `${xhr.status} ${xhr.statusText || 'error'}`;
      reject(new ApiError(xhr.status, message));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'The upload failed: the server cannot be reached.')));
    xhr.addEventListener('abort', () => reject(new DOMException('The upload was cancelled.', 'AbortError')));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/** The streaming export URL of the current view (a plain link: the browser downloads it). */
export function exportUrl(filters, format) {
  return `/api/events/export${toQuery({ format, ...filters })}`;
}

// DEV TOOL ONLY — not used by the test suite, which always targets a real `aoc serve`.
// A throwaway stand-in for the AOC API (docs/API.md) with generated events, so the UI can be
// worked on without building the Rust server:
//
//   node web/tests/dev/mock-server.mjs [port]      # then open http://127.0.0.1:8099
//
// It serves web/ with the production Content-Security-Policy so CSP mistakes show up here too.

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PORT = Number(process.argv[2] || process.env.PORT || 8099);
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json' };

// ---- deterministic fake data ----
let seed = 42;
const rnd = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const uuid = () => 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(rnd() * 16).toString(16));
const people = ['Megan Bowen', 'Adele Vance', 'Alex Wilber', 'Diego Siciliani', 'Lee Gu', 'Nestor Wilke'];
const upn = (n) => `${n.split(' ')[0].toLowerCase()}@contoso.com`;
const users = ['Bob Kelly', 'Grady Archie', 'Irvin Sayers', 'Lidia Holloway', 'Lynne Robbins', 'Miriam Graham', 'Patti Fernandez'];
const groups = ['Sales Team', 'Finance', 'Helpdesk Admins', 'All Company'];

function directoryRecord(t) {
  const actor = pick(people);
  const op = pick(['Update user', 'Add member to group', 'Reset user password', 'Add owner to group', 'Update conditional access policy']);
  const target = op.includes('group') ? pick(groups) : pick(users);
  const failed = rnd() < 0.08;
  const mods = op === 'Update user'
    ? [{ displayName: 'JobTitle', oldValue: '["Account Executive"]', newValue: '["Senior Account Executive"]' },
      { displayName: 'StrongAuthenticationMethod', oldValue: '[{"MethodType": 6, "Default": true}]', newValue: '[{"MethodType": 6, "Default": true}, {"MethodType": 7, "Default": false}]' },
      { displayName: 'Included Updated Properties', oldValue: null, newValue: '"JobTitle, StrongAuthenticationMethod"' }]
    : op.startsWith('Add') ? [{ displayName: 'Group.DisplayName', oldValue: null, newValue: `"${target}"` }] : [];
  return {
    id: `Directory_${uuid()}`, category: 'UserManagement', correlationId: uuid(), result: failed ? 'failure' : 'success',
    resultReason: failed ? 'Insufficient privileges' : '', activityDisplayName: op, activityDateTime: t, loggedByService: 'Core Directory',
    initiatedBy: { user: { id: uuid(), displayName: actor, userPrincipalName: upn(actor), ipAddress: `192.0.2.${Math.floor(rnd() * 250)}` } },
    targetResources: [{ id: uuid(), displayName: target, type: op.includes('group') ? 'Group' : 'User', userPrincipalName: op.includes('group') ? null : upn(target), modifiedProperties: mods }],
  };
}

function unifiedRecord(t) {
  const actor = pick(people);
  const op = pick(['Set-Mailbox', 'Add-MailboxPermission', 'FileDeleted', 'Update user.']);
  const target = pick(users);
  const rec = { CreationTime: t.replace('Z', ''), Id: uuid(), Operation: op, RecordType: 1, ResultStatus: rnd() < 0.06 ? 'False' : 'True', UserId: upn(actor), Workload: op === 'FileDeleted' ? 'SharePoint' : op === 'Update user.' ? 'AzureActiveDirectory' : 'Exchange', ClientIP: '198.51.100.7', ObjectId: upn(target) };
  if (op === 'Set-Mailbox') rec.Parameters = [{ Name: 'Identity', Value: upn(target) }, { Name: 'ForwardingSmtpAddress', Value: 'smtp:evil@fabrikam.com' }, { Name: 'DeliverToMailboxAndForward', Value: 'True' }];
  if (op === 'Update user.') rec.ModifiedProperties = [{ Name: 'Department', OldValue: '[\r\n  "Sales"\r\n]', NewValue: '[\r\n  "Vertrieb – Süd"\r\n]' }];
  return rec;
}

function intuneRecord(t) {
  return {
    id: uuid(), displayName: 'Patch DeviceConfiguration', componentName: 'DeviceConfiguration', activityDateTime: t, activityType: 'Patch DeviceConfiguration', activityResult: rnd() < 0.1 ? 'Failure' : 'Success',
    actor: { type: 'Application', applicationDisplayName: 'Contoso Autopilot Automation', userPrincipalName: null },
    resources: [{ displayName: 'Windows – Security baseline', type: 'Windows10GeneralConfiguration', resourceId: uuid(), modifiedProperties: [{ displayName: 'PasswordMinimumLength', oldValue: '8', newValue: '14' }] }],
  };
}

// The API's outcome vocabulary, with the source's word kept as result_detail.
function outcome(word) {
  const w = String(word ?? '').toLowerCase().replace(/[\s_-]/g, '');
  const result = ['success', 'succeeded', 'true'].includes(w) ? 'success'
    : ['failure', 'failed', 'false', 'timeout'].includes(w) ? 'failure'
    : ['partial', 'partiallysucceeded'].includes(w) ? 'partial' : 'unknown';
  return { result, result_detail: String(word ?? '') };
}

function normalizeRecord(raw, source, t) {
  if (source === 'directory') {
    const actor = raw.initiatedBy.user.displayName;
    const targets = raw.targetResources.map((r) => r.displayName);
    return { service: 'Directory', operation: raw.activityDisplayName, ...outcome(raw.result), actor_display: actor, actor: raw.initiatedBy, target_displays: targets, targets: raw.targetResources, display_summary: `${actor} ran ${raw.activityDisplayName} on ${targets.join(', ')}` };
  }
  if (source === 'unified') {
    return { service: raw.Workload, operation: raw.Operation, ...outcome(raw.ResultStatus), actor_display: raw.UserId, actor: { UserId: raw.UserId }, target_displays: [raw.ObjectId], targets: [{ id: raw.ObjectId }], display_summary: `${raw.UserId}: ${raw.Operation} on ${raw.ObjectId}` };
  }
  return { service: 'Intune', operation: raw.activityType, ...outcome(raw.activityResult), actor_display: raw.actor.applicationDisplayName, actor: raw.actor, target_displays: raw.resources.map((r) => r.displayName), targets: raw.resources, display_summary: `${raw.actor.applicationDisplayName} changed ${raw.resources[0].displayName}` };
}

const now = Date.now();
const events = [];
for (let i = 0; i < 1600; i++) {
  const t = new Date(now - Math.floor(rnd() * 30 * 86400e3)).toISOString().replace(/\.\d+Z$/, 'Z');
  const source = pick(['directory', 'directory', 'unified', 'unified', 'intune']);
  const raw = source === 'directory' ? directoryRecord(t) : source === 'unified' ? unifiedRecord(t) : intuneRecord(t);
  const id = raw.id || raw.Id;
  events.push({ id, source, timestamp: t, ...normalizeRecord(raw, source, t), dedupe_key: `${source}:${id}`, raw, tags: [], comments: [] });
}
events.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : a.id < b.id ? 1 : -1));

// ---- API ----
function filtered(q) {
  const start = q.get('start') ? Date.parse(q.get('start')) : null;
  const end = q.get('end') ? Date.parse(q.get('end')) : null;
  const search = (q.get('search') || '').toLowerCase();
  return events.filter((e) => {
    for (const k of ['service', 'operation']) if (q.get(k) && e[k] !== q.get(k)) return false;
    if (q.get('result') && e.result !== outcome(q.get('result')).result) return false;
    if (q.get('actor') && e.actor_display !== q.get('actor')) return false;
    const t = Date.parse(e.timestamp);
    if (start !== null && t < start) return false;
    if (end !== null && t > end) return false;
    if (search && !JSON.stringify([e.actor_display, e.operation, e.display_summary, e.target_displays, e.raw]).toLowerCase().includes(search)) return false;
    return true;
  });
}

function badTime(q) {
  for (const k of ['start', 'end']) if (q.get(k) && Number.isNaN(Date.parse(q.get(k)))) return `invalid ${k} '${q.get(k)}': expected an RFC 3339 time such as 2026-01-31T12:00:00Z`;
  if (q.get('start') && q.get('end') && Date.parse(q.get('start')) > Date.parse(q.get('end'))) return 'start must not be after end';
  return null;
}

const health = [
  { source: 'directory', last_attempt: new Date(now - 300e3).toISOString(), last_success: new Date(now - 300e3).toISOString(), last_error: null, last_count: 42 },
  { source: 'unified', last_attempt: new Date(now - 300e3).toISOString(), last_success: new Date(now - 7200e3).toISOString(), last_error: 'Management API: 403 subscription not enabled for Audit.General', last_count: 0 },
  { source: 'intune', last_attempt: null, last_success: null, last_error: null, last_count: 0 },
];

async function api(req, res, url) {
  const q = url.searchParams;
  const send = (status, body, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const p = url.pathname;
  const err = badTime(q);
  if (err && p.startsWith('/api/events')) return send(400, { error: err });
  if (p === '/api/events' && req.method === 'GET') {
    const size = Math.min(500, Math.max(1, Number(q.get('page_size')) || 50));
    const all = filtered(q);
    const from = q.get('cursor') ? Number(Buffer.from(q.get('cursor'), 'base64').toString()) : 0;
    if (Number.isNaN(from)) return send(400, { error: 'invalid cursor' });
    const items = all.slice(from, from + size);
    return send(200, { items, next_cursor: from + size < all.length ? Buffer.from(String(from + size)).toString('base64') : null });
  }
  if (p === '/api/events/count') return send(200, { count: filtered(q).length });
  if (p === '/api/events/histogram') {
    const all = filtered(q);
    const times = all.map((e) => Date.parse(e.timestamp));
    const s = q.get('start') ? Date.parse(q.get('start')) : Math.min(...times);
    const e = q.get('end') ? Date.parse(q.get('end')) : Math.max(...times);
    const target = Math.min(500, Math.max(1, Number(q.get('buckets')) || 60));
    const nice = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    const bs = nice.find((b) => (e - s) / 1000 / b <= target) || 86400;
    const counts = new Map();
    for (const t of times) { const k = Math.floor(t / 1000 / bs) * bs; counts.set(k, (counts.get(k) || 0) + 1); }
    const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([k, c]) => ({ start: new Date(k * 1000).toISOString(), count: c }));
    return send(200, { bucket_seconds: bs, start: all.length ? new Date(s).toISOString() : null, end: all.length ? new Date(e).toISOString() : null, buckets });
  }
  if (p === '/api/events/export') {
    const all = filtered(q);
    if (q.get('format') === 'jsonl') {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Disposition': 'attachment; filename="aoc-events.jsonl"' });
      return res.end(all.map((e) => JSON.stringify(e)).join('\n') + (all.length ? '\n' : ''));
    }
    const cell = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const rows = all.map((e) => [e.timestamp, e.service, e.operation, e.result, e.actor_display, e.target_displays.join('; '), e.display_summary, e.id, e.source, e.tags.join('; '), e.result_detail ?? ''].map(cell).join(','));
    res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="aoc-events.csv"' });
    return res.end(`timestamp,service,operation,result,actor,targets,summary,id,source,tags,result_detail\r\n${rows.map((r) => `${r}\r\n`).join('')}`);
  }
  if (p === '/api/filter-options') {
    const uniq = (k) => [...new Set(events.map((e) => e[k]))].sort();
    return send(200, { services: uniq('service'), operations: uniq('operation'), results: uniq('result'), actors: uniq('actor_display') });
  }
  const m = p.match(/^\/api\/events\/([^/]+)(\/tags|\/comments)?$/);
  if (m) {
    const ev = events.find((e) => e.id === decodeURIComponent(m[1]));
    if (!ev) return send(404, { error: 'event not found' });
    if (!m[2] && req.method === 'GET') return send(200, ev);
    let body = '';
    for await (const chunk of req) body += chunk;
    let data;
    try { data = JSON.parse(body); } catch { return send(400, { error: 'invalid JSON body' }); }
    if (m[2] === '/tags' && req.method === 'PATCH') {
      const tags = [...new Set((data.tags || []).map((t) => String(t).trim()))];
      if (tags.some((t) => !t || t.length > 64)) return send(400, { error: 'each tag must be 1 to 64 characters' });
      ev.tags = tags;
      return send(200, ev);
    }
    if (m[2] === '/comments' && req.method === 'POST') {
      if (!data.text || !String(data.text).trim()) return send(400, { error: 'comment text must be 1 to 10000 characters' });
      ev.comments.push({ author: 'anonymous', text: data.text, created_at: new Date().toISOString() });
      return send(200, ev);
    }
    return send(405, { error: 'method not allowed' });
  }
  if (p === '/api/source-health') return send(200, health);
  if (p === '/api/fetch-audit-logs') {
    await new Promise((r) => setTimeout(r, 2500));
    for (const h of health) { h.last_attempt = new Date().toISOString(); }
    return send(200, { fetched: 12, stored: 3, duplicates: 9, warnings: ['unified: Audit.General content expired before it was listed'], sources: { directory: { fetched: 10, stored: 3, duplicates: 7, rejected: 0, error: null }, unified: { fetched: 2, stored: 0, duplicates: 2, rejected: 0, error: null }, intune: { fetched: 0, stored: 0, duplicates: 0, rejected: 0, error: 'token request failed: 401' } } });
  }
  if (p === '/api/config/features') return send(200, { ai_features_enabled: false, fetch_configured: true });
  if (p === '/api/config/auth') return send(200, { auth_enabled: false });
  if (p === '/api/version') return send(200, { version: '0.1.0-mock' });
  return send(404, { error: 'no such route' });
}

http.createServer(async (req, res) => {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname.startsWith('/api/')) return await api(req, res, url);
    const rel = url.pathname === '/' ? 'index.html' : normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
    if (rel.startsWith('..') || rel.startsWith('node_modules') || rel.startsWith('tests')) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    const body = await readFile(join(WEB, rel));
    res.writeHead(200, { 'Content-Type': TYPES[extname(rel)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(body);
  } catch (e) {
    res.writeHead(e.code === 'ENOENT' || e.code === 'EISDIR' ? 404 : 500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: e.code === 'ENOENT' || e.code === 'EISDIR' ? 'not found' : String(e) }));
  }
}).listen(PORT, '127.0.0.1', () => console.log(`mock AOC on http://127.0.0.1:${PORT}`));

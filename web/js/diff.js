// What changed in a record, as an old -> new diff. Entra ID (directory audits and the unified
// log's AzureActiveDirectory records) writes each old/new value as a JSON-encoded string such
// as "[\"Sales\"]"; those are decoded and pretty-printed. Intune writes plain text ("True", "8"),
// which is shown as it is. This mirrors aoc-domain's modified_properties.

import { h } from './format.js';

/**
 * The modified properties of a raw record of any source.
 * @returns {{target: string, name: string, old: unknown, new: unknown}[]}
 */
export function modifiedProperties(raw) {
  const out = [];
  if (!raw || typeof raw !== 'object') return out;
  for (const t of arrayOf(raw.targetResources)) {
    collect(out, t, t && t.modifiedProperties, ['displayName', 'oldValue', 'newValue'], true);
  }
  for (const r of arrayOf(raw.resources)) {
    collect(out, r, r && r.modifiedProperties, ['displayName', 'oldValue', 'newValue'], false);
  }
  collect(out, null, raw.ModifiedProperties, ['Name', 'OldValue', 'NewValue'], true);
  return out;
}

function arrayOf(v) {
  return Array.isArray(v) ? v : [];
}

function collect(out, owner, items, [nameKey, oldKey, newKey], decode) {
  const target = owner && typeof owner === 'object'
    ? String(owner.displayName || owner.userPrincipalName || owner.id || owner.resourceId || '')
    : '';
  for (const item of arrayOf(items)) {
    if (!item || typeof item !== 'object') continue;
    const name = typeof item[nameKey] === 'string' ? item[nameKey].trim() : '';
    const oldV = valueOf(item[oldKey], decode);
    const newV = valueOf(item[newKey], decode);
    if (!name && oldV === null && newV === null) continue;
    out.push({ target, name, old: oldV, new: newV });
  }
}

function valueOf(v, decode) {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return v;
  if (v.trim().toLowerCase() === '<null>') return null;
  return decode ? decodeJsonText(v) : v;
}

/** A JSON-encoded string decoded (twice when it was encoded twice), or the text itself. */
export function decodeJsonText(s) {
  let value = s;
  for (let i = 0; i < 2 && typeof value === 'string'; i++) {
    const t = value.trim();
    if (!t || !/^[[{"\d-]|^(true|false|null)$/.test(t)) break;
    let parsed;
    try {
      parsed = JSON.parse(t);
    } catch {
      break;
    }
    // A long digit string (an id) would lose precision as a number: keep the text.
    if (typeof parsed === 'number' && String(parsed) !== t) break;
    value = parsed;
  }
  return value;
}

/** The text a value is shown as: strings as they are, everything else pretty-printed JSON. */
export function displayText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

/**
 * Lines only in `a` and lines only in `b` (by longest common subsequence), or null when the
 * texts are too large to compare cheaply.
 */
export function lineDiff(a, b) {
  const x = a ? a.split('\n') : [];
  const y = b ? b.split('\n') : [];
  if (x.length * y.length > 250000) return null;
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const removed = new Set();
  const added = new Set();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) removed.add(i++);
    else added.add(j++);
  }
  while (i < n) removed.add(i++);
  while (j < m) added.add(j++);
  return { oldLines: x, newLines: y, removed, added };
}

/** The diff view: one row per property, old and new side by side with changed lines marked. */
export function renderDiff(changes) {
  const multipleTargets = new Set(changes.map((c) => c.target)).size > 1;
  const body = h('tbody');
  let lastTarget = null;
  for (const c of changes) {
    if (multipleTargets && c.target !== lastTarget) {
      body.append(h('tr', { className: 'diff-target' }, h('th', { colSpan: 3, scope: 'colgroup' }, c.target || '(unnamed)')));
      lastTarget = c.target;
    }
    const oldText = displayText(c.old);
    const newText = displayText(c.new);
    const diff = oldText && newText ? lineDiff(oldText, newText) : null;
    const row = h('tr', { className: 'diff-row' },
      h('th', { scope: 'row', className: 'diff-name' }, c.name || '(unnamed)'),
      h('td', { className: 'diff-old' }, valueBlock(oldText, diff && diff.removed, 'del')),
      h('td', { className: 'diff-new' }, valueBlock(newText, diff && diff.added, 'ins')),
    );
    if (oldText === newText) row.classList.add('diff-same');
    body.append(row);
  }
  return h('table', { className: 'diff' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Property'), h('th', { scope: 'col' }, 'Old'), h('th', { scope: 'col' }, 'New'))),
    body,
  );
}

function valueBlock(text, marked, kind) {
  if (!text) return h('span', { className: 'diff-empty' }, '—');
  const pre = h('pre', { className: `diff-value diff-${kind}` });
  if (!marked) {
    // Nothing to compare against: the whole value is new (or gone).
    pre.classList.add('diff-all');
    pre.textContent = text;
    return pre;
  }
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const span = h('span', { className: marked.has(i) ? `line line-${kind}` : 'line' }, line);
    pre.append(span);
    if (i < lines.length - 1) pre.append('\n');
  });
  return pre;
}

/** Exchange cmdlet parameters (unified records), which is where Exchange puts what changed. */
export function exchangeParameters(raw) {
  return arrayOf(raw && raw.Parameters)
    .filter((p) => p && typeof p === 'object' && typeof p.Name === 'string')
    .map((p) => ({ name: p.Name, value: displayText(typeof p.Value === 'string' ? p.Value : p.Value ?? null) }));
}

// The raw record as collapsible, syntax-highlighted JSON, built from DOM nodes (never HTML
// strings: audit records carry attacker-chosen text). Objects and arrays are <details> so they
// fold without any script of their own.

import { h } from './format.js';

const OPEN_DEPTH = 3;

export function renderJson(value) {
  const root = h('div', { className: 'json' });
  root.append(node(value, null, true, 0));
  return root;
}

function node(value, key, last, depth) {
  const comma = last ? '' : ',';
  if (value !== null && typeof value === 'object') {
    const isArray = Array.isArray(value);
    const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
    const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) {
      return line(key, [h('span', { className: 'j-punct' }, `${open}${close}`)], comma);
    }
    const details = h('details', { className: 'j-node', open: depth < OPEN_DEPTH });
    const count = `${entries.length} ${isArray ? (entries.length === 1 ? 'item' : 'items') : (entries.length === 1 ? 'key' : 'keys')}`;
    details.append(h('summary', {},
      keyPart(key),
      h('span', { className: 'j-punct' }, open),
      h('span', { className: 'j-hint' }, ` ${count} ${close}${comma}`),
    ));
    const children = h('div', { className: 'j-children' });
    entries.forEach(([k, v], i) => children.append(node(v, isArray ? null : k, i === entries.length - 1, depth + 1)));
    details.append(children, h('div', { className: 'j-close' }, h('span', { className: 'j-punct' }, close), comma));
    return details;
  }
  return line(key, [scalar(value)], comma);
}

function line(key, parts, comma) {
  return h('div', { className: 'j-line' }, keyPart(key), parts, comma);
}

function keyPart(key) {
  if (key === null || key === undefined) return null;
  return [h('span', { className: 'j-key' }, JSON.stringify(String(key))), ': '];
}

function scalar(v) {
  if (v === null) return h('span', { className: 'j-null' }, 'null');
  switch (typeof v) {
    case 'string':
      return h('span', { className: 'j-str' }, JSON.stringify(v));
    case 'number':
      return h('span', { className: 'j-num' }, String(v));
    case 'boolean':
      return h('span', { className: 'j-bool' }, String(v));
    default:
      return h('span', {}, String(v));
  }
}

// The Rules view (#rules): every alert rule with its built-in marker and an on/off switch, and
// the editor (#rules/new, #rules/<id>) with a "Test" that shows what the rule would have raised
// over the last days (POST /api/rules/test). The server checks rules; its 400 message starts
// with the field it is about, and the form shows it beside that field. Loaded on first use.

import { api } from './api.js';
import { h, formatNumber } from './format.js';
import { SEVERITIES, severityChip, timeEl, loading, errorLine, eventTable } from './views.js';
import { routeHref } from './router.js';

const TEST_DAYS = [1, 7, 30, 90];
// The form's fields, as the server names them in its messages.
const FIELDS = ['name', 'description', 'severity', 'enabled', 'match', 'threshold', 'suppress_minutes', 'tags'];

const MATCH_EXAMPLE = JSON.stringify({
  service: 'Exchange',
  operation: ['Set-Mailbox'],
  conditions: [{ path: 'Parameters[Name=ForwardingSmtpAddress].Value', op: 'external' }],
}, null, 2);

let gen = 0;
// Said once on the next screen (after "create" moves to the new rule's address).
let flash = '';

export function render(root, arg, ctx) {
  gen += 1;
  root.dataset.view = 'rules';
  if (arg) showEditor(root, arg, ctx, gen);
  else showList(root, ctx, gen);
}

// ---------- the list ----------

async function showList(root, ctx, myGen) {
  document.title = 'Rules · AOC';
  const status = h('p', { className: 'form-status', id: 'rules-status', attrs: { role: 'status' } }, takeFlash());
  const head = h('div', { className: 'view-head' },
    h('h2', { className: 'view-title' }, 'Alert rules'),
    h('div', { className: 'view-tools' },
      h('a', { href: routeHref('rules', 'new'), className: 'button-link primary', id: 'new-rule' }, 'New rule'),
      h('a', { href: routeHref('alerts'), className: 'view-link' }, 'Alerts')));
  root.replaceChildren(head, status, loading('Loading rules…'));
  root.dataset.state = 'loading';
  root.setAttribute('aria-busy', 'true');
  let rules;
  try {
    rules = await api.rules();
  } catch (err) {
    if (myGen !== gen) return;
    root.dataset.state = 'error';
    root.setAttribute('aria-busy', 'false');
    root.replaceChildren(head, errorLine('Could not load rules:', err, () => render(root, '', ctx)));
    return;
  }
  if (myGen !== gen) return;
  rules = Array.isArray(rules) ? rules : [];
  root.setAttribute('aria-busy', 'false');
  const body = h('tbody', {}, rules.map((r) => ruleRow(r, status)));
  const on = rules.filter((r) => r.enabled).length;
  root.replaceChildren(head, status,
    h('p', { className: 'muted' }, `${formatNumber(rules.length)} rules, ${formatNumber(on)} switched on.`),
    h('table', { className: 'grid rules-table', id: 'rules-table' },
      h('thead', {}, h('tr', {}, ['On', 'Name', 'Severity', 'Threshold', 'Tags', 'Changed'].map((t) => h('th', { scope: 'col' }, t)))),
      body));
  root.dataset.state = rules.length ? 'ready' : 'empty';
}

function ruleRow(rule, status) {
  const toggle = h('input', {
    type: 'checkbox',
    className: 'switch',
    checked: Boolean(rule.enabled),
    attrs: { role: 'switch', 'aria-label': `${rule.name} enabled` },
  });
  const tr = h('tr', { className: `row rule-row${rule.enabled ? '' : ' rule-off'}`, dataset: { id: rule.id } });
  toggle.addEventListener('change', async () => {
    const want = toggle.checked;
    toggle.disabled = true;
    status.className = 'form-status';
    status.textContent = `${want ? 'Switching on' : 'Switching off'} ${rule.name}…`;
    try {
      const saved = await api.updateRule(rule.id, { enabled: want });
      rule.enabled = Boolean(saved?.enabled ?? want);
      toggle.checked = rule.enabled;
      tr.classList.toggle('rule-off', !rule.enabled);
      status.textContent = `${rule.name} is ${rule.enabled ? 'on' : 'off'}.`;
    } catch (err) {
      toggle.checked = !want;
      status.className = 'form-status error';
      status.textContent = `Could not change ${rule.name}: ${err.message}`;
    } finally {
      toggle.disabled = false;
    }
  });
  const tags = Array.isArray(rule.tags) ? rule.tags : [];
  tr.append(
    h('td', {}, toggle),
    h('td', { className: 'c-name' },
      h('a', { href: routeHref('rules', rule.id), className: 'rule-link' }, rule.name || rule.id),
      rule.builtin ? h('span', { className: 'builtin', title: 'Shipped with AOC: it can be switched off or changed, not deleted' }, 'built-in') : null,
      rule.description ? h('div', { className: 'muted rule-desc' }, rule.description) : null),
    h('td', {}, severityChip(rule.severity)),
    h('td', {}, thresholdText(rule)),
    h('td', {}, tags.map((t) => h('span', { className: 'tag' }, t))),
    h('td', { className: 'c-time' }, timeEl(rule.updated_at)));
  return tr;
}

function thresholdText(rule) {
  const t = rule.threshold;
  const parts = [];
  if (t && t.count) parts.push(`${t.count} in ${t.minutes} min by ${t.group_by || 'actor'}`);
  if (rule.suppress_minutes) parts.push(`one per ${rule.suppress_minutes} min`);
  return parts.length ? parts.join('; ') : '—';
}

function takeFlash() {
  const text = flash;
  flash = '';
  return text;
}

// ---------- the editor ----------

const BLANK = {
  name: '',
  description: '',
  enabled: true,
  severity: 'medium',
  match: null, // an empty box with an example as its placeholder
  threshold: null,
  suppress_minutes: null,
  tags: [],
};

async function showEditor(root, id, ctx, myGen) {
  const isNew = id === 'new';
  document.title = `${isNew ? 'New rule' : 'Rule'} · AOC`;
  const back = h('a', { href: routeHref('rules'), className: 'back-link' }, '← All rules');
  let rule = BLANK;
  if (!isNew) {
    root.replaceChildren(back, loading('Loading the rule…'));
    root.dataset.state = 'loading';
    root.setAttribute('aria-busy', 'true');
    try {
      rule = await api.rule(id);
    } catch (err) {
      if (myGen !== gen) return;
      root.dataset.state = 'error';
      root.setAttribute('aria-busy', 'false');
      root.replaceChildren(back, errorLine('Could not load the rule:', err, () => render(root, id, ctx)));
      return;
    }
    if (myGen !== gen) return;
    root.setAttribute('aria-busy', 'false');
  }
  root.dataset.state = 'ready';
  root.replaceChildren(back, ...editor(rule, isNew, ctx));
}

function editor(rule, isNew, ctx) {
  const el = {
    name: h('input', { type: 'text', id: 'r-name', name: 'name', required: true, maxLength: 200, value: rule.name || '' }),
    description: h('textarea', { id: 'r-description', name: 'description', rows: 2, maxLength: 2000, value: rule.description || '' }),
    severity: h('select', { id: 'r-severity', name: 'severity' }, SEVERITIES.map((s) => h('option', { value: s }, s))),
    enabled: h('input', { type: 'checkbox', id: 'r-enabled', name: 'enabled', checked: rule.enabled !== false }),
    match: h('textarea', {
      id: 'r-match',
      name: 'match',
      rows: 12,
      spellcheck: false,
      className: 'code',
      value: rule.match ? JSON.stringify(rule.match, null, 2) : '',
      placeholder: MATCH_EXAMPLE,
    }),
    count: h('input', { type: 'number', id: 'r-threshold-count', name: 'threshold.count', min: 1, step: 1, value: rule.threshold?.count ?? '' }),
    minutes: h('input', { type: 'number', id: 'r-threshold-minutes', name: 'threshold.minutes', min: 1, step: 1, value: rule.threshold?.minutes ?? '' }),
    groupBy: h('select', { id: 'r-threshold-group', name: 'threshold.group_by' }, h('option', { value: 'actor' }, 'actor'), h('option', { value: 'target' }, 'target')),
    suppress: h('input', { type: 'number', id: 'r-suppress', name: 'suppress_minutes', min: 1, step: 1, value: rule.suppress_minutes ?? '' }),
    tags: h('input', { type: 'text', id: 'r-tags', name: 'tags', value: (rule.tags || []).join(', '), placeholder: 'comma-separated' }),
  };
  el.severity.value = SEVERITIES.includes(rule.severity) ? rule.severity : 'medium';
  el.groupBy.value = rule.threshold?.group_by === 'target' ? 'target' : 'actor';

  // One message slot per field the server may name.
  const errors = {};
  const row = (key, label, control, hint) => {
    errors[key] = h('p', { className: 'field-error', id: `r-err-${key}`, hidden: true });
    const hintEl = hint ? h('p', { className: 'field-hint', id: `r-hint-${key}` }, hint) : null;
    return h('div', { className: 'form-row', dataset: { field: key } },
      typeof label === 'string' ? h('label', { htmlFor: control.id }, label) : label,
      control, hintEl, errors[key]);
  };
  const formError = h('p', { className: 'form-error', id: 'rule-error', attrs: { role: 'alert' }, hidden: true });
  const status = h('p', { className: 'form-status', id: 'rule-status', attrs: { role: 'status' } }, takeFlash());

  const thresholdBox = h('fieldset', { className: 'inline-fields', id: 'r-threshold' },
    h('legend', {}, 'Threshold (optional)'),
    h('label', {}, 'at least ', el.count), h('label', {}, ' matches within ', el.minutes, ' minutes'),
    h('label', {}, ' by ', el.groupBy));

  const days = h('select', { id: 'r-test-days', attrs: { 'aria-label': 'Test over the last' } },
    TEST_DAYS.map((d) => h('option', { value: String(d) }, `${d} day${d === 1 ? '' : 's'}`)));
  days.value = '7';
  const save = h('button', { type: 'submit', className: 'primary', id: 'rule-save' }, isNew ? 'Create rule' : 'Save');
  const test = h('button', { type: 'button', id: 'rule-test' }, 'Test');
  const del = !isNew && !rule.builtin ? h('button', { type: 'button', id: 'rule-delete', className: 'danger' }, 'Delete') : null;
  const preview = h('section', { className: 'rule-preview', id: 'rule-preview', hidden: true, attrs: { 'aria-live': 'polite', 'aria-label': 'Test result' } });

  const form = h('form', { className: 'rule-form', id: 'rule-form', noValidate: true },
    formError,
    row('name', 'Name', el.name),
    row('description', 'Description', el.description),
    h('div', { className: 'form-pair' },
      row('severity', 'Severity', el.severity),
      row('enabled', h('label', { htmlFor: 'r-enabled', className: 'check' }, el.enabled, ' Switched on'), h('span'))),
    row('match', 'Match (JSON)', el.match, 'The /api/events filters (service, operation, result, actor, target, search) plus "conditions" on the raw record and "any"; see docs/API.md, "Alert rules".'),
    row('threshold', thresholdBox, h('span')),
    row('suppress_minutes', 'One alert per group per (minutes, optional)', el.suppress),
    row('tags', 'Tags added to matched events', el.tags),
    h('div', { className: 'buttons' }, save, test, h('label', { className: 'muted' }, ' over the last ', days), del),
    status);

  const clearErrors = () => {
    formError.hidden = true;
    formError.textContent = '';
    for (const [key, p] of Object.entries(errors)) {
      p.hidden = true;
      p.textContent = '';
      form.querySelector(`.form-row[data-field="${key}"]`)?.classList.remove('invalid');
    }
    for (const c of form.querySelectorAll('[aria-invalid]')) {
      c.removeAttribute('aria-invalid');
      c.removeAttribute('aria-describedby');
    }
  };
  // "match.conditions[0].op: ..." goes under Match; a message naming no known field goes on top.
  const showError = (message) => {
    clearErrors();
    const key = fieldOf(message);
    if (key && errors[key]) {
      errors[key].textContent = message;
      errors[key].hidden = false;
      const rowEl = form.querySelector(`.form-row[data-field="${key}"]`);
      rowEl?.classList.add('invalid');
      const control = rowEl?.querySelector('input, textarea, select');
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', errors[key].id);
        control.focus();
      }
    }
    formError.textContent = `The rule was not accepted: ${message}`;
    formError.hidden = false;
  };

  /** The rule in the form, or null after showing why it cannot be read. */
  const read = () => {
    clearErrors();
    let match;
    try {
      match = JSON.parse(el.match.value || '{}');
    } catch (err) {
      showError(`match: not valid JSON (${err.message})`);
      return null;
    }
    const out = {
      name: el.name.value.trim(),
      description: el.description.value.trim(),
      enabled: el.enabled.checked,
      severity: el.severity.value,
      match,
      tags: el.tags.value.split(',').map((t) => t.trim()).filter(Boolean),
    };
    const count = el.count.value.trim();
    const minutes = el.minutes.value.trim();
    if (count || minutes) out.threshold = { count: Number(count), minutes: Number(minutes), group_by: el.groupBy.value };
    else if (rule.threshold) out.threshold = null; // clearing a stored threshold
    const suppress = el.suppress.value.trim();
    if (suppress) out.suppress_minutes = Number(suppress);
    else if (rule.suppress_minutes) out.suppress_minutes = null;
    return out;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = read();
    if (!body) return;
    save.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Saving…';
    try {
      const saved = isNew ? await api.createRule(body) : await api.updateRule(rule.id, body);
      status.textContent = '';
      if (isNew && saved?.id) {
        flash = `Created “${saved.name}”.`;
        ctx.go('rules', saved.id, { replace: true });
        return;
      }
      Object.assign(rule, saved || body);
      status.textContent = 'Saved.';
    } catch (err) {
      status.textContent = '';
      showError(err.message);
    } finally {
      save.disabled = false;
    }
  });

  let testGen = 0;
  test.addEventListener('click', async () => {
    const body = read();
    if (!body) return;
    const mine = ++testGen;
    test.disabled = true;
    preview.hidden = false;
    preview.dataset.state = 'loading';
    preview.replaceChildren(loading(`Testing over the last ${days.value} days…`));
    try {
      const result = await api.testRule(body, Number(days.value));
      if (mine !== testGen) return;
      drawPreview(preview, result, ctx);
      // The preview sits below the form: bring it into view without losing the form's place.
      preview.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      if (mine !== testGen) return;
      preview.dataset.state = 'error';
      preview.replaceChildren();
      preview.hidden = true;
      showError(err.message);
    } finally {
      if (mine === testGen) test.disabled = false;
    }
  });

  if (del) {
    // Two steps instead of a dialog: the first click asks, the second deletes.
    let armed = false;
    del.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        del.textContent = 'Really delete?';
        return;
      }
      del.disabled = true;
      try {
        await api.deleteRule(rule.id);
        flash = `Deleted “${rule.name}”.`;
        ctx.go('rules', '', { replace: true });
      } catch (err) {
        del.disabled = false;
        showError(err.message);
      }
    });
  }

  const title = h('h2', { className: 'view-title' }, isNew ? 'New rule' : rule.name || 'Rule',
    rule.builtin ? h('span', { className: 'builtin' }, 'built-in') : null);
  const note = rule.builtin
    ? h('p', { className: 'muted' }, 'A built-in detection: your changes are kept across restarts; it cannot be deleted, only switched off.')
    : null;
  return [title, note, form, preview].filter(Boolean);
}

/** The form field a server message is about: its first word, up to a dot, bracket or colon. */
export function fieldOf(message) {
  const m = /^\s*([a-z_]+)/i.exec(String(message || ''));
  if (!m) return '';
  const key = m[1].toLowerCase();
  return FIELDS.includes(key) ? key : '';
}

function drawPreview(preview, result, ctx) {
  const matched = Number(result?.matched) || 0;
  const alerts = Number(result?.alerts) || 0;
  const sample = Array.isArray(result?.sample) ? result.sample : [];
  preview.dataset.state = 'ready';
  preview.dataset.matched = String(matched);
  preview.dataset.alerts = String(alerts);
  const parts = [
    h('h3', {}, 'Test result'),
    h('p', { className: 'preview-summary', id: 'rule-preview-summary' },
      `Over the last ${formatNumber(result?.days)} days: `,
      h('strong', { className: 'preview-matched' }, `${formatNumber(matched)} matching event${matched === 1 ? '' : 's'}`),
      ` of ${formatNumber(result?.scanned)} looked at, `,
      h('strong', { className: 'preview-alerts' }, `${formatNumber(alerts)} alert${alerts === 1 ? '' : 's'}`),
      ' would have been raised.'),
  ];
  if (result?.truncated) parts.push(h('p', { className: 'muted' }, 'The period held more events than a test looks at: the figures cover the newest ones.'));
  if (sample.length) parts.push(eventTable(sample, ctx.openEvent, `A sample of ${formatNumber(sample.length)} matching event${sample.length === 1 ? '' : 's'}`));
  else parts.push(h('p', { className: 'muted' }, 'Nothing in this period matches.'));
  preview.replaceChildren(...parts);
}

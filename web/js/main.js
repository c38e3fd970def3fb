// Wires the page together: the URL is the source of truth for the view; every change of filters
// goes through navigate() (a new history entry) and every Back/Forward through show().

import { api, exportUrl } from './api.js';
import { apiFilters, commitView, currentView, hasFilters, hrefFor, sameFilters } from './state/url.js';
import { EventTable } from './table.js';
import { Histogram } from './histogram.js';
import { EventPanel } from './panel.js';
import { FilterBar } from './filters.js';
import { SourceHealth } from './health.js';
import { installKeyboard } from './keyboard.js';
import { initAuth } from './auth.js';
import { h, formatNumber, localZoneName } from './format.js';
import { go, onRouteChange, parseRoute, routeHref } from './router.js';
import { AlertBadge } from './badge.js';

const $ = (sel) => document.querySelector(sel);

const state = {
  view: null, // the view on screen (parsed from the URL)
  filters: {}, // the API filters the list was loaded with (a quick range resolved once)
  events: new Map(), // id -> Event for the loaded rows
  nextCursor: null,
  total: null,
  loaded: 0,
  gen: 0, // bumps on every list load; answers for older loads are dropped
  abort: null,
  typingEntry: false, // the current history entry came from typing in the search box
  measuring: false, // a list render is being timed (see table.onRendered)
  loadingMore: false,
  route: null, // {name, arg}: the event list, or the alerts / rules view in the fragment
  listStale: false, // the filters changed while another view was on screen
};

// The alerts and rules views and saved searches are loaded on first use, so the event list's
// first load carries none of them.
const lazy = {
  alerts: () => import('./alerts.js'),
  rules: () => import('./rules.js'),
  saved: () => import('./saved.js'),
  ask: () => import('./ask.js'),
  importer: () => import('./importer.js'),
};

// What this server has switched on (GET /api/config/features), asked once.
let featuresPromise = null;
const features = () => {
  featuresPromise ??= api.features().catch(() => ({}));
  return featuresPromise;
};

/** Set the list's filters from an API filter object (a saved search, an answer's query). */
function applyApiFilters(filters) {
  navigate({
    service: filters.service || '',
    operation: filters.operation || '',
    result: filters.result || '',
    actor: filters.actor || '',
    search: filters.search || '',
    range: '',
    start: filters.start || '',
    end: filters.end || '',
  });
}

const listRoot = $('#list');
const listState = $('#list-state');
const summary = $('#summary');
const moreButton = $('#load-more');
const moreStatus = $('#more-status');

const table = new EventTable($('#events tbody'), $('#row-template'), { onOpen: (id) => openEvent(id) });
// Render figures for the browser tests: the script part, and until the frame after the last
// row is painted (style, layout and paint included).
table.onRendered = (rows) => {
  if (!state.measuring) return;
  state.measuring = false;
  performance.measure('aoc:render-rows', 'aoc:render-start');
  afterPaint(() => {
    performance.measure('aoc:render-rows-painted', 'aoc:render-start');
    listRoot.dataset.rendered = String(rows);
  });
};

function afterPaint(fn) {
  requestAnimationFrame(() => setTimeout(fn, 0));
}
const histogram = new Histogram($('#timeline'), {
  onSelect: ({ start, end }) => navigate({ range: '', start, end }),
});
const panel = new EventPanel($('#panel'), {
  filterHref: (patch) => hrefFor({ ...state.view, ...patch }),
  onFilter: (patch) => navigate(patch),
  onChanged: (ev) => {
    state.events.set(ev.id, ev);
    table.update(ev);
  },
  onClose: () => closeEvent(),
});
const badge = new AlertBadge($('#alerts-link'), $('#alert-badge'));
const viewRoot = $('#view');
// What the alerts and rules views may ask of the page.
const viewContext = {
  openEvent: (ev) => panel.show(ev),
  refreshBadge: () => badge.refresh(),
  go,
  features,
  listFilters: () => apiFilters(state.view),
  // The list's filters, then the list itself (the fragment is dropped by navigate).
  applyFilters: (filters) => applyApiFilters(filters),
};
let importer = null;
let savedSearches = null;
const filterBar = new FilterBar($('#filters'), {
  onChange: (patch, opts) => navigate(patch, opts),
  onClear: () => navigate({ service: '', operation: '', result: '', actor: '', search: '', range: '', start: '', end: '' }),
});
const health = new SourceHealth($('#health'), {
  onFetched: () => {
    loadFilterOptions();
    loadList(state.view);
    // The evaluator raises alerts for the new events within seconds of the fetch.
    badge.refresh();
    setTimeout(() => badge.refresh(), 5000);
  },
});

installKeyboard({
  focusSearch: () => filterBar.focusSearch(),
  move: async (delta) => {
    if (state.route?.name !== 'events') return;
    // Moving down from the last loaded row loads the next page first.
    if (delta > 0 && table.selected === table.length - 1 && state.nextCursor) await loadMore();
    const id = table.move(delta);
    if (id && panel.isOpen) openEvent(id);
  },
  open: () => {
    if (state.route?.name !== 'events') return;
    const id = table.selectedId() || table.move(1);
    if (id) openEvent(id);
  },
  escape: () => {
    if (savedSearches?.isOpen) {
      savedSearches.setOpen(false);
      $('#saved-toggle').focus();
      return true;
    }
    if (health.isOpen) {
      health.setOpen(false);
      return true;
    }
    if (importer?.isOpen) {
      importer.setOpen(false);
      $('#import-toggle').focus();
      return true;
    }
    if (panel.isOpen) {
      closeEvent();
      return true;
    }
    return false;
  },
});

moreButton.addEventListener('click', () => loadMore());
window.addEventListener('popstate', () => {
  state.typingEntry = false;
  show(currentView());
  syncRoute(parseRoute());
});
onRouteChange((route) => syncRoute(route));
// "Events" drops the fragment: a plain link to the same path would reload the page.
$('.views a[data-route="events"]').addEventListener('click', (e) => {
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  go('events');
});
$('#saved-toggle').addEventListener('click', async () => {
  if (!savedSearches) {
    const { SavedSearches } = await lazy.saved();
    savedSearches ??= new SavedSearches($('#saved-popover'), $('#saved-toggle'), {
      getFilters: () => apiFilters(state.view),
      quickRange: () => state.view.range,
      apply: (filters) => applyApiFilters(filters),
      go,
    });
  }
  savedSearches.setOpen(!savedSearches.isOpen);
});
$('#import-toggle').addEventListener('click', async () => {
  if (!importer) {
    const { Importer } = await lazy.importer();
    importer ??= new Importer($('#import-popover'), $('#import-toggle'), {
      onImported: () => {
        loadFilterOptions();
        if (state.route?.name === 'events') loadList(state.view);
        else state.listStale = true;
        badge.refresh();
      },
    });
  }
  importer.setOpen(!importer.isOpen);
});

/** Show the view a route names: the event list, or the alerts / rules view. */
async function syncRoute(route) {
  const prev = state.route;
  const key = `${route.name}/${route.arg}`;
  if (prev && `${prev.name}/${prev.arg}` === key) return;
  state.route = route;
  const onEvents = route.name === 'events';
  document.body.dataset.route = route.name;
  for (const el of document.querySelectorAll('.events-view')) el.hidden = !onEvents;
  viewRoot.hidden = onEvents;
  for (const a of document.querySelectorAll('.views a[data-route]')) {
    if (a.dataset.route === route.name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    if (a.dataset.route !== 'events') a.href = routeHref(a.dataset.route);
  }
  if (onEvents) {
    document.title = 'AOC · who changed what, when?';
    if (state.listStale) {
      state.listStale = false;
      loadList(state.view);
    }
    if (prev && prev.name !== 'events') {
      panel.close();
      syncPanel(state.view);
    }
    return;
  }
  if (savedSearches?.isOpen) savedSearches.setOpen(false);
  // An event opened over one alert or rule belongs to it, not to the next screen.
  if (panel.isOpen) panel.close();
  try {
    const mod = await lazy[route.name]();
    if (state.route !== route) return; // another switch happened while the module loaded
    mod.render(viewRoot, route.arg, viewContext);
  } catch (err) {
    if (state.route !== route) return;
    viewRoot.replaceChildren(h('p', { className: 'state state-error', attrs: { role: 'alert' } }, `Could not load this view: ${err.message}`));
  }
}

/** Change the view: a new history entry, except while someone keeps typing a search. */
function navigate(patch, { typing = false } = {}) {
  const view = { ...state.view, ...patch };
  commitView(view, { replace: typing && state.typingEntry });
  state.typingEntry = typing;
  show(view);
  syncRoute(parseRoute());
}

function show(view) {
  const prev = state.view;
  state.view = view;
  filterBar.sync(view);
  if (!prev || !sameFilters(prev, view)) {
    // The list is loaded when it is next on screen, not behind the alerts or rules.
    if (!state.route || state.route.name === 'events') loadList(view);
    else state.listStale = true;
  }
  if (!state.route || state.route.name === 'events') syncPanel(view);
}

function syncPanel(view) {
  if (!view.event) {
    if (panel.isOpen) panel.close();
    return;
  }
  if (panel.currentId === view.event && panel.isOpen) return;
  const cached = state.events.get(view.event);
  if (cached) {
    // A list row is a summary: the panel fetches the whole event, kept for the next opening.
    panel.showRow(cached).then((ev) => {
      if (ev && state.events.has(ev.id)) state.events.set(ev.id, ev);
    });
  } else panel.showById(view.event);
  const i = table.indexOf(view.event);
  if (i >= 0) table.select(i);
}

function openEvent(id) {
  if (!id) return;
  const view = { ...state.view, event: id };
  commitView(view, { replace: true });
  state.view = view;
  syncPanel(view);
}

function closeEvent() {
  const view = { ...state.view, event: '' };
  commitView(view, { replace: true });
  state.view = view;
  panel.close();
  const i = table.selected;
  if (i >= 0) $('#events tbody').children[i]?.focus({ preventScroll: true });
}

function setListState(kind, message) {
  listRoot.dataset.state = kind;
  listRoot.setAttribute('aria-busy', kind === 'loading' ? 'true' : 'false');
  const parts = [];
  if (kind === 'loading') {
    parts.push(h('p', { className: 'state state-loading' }, h('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }), 'Loading events…'));
  } else if (kind === 'empty') {
    if (hasFilters(state.view)) {
      const clear = h('button', { type: 'button' }, 'Clear all filters');
      clear.addEventListener('click', () => $('#clear-filters').click());
      parts.push(h('p', { className: 'state state-empty' }, 'No events match these filters. ', clear));
    } else {
      parts.push(h('p', { className: 'state state-empty' }, 'No events yet. Use “Fetch now” to pull the audit logs of your tenant.'));
    }
  } else if (kind === 'error') {
    const retry = h('button', { type: 'button' }, 'Try again');
    retry.addEventListener('click', () => loadList(state.view));
    parts.push(h('p', { className: 'state state-error', attrs: { role: 'alert' } }, h('strong', {}, 'Could not load events: '), message, ' ', retry));
  }
  listState.replaceChildren(...parts);
}

function renderSummary() {
  const total = state.total;
  let text;
  if (listRoot.dataset.state === 'error') text = '';
  else if (total === null) text = `${formatNumber(state.loaded)} events shown`;
  else text = `${formatNumber(state.loaded)} of ${formatNumber(total)} events shown`;
  summary.textContent = text;
  moreButton.hidden = !state.nextCursor;
  if (state.nextCursor && total !== null) {
    moreButton.textContent = `Load ${formatNumber(Math.min(state.view.pageSize, total - state.loaded))} more`;
  } else moreButton.textContent = 'Load more';
}

function updateExports(filters) {
  $('#export-csv').href = exportUrl(filters, 'csv');
  $('#export-jsonl').href = exportUrl(filters, 'jsonl');
}

async function loadList(view) {
  const gen = ++state.gen;
  state.abort?.abort();
  const ctrl = new AbortController();
  state.abort = ctrl;
  const filters = apiFilters(view);
  state.filters = filters;
  state.total = null;
  updateExports(filters);
  setListState('loading');
  summary.textContent = 'Loading…';
  moreButton.hidden = true;
  moreStatus.textContent = '';
  const signal = ctrl.signal;

  api.count(filters, { signal }).then((r) => {
    if (gen !== state.gen) return;
    state.total = typeof r?.count === 'number' ? r.count : null;
    if (listRoot.dataset.state !== 'loading') renderSummary();
  }, () => {}); // The count is a nicety: the list says what went wrong if the API is down.

  histogram.loading();
  const buckets = Math.max(20, Math.min(150, Math.floor($('#timeline').clientWidth / 9)));
  api.histogram(filters, { buckets, signal }).then((d) => {
    // Without a start the span is the data's: the axis begins at the oldest bar.
    if (gen === state.gen) histogram.show(d, { fitToData: !filters.start });
  }, (err) => {
    if (gen === state.gen && err.name !== 'AbortError') histogram.error(err.message);
  });

  try {
    const page = await api.events(filters, { pageSize: view.pageSize, view: 'summary', signal });
    if (gen !== state.gen) return;
    const items = Array.isArray(page?.items) ? page.items : [];
    state.events.clear();
    for (const ev of items) state.events.set(ev.id, ev);
    delete listRoot.dataset.rendered;
    state.measuring = true;
    performance.mark('aoc:render-start');
    table.render(items);
    performance.measure('aoc:render-first-rows', 'aoc:render-start');
    afterPaint(() => performance.measure('aoc:first-rows-painted', 'aoc:render-start'));
    state.nextCursor = page?.next_cursor || null;
    state.loaded = items.length;
    setListState(items.length ? 'ready' : 'empty');
    renderSummary();
    if (state.view.event) {
      const i = table.indexOf(state.view.event);
      if (i >= 0) table.select(i);
    }
  } catch (err) {
    if (err.name === 'AbortError' || gen !== state.gen) return;
    state.events.clear();
    table.render([]);
    state.nextCursor = null;
    state.loaded = 0;
    setListState('error', err.message);
    renderSummary();
  }
}

async function loadMore() {
  // One page at a time: a second request with the same cursor would add the rows twice.
  if (!state.nextCursor || state.loadingMore) return;
  state.loadingMore = true;
  const gen = state.gen;
  moreButton.disabled = true;
  moreStatus.textContent = 'Loading…';
  try {
    const page = await api.events(state.filters, { pageSize: state.view.pageSize, cursor: state.nextCursor, view: 'summary' });
    if (gen !== state.gen) return;
    const items = Array.isArray(page?.items) ? page.items : [];
    for (const ev of items) state.events.set(ev.id, ev);
    table.append(items);
    state.loaded += items.length;
    state.nextCursor = page?.next_cursor || null;
    moreStatus.textContent = '';
    renderSummary();
  } catch (err) {
    if (gen === state.gen) moreStatus.textContent = `Could not load more: ${err.message}`;
  } finally {
    state.loadingMore = false;
    moreButton.disabled = false;
  }
}

async function loadFilterOptions() {
  try {
    filterBar.setOptions(await api.filterOptions());
  } catch (err) {
    $('#filters').dataset.error = err.message;
  }
}

async function loadServerInfo() {
  const [version, on, auth] = await Promise.allSettled([api.version(), features(), api.authConfig()]);
  if (version.status === 'fulfilled' && version.value?.version) $('#version').textContent = `v${version.value.version}`;
  if (on.status === 'fulfilled') {
    health.setConfigured(on.value?.fetch_configured);
    // Ask and Explain exist only with AI_FEATURES_ENABLED (the routes answer 404 otherwise).
    const ai = on.value?.ai_features_enabled === true;
    $('#ask-link').hidden = !ai;
    panel.setExplainEnabled(ai);
  }
  // Sign-in itself is auth.js (initAuth, above); this only marks the page.
  if (auth.status === 'fulfilled' && auth.value?.auth_enabled) document.body.classList.add('auth-enabled');
}

$('#events th').title = `Local time (${localZoneName()}); hover a time for UTC`;
// With sign-in on, nothing is loaded until someone is signed in (auth.js shows the panel).
const auth = await initAuth();
if (!auth.enabled || auth.signedIn) {
  syncRoute(parseRoute());
  show(currentView());
  badge.start();
  loadFilterOptions();
  health.refresh();
  loadServerInfo();
}

// Which view is on screen. The event list owns the query string (its filters); the other views
// live in the fragment (#alerts, #alerts/<id>, #rules, #rules/new, #rules/<id>, #ask), so switching
// views never reloads the page and the event filters survive a trip to the alerts and back.

export const ROUTES = ['events', 'alerts', 'rules', 'ask'];

/** The route a fragment describes: {name, arg}; anything unknown is the event list. */
export function parseRoute(hash = window.location.hash) {
  const raw = String(hash || '').replace(/^#/, '');
  const slash = raw.indexOf('/');
  const name = slash < 0 ? raw : raw.slice(0, slash);
  if (!ROUTES.includes(name) || name === 'events') return { name: 'events', arg: '' };
  let arg = slash < 0 ? '' : raw.slice(slash + 1);
  try {
    arg = decodeURIComponent(arg);
  } catch {
    arg = '';
  }
  return { name, arg };
}

/** The fragment of a route ('' for the event list). */
export function routeHash(name, arg = '') {
  if (name === 'events' || !ROUTES.includes(name)) return '';
  return `#${name}${arg ? `/${encodeURIComponent(arg)}` : ''}`;
}

/** A link to a route, keeping the event list's filters in the query string. */
export function routeHref(name, arg = '') {
  return `${window.location.pathname}${window.location.search}${routeHash(name, arg)}`;
}

let listener = () => {};

/** Called with the new route after every switch (links, Back/Forward, go()). */
export function onRouteChange(fn) {
  listener = fn;
  window.addEventListener('hashchange', () => listener(parseRoute()));
}

/** Switch views: a new history entry, so Back returns to the previous view. */
export function go(name, arg = '', { replace = false } = {}) {
  const url = routeHref(name, arg);
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  // pushState fires no hashchange: tell the page ourselves.
  listener(parseRoute());
}

// Sign-in when the server has AUTH_ENABLED: the OAuth 2.0 authorization-code flow with PKCE
// (S256) against the OpenID provider /api/config/auth names (Entra ID, or the simulated tenant of
// `aoc demo --auth`). No library: discovery, one redirect, one token request.
//
// Where things live, and why:
// - The access token and the signed-in user live in this module's memory only: never in
//   localStorage or sessionStorage, where any script on the origin could read them later. A
//   reload therefore means signing in again (with Entra ID that is one quick redirect).
// - The PKCE verifier, state and nonce of a sign-in in progress sit in sessionStorage for the
//   round trip to the provider (they are single use and worthless once the code is redeemed).
// - The redirect URI is the app's root (`{origin}/`); register it as a "Single-page
//   application" redirect URI. crypto.subtle needs a secure context: https, or localhost.

import { api, setAuthErrorHandler, setTokenGetter } from './api.js';
import { h } from './format.js';

const PENDING_KEY = 'aoc.signin.pending';
/** A token this close to expiry is treated as expired (clock skew, request time). */
const EXPIRY_MARGIN_MS = 30_000;
/** A sign-in left at the provider longer than this is abandoned. */
const PENDING_MAX_AGE_MS = 15 * 60_000;

let config = null; // /api/config/auth
let discovery = null; // the provider's OpenID configuration
let session = null; // { accessToken, expiresAt, name, username }
let gate = null;
let chip = null;

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified: only for showing who is signed in (the server verifies). */
function claimsOf(jwt) {
  try {
    const part = String(jwt).split('.')[1] || '';
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

function redirectUri() {
  return `${location.origin}/`;
}

async function loadDiscovery() {
  const authority = String(config.authority || '').replace(/\/+$/, '');
  const res = await fetch(`${authority}/.well-known/openid-configuration`, {
    headers: { Accept: 'application/json' },
    credentials: 'omit',
  });
  if (!res.ok) throw new Error(`the sign-in provider answered ${res.status}`);
  const doc = await res.json();
  if (!doc.authorization_endpoint || !doc.token_endpoint) throw new Error('the sign-in provider sent an unusable configuration');
  return doc;
}

function readPending() {
  try {
    const p = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
    sessionStorage.removeItem(PENDING_KEY);
    if (p && Date.now() - p.created < PENDING_MAX_AGE_MS) return p;
  } catch {
    sessionStorage.removeItem(PENDING_KEY);
  }
  return null;
}

/** Back from the provider? Redeem the code (or show its error) and restore the view's URL. */
async function completeRedirect() {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return;
  const pending = readPending();
  const returnTo = pending?.returnTo || '/';
  history.replaceState(history.state, '', returnTo);
  if (!pending || params.get('state') !== pending.state) {
    throw new Error('the sign-in answer does not belong to this browser tab; please sign in again');
  }
  if (error) throw new Error(params.get('error_description') || error);
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    credentials: 'omit',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.client_id,
      code,
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok || !body?.access_token) {
    throw new Error(body?.error_description || body?.error || `the token request failed (${res.status})`);
  }
  const id = claimsOf(body.id_token);
  if (body.id_token && id.nonce !== pending.nonce) throw new Error('the sign-in answer failed its nonce check');
  const access = claimsOf(body.access_token);
  const expiresIn = Number(body.expires_in) > 0 ? Number(body.expires_in) * 1000 : 3600_000;
  session = {
    accessToken: body.access_token,
    expiresAt: Date.now() + expiresIn,
    name: id.name || access.name || id.preferred_username || 'signed in',
    username: id.preferred_username || access.preferred_username || '',
  };
}

export async function signIn() {
  if (!discovery) discovery = await loadDiscovery();
  const verifier = randomString(48);
  const state = randomString(16);
  const nonce = randomString(16);
  const params = new URLSearchParams(location.search);
  for (const k of ['code', 'state', 'error', 'error_description', 'session_state']) params.delete(k);
  const query = params.toString();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({
    verifier,
    state,
    nonce,
    created: Date.now(),
    returnTo: `${location.pathname}${query ? `?${query}` : ''}${location.hash}`,
  }));
  const url = new URL(discovery.authorization_endpoint);
  const scopes = Array.isArray(config.scopes) && config.scopes.length ? config.scopes : ['openid', 'profile'];
  url.search = new URLSearchParams({
    client_id: config.client_id,
    response_type: 'code',
    response_mode: 'query',
    redirect_uri: redirectUri(),
    scope: scopes.join(' '),
    state,
    nonce,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

export function signOut() {
  session = null;
  sessionStorage.removeItem(PENDING_KEY);
  const end = discovery?.end_session_endpoint;
  if (end) {
    const url = new URL(end);
    url.searchParams.set('post_logout_redirect_uri', redirectUri());
    location.assign(url.toString());
  } else {
    showGate('signed-out');
    renderChip();
  }
}

function currentToken() {
  if (!session) return null;
  if (Date.now() > session.expiresAt - EXPIRY_MARGIN_MS) return null;
  return session.accessToken;
}

// ---------- what the page shows ----------

function button(label, onClick, className = 'primary') {
  const b = h('button', { type: 'button', className }, label);
  b.addEventListener('click', onClick);
  return b;
}

const signInClick = () => signIn().catch((err) => showGate('error', err.message));

/**
 * The sign-in panel over the page. Kinds: signed-out, expired (401), forbidden (403), error.
 */
export function showGate(kind, detail = '') {
  if (!gate) {
    gate = h('section', { className: 'auth-gate', attrs: { id: 'auth-gate', 'aria-live': 'polite' } });
    document.querySelector('.topbar')?.after(gate);
  }
  const who = session ? `${session.name}${session.username ? ` (${session.username})` : ''}` : '';
  let title;
  let text;
  let actions;
  if (kind === 'forbidden') {
    title = 'No access';
    text = `You are signed in as ${who || 'this account'}, but it has no role that may use AOC. Ask an administrator to assign you one of AOC's roles, or sign in with another account.`;
    actions = [button('Sign in as someone else', signInClick), button('Sign out', () => signOut(), 'ghost')];
  } else if (kind === 'expired') {
    title = 'Sign in again';
    text = 'Your sign-in has expired or was not accepted by the server.';
    actions = [button('Sign in again', signInClick)];
  } else if (kind === 'error') {
    title = 'Sign-in failed';
    text = detail || 'Something went wrong while signing in.';
    actions = [button('Try again', signInClick)];
  } else {
    title = 'Sign in';
    text = 'This AOC requires you to sign in with your organisation account.';
    actions = [button('Sign in', signInClick)];
  }
  gate.dataset.authState = kind;
  gate.replaceChildren(
    h('h2', {}, title),
    h('p', { attrs: { role: kind === 'signed-out' ? 'status' : 'alert' } }, text),
    h('p', { className: 'auth-actions' }, ...actions),
  );
  gate.hidden = false;
  document.body.classList.add('auth-blocked');
}

function hideGate() {
  if (gate) gate.hidden = true;
  document.body.classList.remove('auth-blocked');
}

function renderChip() {
  const host = document.querySelector('.topbar-actions');
  if (!host) return;
  if (!chip) {
    chip = h('span', { className: 'user-chip', attrs: { id: 'auth-user' } });
    host.append(chip);
  }
  if (!session) {
    chip.replaceChildren();
    chip.hidden = true;
    return;
  }
  chip.hidden = false;
  const name = h('span', { className: 'user-name', title: session.username || session.name }, session.name);
  chip.replaceChildren(name, button('Sign out', () => signOut(), 'ghost'));
}

/** Exports are plain links, which cannot carry a bearer token: fetch them instead. */
function authenticateDownloads() {
  for (const link of document.querySelectorAll('a[download][href^="/api/"]')) {
    link.addEventListener('click', async (e) => {
      e.preventDefault();
      const token = currentToken();
      if (!token) {
        showGate('expired');
        return;
      }
      const res = await fetch(link.getAttribute('href'), { headers: { Authorization: `Bearer ${token}` } });
      if (res.status === 401) return showGate('expired');
      if (res.status === 403) return showGate('forbidden');
      if (!res.ok) return;
      const name = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '')?.[1] || 'aoc-export';
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, attrs: { download: name } });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
  }
}

/**
 * Set up sign-in. Resolves to { enabled, signedIn }: when enabled and not signed in, the page
 * shows the sign-in panel and should not load data yet.
 */
export async function initAuth() {
  try {
    config = await api.authConfig();
  } catch {
    config = null;
  }
  if (!config?.auth_enabled) return { enabled: false, signedIn: false };
  document.body.classList.add('auth-enabled');
  setTokenGetter(currentToken);
  // A 401 before anyone signed in is just "signed out", not an expired session.
  setAuthErrorHandler((status) => showGate(status === 403 ? 'forbidden' : session ? 'expired' : 'signed-out'));
  authenticateDownloads();
  try {
    discovery = await loadDiscovery();
    await completeRedirect();
  } catch (err) {
    showGate('error', err.message);
    renderChip();
    return { enabled: true, signedIn: false };
  }
  renderChip();
  if (!session) {
    showGate('signed-out');
    return { enabled: true, signedIn: false };
  }
  hideGate();
  return { enabled: true, signedIn: true };
}

// createClient: the browser's side of Tessera's session. The access token lives in this closure only
// (never localStorage: a script injected into the page could read that); the refresh token is the
// HttpOnly cookie the server sets, which no script reads. Every call that needs the token goes through
// `fetch` below: it renews a token about to expire first, and on a 401 renews once and retries once.
// Renewals are shared by the tabs (tabs.ts), so N tabs cost one POST /auth/refresh per expiry.
import { Emitter, type ClientEvent, type ClientEvents } from './events.js';
import { TesseraError, errorOf } from './errors.js';
import { tabSync, type TabApis, type TabMessage } from './tabs.js';
import { isFresh, refreshDelay, tokenFrom, type TokenResponse, type TokenState } from './token.js';

export interface ClientOptions extends TabApis {
  /** Tessera's origin, e.g. `https://auth.example.com`; '' (the default) when it is this page's origin. */
  baseUrl?: string;
  /** Renew this long before the access token expires (default 30, at most half its lifetime). */
  refreshMarginSeconds?: number;
  /** How long a new tab asks the others for their token before refreshing itself (ms, default 100). */
  askTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** GET /auth/me */
export interface User {
  id: string;
  email: string;
  created_at: string;
  email_verified: boolean;
}

/** One entry of GET /auth/sessions */
export interface Session {
  id: string;
  created: string;
  last_used: string;
  expires: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

export type TesseraClient = ReturnType<typeof createClient>;

export function createClient(options: ClientOptions = {}) {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');
  const margin = options.refreshMarginSeconds ?? 30;
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const events = new Emitter();
  let state: TokenState | null = null;
  let inflight: Promise<TokenState | null> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const tabs = tabSync(`tessera:${base || globalThis.location?.origin}`, onTabMessage, options);

  function schedule(): void {
    clearTimeout(timer);
    if (!state) return;
    const stale = state.token;
    timer = setTimeout(
      () => {
        refresh(stale).catch(() => undefined); // a failure is retried by the next call that needs the token
      },
      refreshDelay(state, Date.now(), margin),
    );
  }

  function hold(next: TokenState | null): void {
    state = next;
    schedule();
  }

  /** Forgets the session in this tab; `message` tells the others. */
  function drop(message: TabMessage | null): void {
    hold(null);
    if (message) tabs.post(message);
  }

  function onTabMessage(message: TabMessage): void {
    if (message.type === 'ask') {
      if (state && isFresh(state, Date.now(), margin))
        tabs.post({ type: 'token', token: state.token, expiresAt: state.expiresAt, signedIn: false });
      return;
    }
    const had = state !== null;
    if (message.type === 'token') {
      if (state?.token === message.token) return;
      hold({ token: message.token, expiresAt: message.expiresAt });
      if (!had || message.signedIn) events.emit('signed_in', { elsewhere: true });
      else events.emit('token_refreshed', { expiresAt: message.expiresAt, elsewhere: true });
      return;
    }
    if (!had) return;
    hold(null);
    if (message.type === 'signed_out') events.emit('signed_out', { elsewhere: true, everywhere: message.everywhere });
    else events.emit('session_ended', { reason: message.reason });
  }

  function call(path: string, init: RequestInit = {}): Promise<Response> {
    return send(`${base}${path}`, { credentials: 'include', ...init }).catch((err: unknown) => {
      throw new TesseraError('network_error', 0, String(err));
    });
  }

  function post(path: string, body?: unknown): Promise<Response> {
    return call(
      path,
      body === undefined
        ? { method: 'POST' }
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    );
  }

  /** POST /auth/refresh, alone among the tabs, unless another tab renewed `stale` meanwhile. */
  function refresh(stale: string | null): Promise<TokenState | null> {
    inflight ??= tabs
      .exclusive(async (contended) => {
        const renewed = () => isFresh(state, Date.now(), margin) && state!.token !== stale;
        if (renewed()) return state;
        if (contended) {
          await tabs.next(500);
          if (renewed()) return state;
        }
        const res = await post('/auth/refresh');
        if (res.ok) {
          const had = state !== null;
          const next = tokenFrom((await res.json()) as TokenResponse, Date.now());
          hold(next);
          tabs.post({ type: 'token', ...next, signedIn: !had });
          events.emit(had ? 'token_refreshed' : 'signed_in', { expiresAt: next.expiresAt, elsewhere: false });
          return next;
        }
        const err = await errorOf(res);
        if (res.status !== 401 && err.code !== 'refresh_cookie_conflict') throw err;
        const had = state !== null;
        drop({ type: 'ended', reason: err.code });
        if (had) events.emit('session_ended', { reason: err.code });
        return null;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  /** The access token to send now (renewed first if it is about to expire), or null when signed out. */
  async function accessToken(): Promise<string | null> {
    if (!state) return null;
    if (isFresh(state, Date.now(), margin)) return state.token;
    return (await refresh(state.token))?.token ?? null;
  }

  /** fetch() with the access token: for the app's own API and Tessera's. One renewal and retry on a 401. */
  async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const attempt = (token: string | null) => {
      const r = new Request(request.clone());
      if (token) r.headers.set('authorization', `Bearer ${token}`);
      return send(r);
    };
    const token = await accessToken();
    const res = await attempt(token);
    if (res.status !== 401 || !token) return res;
    const next = await refresh(token);
    return next ? attempt(next.token) : res;
  }

  async function json<T>(res: Response): Promise<T> {
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  async function signedIn(res: Response): Promise<void> {
    const next = tokenFrom(await json<TokenResponse>(res), Date.now());
    hold(next);
    tabs.post({ type: 'token', ...next, signedIn: true });
    events.emit('signed_in', { elsewhere: false });
  }

  return {
    on<E extends ClientEvent>(event: E, listener: (detail: ClientEvents[E]) => void): () => void {
      return events.on(event, listener);
    },

    /**
     * On page load: takes the token of another open tab if one answers, else restores the session from the
     * refresh cookie. Resolves to whether a session is there.
     */
    async start(): Promise<boolean> {
      tabs.post({ type: 'ask' });
      await tabs.next(options.askTimeoutMs ?? 100);
      if (state) return true;
      return (await refresh(null)) !== null;
    },

    get signedIn(): boolean {
      return state !== null;
    },

    async register(email: string, password: string): Promise<User> {
      return (await json<{ user: User }>(await post('/auth/register', { email, password }))).user;
    },

    async signIn(email: string, password: string): Promise<void> {
      await signedIn(await post('/auth/login', { email, password }));
    },

    /** Leaves the page for the provider; Tessera sends the browser back to `returnTo` (RETURN_TO_ORIGINS). */
    signInWith(provider: string, returnTo: string = location.href): void {
      location.assign(
        `${base}/auth/oauth/${encodeURIComponent(provider)}/start?return_to=${encodeURIComponent(returnTo)}`,
      );
    },

    /** Ends this session (every tab of this browser). */
    async signOut(): Promise<void> {
      try {
        const res = await post('/auth/logout');
        if (!res.ok) throw await errorOf(res);
      } finally {
        drop({ type: 'signed_out', everywhere: false });
        events.emit('signed_out', { elsewhere: false, everywhere: false });
      }
    },

    /** Ends every session of the user, on every device. */
    async signOutEverywhere(): Promise<void> {
      const res = await authFetch(`${base}/auth/logout-all`, { method: 'POST', credentials: 'include' });
      if (!res.ok) throw await errorOf(res);
      drop({ type: 'signed_out', everywhere: true });
      events.emit('signed_out', { elsewhere: false, everywhere: true });
    },

    async user(): Promise<User> {
      return json<User>(await authFetch(`${base}/auth/me`));
    },

    async sessions(): Promise<Session[]> {
      return (await json<{ sessions: Session[] }>(await authFetch(`${base}/auth/sessions`))).sessions;
    },

    async endSession(id: string): Promise<void> {
      const res = await authFetch(`${base}/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
      if (!res.ok) throw await errorOf(res);
    },

    accessToken,
    fetch: authFetch,

    /** Stops the renewal timer and leaves the tabs' channel (a test, or an app tearing the client down). */
    close(): void {
      clearTimeout(timer);
      tabs.close();
    },
  };
}

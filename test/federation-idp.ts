// The upstream identity provider of the federation tests: panva's oidc-provider (a certified OpenID
// Provider) on a loopback port, with its login screen replaced by a handler that logs in whichever account
// the test chose (or answers access_denied, as a user pressing "cancel" would). Its signing key is made
// here, so a test can also mint ID tokens the real provider would never issue (another issuer, another
// audience) and have its token endpoint hand them out ("tamper" mode). Plus a small cookie-keeping
// "browser" that follows redirects over real HTTP.
//
// Making an RSA key costs a few hundred milliseconds, and some forty tests start a provider: a process keeps the
// keys it made and hands a free one to the next provider. Providers alive at the same time never share one, so a
// test with two providers still has two keys; a key goes back when its provider closes.
//
// oidc-provider runs each request inside one AsyncLocalStorage of its own. Before Node 24 (20, 22) the first `run`
// of a storage enables a process-wide async hook, and from then on V8 calls into it for every promise of every
// later test in the process: a shard of `npm test` ran with it on from its first federation test to its end (what
// that cost is in docs/development.md, "fourth round"). When the last provider of the process closes, that
// storage is disabled, which turns the hook off again; the next provider's first request turns it back on.
// Disabling is safe for a request still in flight only because nothing here reads the storage: oidc-provider reads
// it in `Provider.ctx` and in client metadata documents, neither used by this provider (a `findAccount` that
// calls `Provider.ctx` would get undefined after the last close).
import type { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, type CryptoKey, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface IdpAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
}

export interface TestIdp {
  issuer: string;
  port: number;
  /** Who the next login at the provider is; 'deny' answers access_denied. */
  next: IdpAccount | 'deny';
  /** Rewrites the claims of ID tokens the token endpoint returns (then re-signed with the provider's key). */
  tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | null;
  close(): Promise<void>;
}

export const IDP_CLIENT = { id: 'tessera-test', secret: 'test-client-secret-0123456789' };

interface IdpKey {
  jwk: JWK;
  privateKey: CryptoKey;
}
const freeKeys: IdpKey[] = [];

// The package has no export map, so its module is reached by path; the specifier is a variable so that TypeScript
// does not look for types the package does not ship for it.
const PROVIDER_STORAGE = 'oidc-provider/lib/helpers/als.js';
const providerStorage = ((await import(PROVIDER_STORAGE)) as { default: AsyncLocalStorage<unknown> }).default;
/** Providers of this process not yet closed. */
let open = 0;

async function takeKey(): Promise<IdpKey> {
  const kept = freeKeys.pop();
  if (kept) return kept;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { jwk: { ...(await exportJWK(privateKey)), kid: 'test-idp-key', alg: 'RS256', use: 'sig' }, privateKey };
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the provider; `redirectUris` are the Tessera callbacks it accepts. */
export async function startIdp(redirectUris: string[]): Promise<TestIdp> {
  const outer = createServer();
  const port = await listen(outer);
  const issuer = `http://127.0.0.1:${port}`;
  const key = await takeKey();
  const { jwk, privateKey } = key;
  let closed = false; // its key returned and its count taken off once, however often close is called
  const accounts = new Map<string, IdpAccount>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: IDP_CLIENT.id,
        client_secret: IDP_CLIENT.secret,
        redirect_uris: redirectUris,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Grant: 600, Session: 600 },
    findAccount: async (_ctx, id) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ ...account }) };
    },
    // Consent is not what these tests are about: every grant is given in full.
    loadExistingGrant: async (ctx) => {
      const { Grant } = ctx.oidc.provider;
      const existing = ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return Grant.find(existing);
      const grant = new Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId, grant.jti);
      return grant;
    },
    // Left at the provider's default (conformIdTokenClaims): the ID token carries `sub` only, and the email
    // claims come from UserInfo (OIDC Core §5.4), as many real providers do it. The default sign-in screen is
    // replaced below.
  });
  const handler = provider.callback();
  open += 1;

  const idp: TestIdp = {
    issuer,
    port,
    next: { sub: 'idp-user-1', email: 'someone@example.com', email_verified: true },
    tamper: null,
    close: () =>
      new Promise((resolve) => {
        outer.closeAllConnections();
        outer.close(() => {
          if (!closed) {
            closed = true;
            freeKeys.push(key);
            open -= 1;
            if (open === 0) providerStorage.disable();
          }
          resolve();
        });
      }),
  };

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    await provider.interactionDetails(req, res);
    const next = idp.next;
    if (next === 'deny') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    accounts.set(next.sub, next);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: next.sub } },
      { mergeWithLastSubmission: false },
    );
  }

  async function tamperedToken(req: IncomingMessage, res: ServerResponse) {
    // Let the real provider answer, then re-sign its ID token with claims the test changed.
    const raw = await body(req);
    const inner = createServer(handler);
    const innerPort = await listen(inner);
    try {
      const answer = await fetch(`http://127.0.0.1:${innerPort}/token`, {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type']) },
        body: new Uint8Array(raw),
      });
      const json = (await answer.json()) as Record<string, unknown>;
      if (typeof json.id_token === 'string' && idp.tamper) {
        const claims = idp.tamper(decodeJwt(json.id_token) as Record<string, unknown>);
        json.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid! }).sign(privateKey);
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    } finally {
      inner.close();
    }
  }

  outer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    let work: Promise<void> | void;
    if (path.startsWith('/interaction/')) work = interaction(req, res);
    else if (path === '/token' && idp.tamper) work = tamperedToken(req, res);
    else work = handler(req, res);
    Promise.resolve(work).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  return idp;
}

/**
 * A browser's worth of behaviour for these tests: cookies kept per host (Secure and SameSite aside:
 * over loopback HTTP the tests decide what to send), redirects followed by hand so each hop is visible.
 */
export class TestBrowser {
  readonly jar = new Map<string, Map<string, string>>();

  cookieHeader(url: URL): string {
    const jar = this.jar.get(url.host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  keep(url: URL, res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      const jar = this.jar.get(url.host) ?? new Map<string, string>();
      this.jar.set(url.host, jar);
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** One request; no redirect followed. */
  async get(href: string): Promise<Response> {
    const url = new URL(href);
    const cookie = this.cookieHeader(url);
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    this.keep(url, res);
    return res;
  }

  /**
   * Follows redirects from `href` until one would leave for a URL `stop` accepts (not requested) or a
   * page answers without a redirect. Returns the stopping URL (or the last one) and the last response.
   */
  async follow(href: string, stop: (url: URL) => boolean = () => false): Promise<{ url: URL; res: Response | null }> {
    let url = new URL(href);
    for (let hops = 0; hops < 20; hops++) {
      if (stop(url)) return { url, res: null };
      const res = await this.get(url.href);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url, res };
      url = new URL(location, url);
    }
    throw new Error('too many redirects');
  }
}

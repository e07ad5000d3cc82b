// Sign in with GitHub. GitHub can't be reached from here, so this runs against a SMALL LOCAL STAND-IN for
// its endpoints (authorize, access_token, /user, /user/emails), written from GitHub's documentation: it
// checks the client secret, redirect URI and PKCE verifier, answers token errors with HTTP 200 as GitHub
// does, and serves the emails list with primary/verified flags. The provider points at it through
// `github_urls` (as a GitHub Enterprise Server deployment would).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../free-port.js';
import { buildTestApp, tempDir, uniqueEmail } from '../helper.js';
import { TestBrowser } from '../federation-idp.js';

const SPA = 'http://spa.test';
const CLIENT = { id: 'gh-client', secret: 'gh-secret-0123456789' };

interface GithubUser {
  id: number;
  login: string;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const c of req) text += c;
  return text;
}

/** The stand-in for github.com and api.github.com. */
async function githubStandIn(t: Test) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const state = {
    user: { id: 1001, login: 'octo', emails: [] } as GithubUser,
    deny: false,
    apiDown: false,
    codes: new Map<string, { challenge: string; redirectUri: string; user: GithubUser }>(),
    tokens: new Map<string, GithubUser>(),
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, origin);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/login/oauth/authorize') {
      // The user approves at once (or cancels): straight back to the redirect URI.
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('state', url.searchParams.get('state')!);
      if (state.deny) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = randomBytes(10).toString('hex');
        state.codes.set(code, {
          challenge: url.searchParams.get('code_challenge')!,
          redirectUri: back.origin + back.pathname,
          user: state.user,
        });
        back.searchParams.set('code', code);
      }
      return res.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const grant = state.codes.get(form.get('code') ?? '');
      state.codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const ok =
        grant &&
        form.get('client_id') === CLIENT.id &&
        form.get('client_secret') === CLIENT.secret &&
        form.get('redirect_uri') === grant.redirectUri &&
        createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      // GitHub answers a bad code with HTTP 200 and an error member.
      if (!ok)
        return json(200, {
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
        });
      const token = randomBytes(10).toString('hex');
      state.tokens.set(token, grant.user);
      return json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const user = state.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
    if (state.apiDown) return json(502, { message: 'Server Error' });
    if (!user) return json(401, { message: 'Bad credentials' });
    if (url.pathname === '/api/user') return json(200, { id: user.id, login: user.login });
    if (url.pathname === '/api/user/emails')
      return json(
        200,
        user.emails.map((e) => ({ ...e, visibility: null })),
      );
    return json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin, state };
}

async function setup(t: Test) {
  const gh = await githubStandIn(t);
  const port = await freePort();
  const tessera = `http://127.0.0.1:${port}`;
  const file = path.join(await tempDir(t), 'providers.json');
  await writeFile(
    file,
    JSON.stringify([
      {
        id: 'github',
        type: 'github',
        name: 'GitHub',
        client_id: CLIENT.id,
        client_secret_env: 'GH_SECRET',
        github_urls: {
          authorize: `${gh.origin}/login/oauth/authorize`,
          token: `${gh.origin}/login/oauth/access_token`,
          api: `${gh.origin}/api`,
        },
      },
    ]),
  );
  const { app, db } = await buildTestApp(t, {
    env: {
      ISSUER: tessera,
      PORT: String(port),
      IDENTITY_PROVIDERS_FILE: file,
      GH_SECRET: CLIENT.secret,
      RETURN_TO_ORIGINS: SPA,
    },
  });
  await app.listen({ port, host: '127.0.0.1' });
  const signIn = async (browser = new TestBrowser()) => {
    const { url } = await browser.follow(
      `${tessera}/auth/oauth/github/start?return_to=${encodeURIComponent(`${SPA}/app`)}`,
      (u) => u.origin === SPA,
    );
    return { landed: url, browser };
  };
  const refresh = async (browser: TestBrowser) => {
    const url = new URL(`${tessera}/auth/refresh`);
    const res = await fetch(url, { method: 'POST', headers: { cookie: browser.cookieHeader(url) } });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  return { gh, app, db, signIn, refresh, tessera };
}

t.test(
  'GitHub (stand-in): the numeric id is the subject and the verified primary email makes the account',
  async (t) => {
    const s = await setup(t);
    const email = uniqueEmail();
    s.gh.state.user = {
      id: 4242,
      login: 'octo',
      emails: [
        { email: 'secondary@example.com', primary: false, verified: true },
        { email, primary: true, verified: true },
      ],
    };
    const { landed, browser } = await s.signIn();
    t.equal(landed.href, `${SPA}/app`, 'the GitHub sign-in lands back on the SPA page it started from');
    const refreshed = await s.refresh(browser);
    t.equal(refreshed.status, 200, 'the refresh cookie set by the GitHub sign-in is accepted');
    const me = await s.app.inject({
      url: '/auth/me',
      headers: { authorization: `Bearer ${refreshed.body.access_token}` },
    });
    t.equal(me.json().email, email, 'the primary address, not the first verified one');
    t.match(
      await s.db.database.prisma.identity.findMany(),
      [{ provider: 'github', subject: '4242', email }],
      "the identity is stored under GitHub's numeric id with the primary email",
    );
    const start = await new TestBrowser().get(
      `${s.tessera}/auth/oauth/github/start?return_to=${encodeURIComponent(SPA)}`,
    );
    const authorize = new URL(start.headers.get('location')!);
    t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE with GitHub too');
    t.equal(
      authorize.searchParams.get('scope'),
      'read:user user:email',
      'Tessera asks GitHub only for read:user and user:email',
    );
  },
);

t.test(
  'GitHub (stand-in): an unverified primary email, a cancel, a bad code and an API outage each come back as a code',
  async (t) => {
    const s = await setup(t);
    s.gh.state.user = {
      id: 7,
      login: 'x',
      emails: [
        { email: 'p@example.com', primary: true, verified: false },
        { email: 'v@example.com', primary: false, verified: true },
      ],
    };
    t.equal(
      (await s.signIn()).landed.searchParams.get('error'),
      'oauth_email_unverified',
      'only a verified PRIMARY address counts',
    );

    s.gh.state.deny = true;
    t.equal(
      (await s.signIn()).landed.searchParams.get('error'),
      'oauth_access_denied',
      'a cancel at GitHub comes back as oauth_access_denied',
    );
    s.gh.state.deny = false;

    s.gh.state.user = { id: 8, login: 'y', emails: [{ email: uniqueEmail(), primary: true, verified: true }] };
    const browser = new TestBrowser();
    const { url: callback } = await browser.follow(
      `${s.tessera}/auth/oauth/github/start?return_to=${encodeURIComponent(SPA)}`,
      (u) => u.pathname.endsWith('/callback'),
    );
    await s.db.database.prisma.oAuthFlow.updateMany({
      data: { codeVerifier: 'not-the-verifier-of-this-code-0123456789abcdef' },
    });
    const { url: landed } = await browser.follow(callback.href, (u) => u.origin === SPA);
    t.equal(
      landed.searchParams.get('error'),
      'oauth_code_rejected',
      'a PKCE mismatch (GitHub says bad_verification_code)',
    );

    s.gh.state.apiDown = true;
    t.equal(
      (await s.signIn()).landed.searchParams.get('error'),
      'oauth_provider_unavailable',
      'a GitHub API outage comes back as oauth_provider_unavailable',
    );
    t.equal(await s.db.database.prisma.session.count(), 0, 'none of the failed GitHub sign-ins left a session');
  },
);

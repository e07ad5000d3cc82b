// The MCP proof with a real user in a real browser: the official MCP TypeScript SDK's client, at its default
// settings, connects to the example MCP server (examples/mcp-server/) protected by a listening Tessera and finds
// everything itself: 401 → RFC 9728 protected-resource metadata → RFC 8414 authorization-server metadata →
// registration → authorization (PKCE S256, `resource`) → token → tool call; then a tool that needs more →
// 403 insufficient_scope → the SDK asks again → success. The one thing the SDK hands to the application, sending
// the user to the authorization URL, is done in headless Chromium (Debian's `chromium` through playwright-core)
// with JavaScript off, keyboard only: the user signs in and presses Allow on the consent page, and the browser
// lands on the agent's loopback listener with the code. Registration is proven both ways the MCP spec allows:
// a Client ID Metadata Document (from a local https fixture with a throwaway CA) and dynamic registration.
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { buildTestApp, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { SystemClock } from '../oauth-server-fixtures.js';
import { startDocumentServer } from '../client-document-server.js';
import { AgentProvider, connect, text, type UserAgent } from '../mcp-agent.js';
import { buildMcpService } from '../../examples/mcp-server/app.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCOPES = 'openid notes:read notes:write';

/** The agent's loopback listener: where the browser lands with the code. */
async function callbackListener(t: Test) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`;
}

/** Presses Enter on the focused control and waits for the page it leads to. */
async function pressEnterAndLoad(page: Page) {
  await Promise.all([page.waitForEvent('framenavigated'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
}

const focusedText = (page: Page) =>
  page
    .locator(':focus')
    .evaluate((el) => (el.textContent ?? '').trim())
    .catch(() => '');

/**
 * A user at a real browser, keyboard only: opens the authorization URL, signs in when asked, tabs to Allow on
 * the consent page and presses Enter; returns the URL the browser ends at (the agent's callback).
 */
class ChromiumUser implements UserAgent {
  /** The titles of the pages the user saw, per authorization. */
  readonly seen: string[][] = [];
  /** What each consent page said. */
  readonly consentTexts: string[] = [];

  constructor(
    private readonly page: Page,
    private readonly callback: string,
  ) {}

  async authorize(url: URL, email: string, password: string): Promise<string> {
    const page = this.page;
    const titles: string[] = [];
    this.seen.push(titles);
    await page.goto(url.href);
    for (let step = 0; step < 4 && !page.url().startsWith(this.callback); step++) {
      const title = await page.title();
      titles.push(title);
      if (title === 'Sign in') {
        await page.keyboard.type(email); // the page opens with focus in the email field
        await page.keyboard.press('Tab');
        await page.keyboard.type(password);
        await pressEnterAndLoad(page);
      } else if (title === 'Allow access?') {
        this.consentTexts.push((await page.textContent('main')) ?? '');
        let focused = '';
        for (let i = 0; i < 8 && focused !== 'Allow'; i++) {
          await page.keyboard.press('Tab');
          focused = await focusedText(page);
        }
        if (focused !== 'Allow') throw new Error('the Allow button was not reached with Tab');
        await Promise.all([page.waitForURL((u) => u.href.startsWith(this.callback)), page.keyboard.press('Enter')]);
      } else {
        throw new Error(`unexpected page "${title}": ${((await page.textContent('body')) ?? '').slice(0, 200)}`);
      }
    }
    if (!page.url().startsWith(this.callback)) throw new Error(`the browser did not come back: ${page.url()}`);
    return page.url();
  }
}

async function launch(t: Test, port: number): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      `--host-resolver-rules=MAP localhost:${port} 127.0.0.1:${port}`,
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Tessera (ISSUER on localhost: a secure context for the __Host- cookies) and the MCP server, listening. */
async function servers(t: Test, env: Record<string, string>, documentCa?: string) {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const mcpPort = await freePort();
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  const { app } = await buildTestApp(t, {
    clock: new SystemClock(),
    env: { ISSUER: issuer, RESOURCES: resource, ...env },
    ...(documentCa ? { documentFetch: { allowLoopback: true, ca: documentCa } } : {}),
  });
  await app.listen({ port, host: '127.0.0.1' });
  const mcp = await buildMcpService({ issuer, resource });
  t.teardown(() => mcp.close());
  await mcp.listen({ port: mcpPort, host: '127.0.0.1' });
  const browser = await launch(t, port);
  const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  return { app, issuer, resource, page };
}

/** The whole flow as the SDK runs it, with the user in Chromium; the checks common to both registrations. */
async function agentFlow(
  t: Test,
  issuer: string,
  resource: string,
  user: ChromiumUser,
  provider: AgentProvider,
  userId: string,
) {
  // The SDK's own requests, as the MCP server and Tessera see them.
  const client = new Client({ name: 'tessera-browser-agent', version: '1.0.0' });
  const transport = await connect(client, resource, provider);

  const first = provider.authorizations[0]!;
  t.equal(first.origin + first.pathname, `${issuer}/oauth/authorize`, "the SDK found Tessera's authorization endpoint");
  t.equal(first.searchParams.get('resource'), resource, 'it named the MCP server as the resource (RFC 8707)');
  t.equal(first.searchParams.get('code_challenge_method'), 'S256', 'with PKCE S256');
  t.equal(first.searchParams.get('scope'), 'notes:read', 'asking for the scope the 401 challenge named');
  t.same(user.seen[0], ['Sign in', 'Allow access?'], 'the user signed in, then saw the consent page');
  t.ok(provider.code, 'the browser landed on the agent with a code');
  const claims = decodeJwt(provider.saved!.access_token);
  t.equal(claims.aud, resource, "the token's audience is the MCP server");
  t.equal(claims.sub, userId, 'and its subject the user who approved in the browser');
  t.equal(claims.iss, issuer, 'issued by Tessera');

  const listed = text(await client.callTool({ name: 'list_notes', arguments: {} }));
  t.equal(listed.user, userId, 'the tool call succeeds as the user who consented');

  // add_note needs notes:write: 403 insufficient_scope, the SDK sends the user to the browser again.
  await t.rejects(
    client.callTool({ name: 'add_note', arguments: {} }),
    { message: /Unauthorized/ },
    'the 403 insufficient_scope sends the SDK back to the authorization endpoint',
  );
  const stepUp = provider.authorizations[1]!;
  t.equal(stepUp.searchParams.get('scope'), 'notes:read notes:write', 'for the scopes the 403 challenge named');
  t.same(
    user.seen[1],
    ['Allow access?'],
    'the browser session spares the password; the larger scope is asked for on the consent page',
  );
  t.match(user.consentTexts[1], /notes:write/, 'the consent page shows the new permission');
  await transport.finishAuth(provider.code);
  const stepped = decodeJwt(provider.saved!.access_token);
  t.match(String(stepped.scope), /notes:write/, 'the new token carries notes:write');
  t.equal(stepped.aud, resource, 'for the same resource');
  const added = text(await client.callTool({ name: 'add_note', arguments: {} }));
  t.equal(added.added, true, 'the tool call that needed the larger scope succeeds');
  await client.close();
}

t.test(
  'the MCP SDK identifies itself with a metadata document; the user approves in Chromium, keyboard only',
  async (t) => {
    const fixture = await startDocumentServer(t);
    const { app, issuer, resource, page } = await servers(
      t,
      { CLIENT_ID_METADATA_DOCUMENTS: 'true', CLIENT_ID_METADATA_DOCUMENT_SCOPES: SCOPES },
      fixture.ca,
    );
    const callback = await callbackListener(t);
    const documentUrl = `${fixture.origin}/agent/client.json`;
    fixture.json(
      '/agent/client.json',
      {
        client_id: documentUrl,
        client_name: 'Browser test agent',
        redirect_uris: [callback],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      { 'cache-control': 'max-age=3600' },
    );
    const account = await register(app);
    const user = new ChromiumUser(page, callback);
    const provider = new AgentProvider(user, account.email, documentUrl, callback);

    await agentFlow(t, issuer, resource, user, provider, account.user.id);
    t.equal(provider.info?.client_id, documentUrl, 'the SDK used its document URL as client_id');
    t.equal(provider.authorizations[0]!.searchParams.get('client_id'), documentUrl, 'in the authorization request');
    t.equal(await app.services.database.prisma.dynamicRegistration.count(), 0, 'and registered nowhere');
    t.match(user.consentTexts[0], /Browser test agent/, 'the consent page names the app from its document');
    t.match(user.consentTexts[0], /127\.0\.0\.1/, 'with the host the code goes back to');
    t.equal(fixture.hits.get('/agent/client.json'), 1, 'Tessera fetched the document once, then used its cache');
  },
);

t.test('the MCP SDK registers dynamically; the user approves in Chromium, keyboard only', async (t) => {
  const { app, issuer, resource, page } = await servers(t, {
    DYNAMIC_REGISTRATION: 'true',
    DYNAMIC_REGISTRATION_SCOPES: SCOPES,
  });
  const callback = await callbackListener(t);
  const account = await register(app);
  const user = new ChromiumUser(page, callback);
  const provider = new AgentProvider(user, account.email, undefined, callback);

  await agentFlow(t, issuer, resource, user, provider, account.user.id);
  t.ok(provider.info?.client_id, 'the SDK registered itself at /oauth/register');
  t.equal(await app.services.database.prisma.dynamicRegistration.count(), 1, 'once, as a dynamic client');
  t.match(user.consentTexts[0], /Test agent/, 'the consent page names the app it registered');
});

// /oauth/authorize (RFC 6749 §4.1, OAuth 2.1, OIDC Core §3.1.2) and its two built-in pages: sign in, then
// consent. The request is checked first (src/domain/oauth/authorization-request.ts): an unknown client or a
// redirect URI that is not registered gets the error page, never a redirect; every other error goes back to
// the redirect URI with `iss` (RFC 9207). The pages carry the request in hidden fields and re-check it on
// every POST, so nothing is kept server-side between steps; each form carries a CSRF token equal to a
// __Host- SameSite=Strict cookie, and a cross-site POST is refused whatever it carries.
//
// The browser session (src/domain/oauth/browser-sessions.ts) is a Tessera session opened by the password
// here; its __Host- cookie is SameSite=Lax so that a top-level navigation from the app's site carries it.
//
// A pushed request (RFC 9126, src/routes/pushed-authorization.ts) arrives as client_id + request_uri: the
// endpoint claims it once for this browser, and the pages carry the request_uri on instead of the parameters.
//
// An account with a second factor signs in in two steps: the password, then a page for a code of the
// authenticator app or a recovery code (second-step-page.ts), posted to /oauth/authorize/mfa with the mfa_token
// in a hidden field. A remembered browser session is asked again when it is older than max_age, or when
// acr_values asks for a level it is below and the account has a factor that could reach it (acr_values is
// voluntary: an account without a factor gets its one-factor level, and the tokens say acr "1").
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { acceptForms } from '../http/form-body.js';
import { Type } from 'typebox';
import { errorCatalog } from '../errors.js';
import { errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import { consentPage, errorPage, formTargetOf, loginPage } from '../http/pages.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { csrfHolds as csrfHoldsFor, csrfToken } from './page-csrf.js';
import { BROWSER_SESSION_COOKIE, passwordSignIn, secondStepSignIn } from '../http/password-sign-in.js';
import { secondStepPage } from '../http/second-step-page.js';
import { acrOf, storedAmr, type Acr } from '../domain/sessions/assurance.js';
import {
  REQUEST_PARAMS,
  checkAuthorizationRequest,
  responseUrl,
  type AuthorizationRequest,
  type Checked,
  type Params,
} from '../domain/oauth/authorization-request.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import { browserKeyOf } from '../domain/oauth/pushed-requests.js';
import type { Services } from '../services.js';

const Value = Type.String({ maxLength: 4096 });
const OneOrMore = Type.Union([Value, Type.Array(Value, { maxItems: 10 })]);
// Every parameter may arrive twice (then refused by checkAuthorizationRequest, RFC 6749 §3.1); others are ignored.
const AnyParams = Type.Object(
  Object.fromEntries(
    [
      ...REQUEST_PARAMS,
      'request_uri',
      'csrf',
      'email',
      'password',
      'decision',
      'mfa_token',
      'factor_id',
      'code',
      'recovery_code',
    ].map((name) => [name, Type.Optional(OneOrMore)]),
  ),
  { additionalProperties: OneOrMore },
);
/** What the pages carry for a pushed request: the rest is read back from the store. */
const PUSHED_FIELDS = ['client_id', 'prompt', 'max_age'] as const;

/** A request as the pages see it: its parameters, and the request_uri they were pushed under (RFC 9126). */
interface Resolved {
  params: Params;
  requestUri: string | null;
}
const Html = Type.String({ description: 'An HTML page' });
const pageResponses = { 200: Html, 303: Type.Null(), 400: Html, 401: Html, 403: Html, 429: Html, ...errorResponses };

const authorizeRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config, oauthClients, oauth, clock, clientDocuments } = services;
  const ownOrigin = new URL(config.issuer).origin;
  const limited = rateLimitFor(config);
  const resourceRegistry = { fallback: config.audience, registered: config.resources };

  const redirect = (reply: FastifyReply, url: string) => reply.code(303).header('location', url).send(null);
  const csrfHolds = (request: FastifyRequest, body: Params) => csrfHoldsFor(request, ownOrigin, body.csrf);

  /** The request's own parameters (a pushed one's request_uri instead), for the hidden fields of the next page. */
  function fieldsOf(resolved: Resolved, csrf: string, drop: string[] = []): Record<string, string> {
    const { params, requestUri } = resolved;
    const out: Record<string, string> = { csrf };
    for (const name of requestUri ? PUSHED_FIELDS : REQUEST_PARAMS) {
      const v = params[name];
      if (typeof v === 'string' && !drop.includes(name)) out[name] = v;
    }
    if (requestUri) out.request_uri = requestUri;
    // After a fresh sign-in, prompt=login and max_age are satisfied: the next page must not ask again.
    if (drop.includes('prompt') && typeof params.prompt === 'string') {
      const rest = params.prompt.split(' ').filter((p) => p !== 'login');
      if (rest.length) out.prompt = rest.join(' ');
    }
    return out;
  }

  /**
   * The request's parameters. A pushed one (request_uri) is claimed at the endpoint (`claim`: once, for this
   * browser) and read again on the pages' POSTs by that browser only; null: the request_uri is no good.
   */
  async function resolve(
    request: FastifyRequest,
    reply: FastifyReply,
    raw: Params,
    claim: boolean,
  ): Promise<Resolved | null> {
    if (raw.request_uri === undefined) return { params: raw, requestUri: null };
    const { request_uri: uri, client_id: id } = raw;
    if (typeof uri !== 'string' || typeof id !== 'string') return null;
    const key = browserKeyOf(csrfToken(request, reply));
    const stored = claim ? await oauth.pushed.claim(uri, id, key) : await oauth.pushed.resume(uri, id, key);
    if (!stored) {
      request.log.info({ event: 'authorize_refused', detail: 'request_uri not claimable' }, 'request_uri refused');
      return null;
    }
    if (claim) return { params: stored, requestUri: uri };
    // The pages narrow prompt and max_age once the user has signed in (fieldsOf): those two come from the form.
    const { prompt: _prompt, max_age: _maxAge, ...rest } = stored;
    const params: Params = { ...rest, prompt: raw.prompt, max_age: raw.max_age };
    return { params, requestUri: uri };
  }

  const badRequestUri = (reply: FastifyReply) =>
    errorPage(reply, 'invalid_request_uri', errorCatalog.invalid_request_uri.message);

  /** The request checked, or (an https client_id) why its metadata document was refused. */
  async function check(
    request: FastifyRequest,
    { params, requestUri }: Resolved,
  ): Promise<Checked | { kind: 'document'; detail: string } | { kind: 'document_limited'; retryAfter: number }> {
    const id = params.client_id;
    let client = null;
    if (typeof id === 'string' && clientDocuments?.handles(id)) {
      const found = await clientDocuments.resolve(id, requestMeta(request));
      if ('refused' in found) return { kind: 'document', detail: found.refused };
      if ('limited' in found) return { kind: 'document_limited', retryAfter: found.limited };
      client = found.client;
    } else client = typeof id === 'string' ? await oauthClients.get(id) : null;
    return checkAuthorizationRequest(params, client, resourceRegistry, {
      pushed: requestUri !== null,
      requirePushed: config.authorization.requirePushedRequests,
    });
  }

  /** acr_values asks for more than the session's sign-in gave, and the account has a factor to give it. */
  async function belowRequestedLevel(session: BrowserSession, wanted: Acr | null): Promise<boolean> {
    if (wanted === null || acrOf(storedAmr(session.amr, session.idp)) >= wanted) return false;
    return (await services.mfa.secondStep.factorsOf(session.userId)).length > 0;
  }

  const failTo = (reply: FastifyReply, req: AuthorizationRequest, error: string, description: string) =>
    redirect(
      reply,
      responseUrl(req.redirectUri, config.issuer, { error, error_description: description, state: req.state }),
    );

  /**
   * The endpoint's one decision path: check the request, then sign-in, then consent, then the code.
   * `fresh`: the user has just signed in on the login page; `consented`: has just allowed on the consent page.
   */
  async function authorize(
    request: FastifyRequest,
    reply: FastifyReply,
    resolved: Resolved,
    step: { fresh?: BrowserSession; consented?: boolean } = {},
  ) {
    const checked = await check(request, resolved);
    if (checked.kind === 'document') {
      request.log.info(
        { event: 'client_document_refused', detail: checked.detail },
        'client metadata document refused',
      );
      return errorPage(
        reply,
        'client_metadata_document_refused',
        errorCatalog.client_metadata_document_refused.message,
      );
    }
    if (checked.kind === 'document_limited') {
      // Fetching documents is limited per address and per host (src/domain/oauth/document-fetch-limits.ts).
      request.log.warn({ event: 'client_document_limited', ip: request.ip }, 'client metadata document fetch limited');
      reply.header('retry-after', String(checked.retryAfter));
      return errorPage(reply, 'too_many_requests', errorCatalog.too_many_requests.message, 429);
    }
    if (checked.kind === 'page') {
      request.log.info({ event: 'authorize_refused', detail: checked.detail }, 'authorization request refused');
      return errorPage(reply, 'authorization_request_invalid', errorCatalog.authorization_request_invalid.message);
    }
    if (checked.kind === 'redirect')
      return redirect(
        reply,
        responseUrl(checked.redirectUri, config.issuer, {
          error: checked.error,
          error_description: checked.description,
          state: checked.state,
        }),
      );
    const req = checked.request;
    const formTarget = formTargetOf(req.redirectUri);
    const session = step.fresh ?? (await oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]));
    const now = clock.now().getTime();
    const tooOld =
      session && req.maxAge !== null && (req.maxAge === 0 || now - session.authTime.getTime() > req.maxAge * 1000);
    const tooWeak = session && !step.fresh && (await belowRequestedLevel(session, req.acr));
    if (!session || (!step.fresh && (req.prompt.has('login') || tooOld || tooWeak))) {
      if (req.prompt.has('none')) return failTo(reply, req, 'login_required', 'the user is not signed in');
      return loginPage(reply, {
        clientName: req.client.name,
        fields: fieldsOf(resolved, csrfToken(request, reply)),
        email: req.loginHint ?? '',
        formTarget,
      });
    }
    // A metadata-document client named itself: its consent is asked every time, never remembered (anyone who
    // can listen on a loopback port its document lists could otherwise get a code silently, RFC 8252 §8.6).
    const selfNamed = clientDocuments?.handles(req.client.id) ?? false;
    const remembered = !selfNamed && (await oauth.consents.covers(session.userId, req.client.id, req.scope));
    const needConsent = !req.client.firstParty && !step.consented && (req.prompt.has('consent') || !remembered);
    if (needConsent) {
      if (req.prompt.has('none')) return failTo(reply, req, 'consent_required', 'the user has not consented');
      return consentPage(reply, {
        clientName: req.client.name,
        // A metadata-document client named itself: nobody here vouched for it.
        unverifiedClientId: selfNamed ? req.client.id : null,
        redirectUri: req.redirectUri,
        scopes: req.scope,
        fields: fieldsOf(resolved, csrfToken(request, reply), step.fresh ? ['prompt', 'max_age'] : []),
        formTarget,
      });
    }
    const code = await oauth.codes.issue(
      {
        clientId: req.client.id,
        userId: session.userId,
        browserSessionId: session.sessionId,
        redirectUri: req.redirectUri,
        codeChallenge: req.codeChallenge,
        scope: req.scope,
        audience: req.audience,
        nonce: req.nonce,
        authTime: session.authTime,
        idp: session.idp,
        amr: session.amr,
      },
      requestMeta(request),
    );
    request.log.info({ event: 'oauth_code_issued', clientId: req.client.id, userId: session.userId }, 'code issued');
    return redirect(reply, responseUrl(req.redirectUri, config.issuer, { code, state: req.state }));
  }

  app.get(
    '/authorize',
    {
      schema: {
        summary: 'OAuth 2.1 authorization endpoint (response_type=code, PKCE S256): sign in, consent, redirect',
        querystring: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const resolved = await resolve(request, reply, request.query, true);
      return resolved ? authorize(request, reply, resolved) : badRequestUri(reply);
    },
  );

  app.post(
    '/authorize',
    {
      schema: {
        summary: 'The authorization endpoint with its parameters in a form body (OIDC Core §3.1.2.1)',
        body: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const resolved = await resolve(request, reply, request.body, true);
      return resolved ? authorize(request, reply, resolved) : badRequestUri(reply);
    },
  );

  app.post(
    '/authorize/login',
    {
      config: limited ? { rateLimit: limited } : {},
      schema: {
        summary: 'The built-in sign-in page posts here (CSRF token required)',
        body: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!csrfHolds(request, body)) return errorPage(reply, 'csrf_rejected', errorCatalog.csrf_rejected.message, 403);
      const resolved = await resolve(request, reply, body, false);
      if (!resolved) return badRequestUri(reply);
      const checked = await check(request, resolved);
      if (checked.kind !== 'ok') return authorize(request, reply, resolved);
      const email = typeof body.email === 'string' ? body.email : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const again = (
        code: 'invalid_credentials' | 'too_many_requests' | 'email_not_verified' | 'account_disabled',
        status: number,
      ) =>
        loginPage(reply, {
          clientName: checked.request.client.name,
          fields: fieldsOf(resolved, csrfToken(request, reply)),
          email,
          error: errorCatalog[code].message,
          status,
          formTarget: formTargetOf(checked.request.redirectUri),
        });
      const signedIn = await passwordSignIn(services, request, reply, email, password);
      if (signedIn.ok === 'second_step')
        return secondStepPage(reply, {
          clientName: checked.request.client.name,
          fields: { ...fieldsOf(resolved, csrfToken(request, reply)), mfa_token: signedIn.challenge.mfaToken },
          factors: signedIn.challenge.factors,
          action: '/oauth/authorize/mfa',
          formTarget: formTargetOf(checked.request.redirectUri),
        });
      if (!signedIn.ok) return again(signedIn.code, signedIn.status);
      return authorize(request, reply, resolved, { fresh: signedIn.session });
    },
  );

  app.post(
    '/authorize/mfa',
    {
      config: limited ? { rateLimit: limited } : {},
      schema: {
        summary: "The built-in sign-in page's second step posts here (CSRF token required): a code or a recovery code",
        body: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!csrfHolds(request, body)) return errorPage(reply, 'csrf_rejected', errorCatalog.csrf_rejected.message, 403);
      const resolved = await resolve(request, reply, body, false);
      if (!resolved) return badRequestUri(reply);
      const checked = await check(request, resolved);
      if (checked.kind !== 'ok') return authorize(request, reply, resolved);
      const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
      const mfaToken = text('mfa_token');
      const done = await secondStepSignIn(services, request, reply, {
        mfaToken,
        factorId: text('factor_id'),
        code: text('code'),
        recoveryCode: text('recovery_code'),
      });
      if (done.ok) return authorize(request, reply, resolved, { fresh: done.session });
      const formTarget = formTargetOf(checked.request.redirectUri);
      // The challenge is spent (or expired): back to the password.
      if (done.code === 'mfa_token_invalid')
        return loginPage(reply, {
          clientName: checked.request.client.name,
          fields: fieldsOf(resolved, csrfToken(request, reply)),
          email: '',
          error: errorCatalog.mfa_token_invalid.message,
          status: done.status,
          formTarget,
        });
      const factors = await services.mfa.secondStep.challengeFactors(mfaToken);
      return secondStepPage(reply, {
        clientName: checked.request.client.name,
        fields: { ...fieldsOf(resolved, csrfToken(request, reply)), mfa_token: mfaToken },
        factors,
        action: '/oauth/authorize/mfa',
        error: errorCatalog[done.code].message,
        status: done.status,
        formTarget,
      });
    },
  );

  app.post(
    '/authorize/consent',
    {
      schema: {
        summary: 'The built-in consent page posts here (CSRF token required): allow or deny',
        body: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!csrfHolds(request, body)) return errorPage(reply, 'csrf_rejected', errorCatalog.csrf_rejected.message, 403);
      const resolved = await resolve(request, reply, body, false);
      if (!resolved) return badRequestUri(reply);
      const checked = await check(request, resolved);
      if (checked.kind !== 'ok') return authorize(request, reply, resolved);
      const req = checked.request;
      const session = await oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]);
      if (!session) return authorize(request, reply, resolved);
      if (body.decision !== 'allow') return failTo(reply, req, 'access_denied', 'the user denied the request');
      await oauth.consents.remember(session.userId, req.client.id, req.scope, requestMeta(request));
      return authorize(request, reply, resolved, { consented: true });
    },
  );
};

export default authorizeRoutes;

// /oauth/authorize (RFC 6749 §4.1, OAuth 2.1, OIDC Core §3.1.2) and its two built-in pages: sign in, then
// consent. The request is checked first (src/domain/oauth/authorization-request.ts): an unknown client or a
// redirect URI that is not registered gets the error page, never a redirect; every other error goes back to
// the redirect URI with `iss` (RFC 9207). The pages carry the request in hidden fields and re-check it on
// every POST, so nothing is kept server-side between steps; each form carries a CSRF token equal to a
// __Host- SameSite=Strict cookie, and a cross-site POST is refused whatever it carries.
//
// The browser session (src/domain/oauth/browser-sessions.ts) is a Tessera session opened by the password
// here; its __Host- cookie is SameSite=Lax so that a top-level navigation from the app's site carries it.
// The decision path itself (which step comes next, the code) is authorization-flow.ts; the sign-in routes'
// shape is sign-in-steps.ts, shared with the device flow. With LOGIN_UI_URL / CONSENT_UI_URL the browser goes
// to the deployment's own pages instead and comes back to /oauth/authorize/resume (authorization-ui.ts is the
// API those pages' backend calls). HEAD answers nothing and spends nothing (no request_uri, no code).
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
import { errorPage, formTargetOf } from '../http/pages.js';
import { csrfToken } from './page-csrf.js';
import { BROWSER_SESSION_COOKIE, browserSessionOf, remember } from '../http/password-sign-in.js';
import { DomainError } from '../domain/domain-error.js';
import { REQUEST_PARAMS, type AuthorizationRequest } from '../domain/oauth/authorization-request.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import { authorizationFlow, type Resolved } from './authorization-flow.js';
import { signInStepRoutes } from './sign-in-steps.js';
import type { Services } from '../services.js';

const Value = Type.String({ maxLength: 4096 });
const OneOrMore = Type.Union([Value, Type.Array(Value, { maxItems: 10 })]);
// Every parameter may arrive twice (then refused by checkAuthorizationRequest, RFC 6749 §3.1); others are ignored.
const AnyParams = Type.Object(
  Object.fromEntries(
    [
      ...REQUEST_PARAMS,
      'request_uri',
      'ui_challenge',
      'csrf',
      'email',
      'password',
      'decision',
      'mfa_token',
      'factor_id',
      'code',
      'recovery_code',
      // The second-step page's passkey answer (its script): the challenge id, and the answer as JSON text.
      'passkey_challenge_id',
      'passkey_response',
    ].map((name) => [name, Type.Optional(OneOrMore)]),
  ),
  { additionalProperties: OneOrMore },
);
const Html = Type.String({ description: 'An HTML page' });
const pageResponses = {
  200: Html,
  303: Type.Null(),
  400: Html,
  401: Html,
  403: Html,
  404: Html,
  429: Html,
  ...errorResponses,
};

const authorizeRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { oauth, lifecycle, config } = services;
  const flow = authorizationFlow(services);
  const ui = { login: config.authorization.loginUiUrl, consent: config.authorization.consentUiUrl };
  const pageDisabled = (request: FastifyRequest, reply: FastifyReply) => {
    request.log.info({ event: 'authorize_refused', detail: 'built-in page replaced by the UI' }, 'page disabled');
    return errorPage(reply, 'authorization_page_disabled', errorCatalog.authorization_page_disabled.message, 404);
  };

  /** GET and POST /authorize: the request arrives (a pushed one is claimed here, once). */
  async function arrive(request: FastifyRequest, reply: FastifyReply, params: Record<string, unknown>) {
    if (params.request_uri !== undefined) {
      // Claiming spends the request_uri: a document client's metadata must be at hand first.
      if (await flow.documentFirst(request, reply, params.client_id)) return reply;
    }
    const resolved = await flow.resolve(request, reply, params as Resolved['params'], true);
    return resolved ? flow.authorize(request, reply, resolved) : flow.badRequestUri(reply);
  }

  app.get(
    '/authorize',
    {
      // HEAD (a link checker, a prefetch) must not claim a request_uri nor mint a code: answered below, empty.
      exposeHeadRoute: false,
      schema: {
        summary: 'OAuth 2.1 authorization endpoint (response_type=code, PKCE S256): sign in, consent, redirect',
        querystring: AnyParams,
        response: pageResponses,
      },
    },
    async (request, reply) => arrive(request, reply, request.query),
  );

  app.head(
    '/authorize',
    {
      schema: {
        summary: 'HEAD of the authorization endpoint: 200 and no body; spends nothing',
        querystring: AnyParams,
        response: { 200: Type.Null(), ...errorResponses },
      },
    },
    async (_request, reply) => reply.code(200).header('cache-control', 'no-store').send(null),
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
    async (request, reply) => arrive(request, reply, request.body),
  );

  signInStepRoutes<{ resolved: Resolved; req: AuthorizationRequest }>(app, services, {
    base: '/authorize',
    name: 'authorization endpoint',
    body: AnyParams,
    response: pageResponses,
    async begin(request, reply, body) {
      // With the deployment's own login page, the built-in one takes no posts: nobody goes around that page.
      if (ui.login) return { sent: pageDisabled(request, reply) };
      const ready = await flow.proceed(request, reply, body as Resolved['params']);
      return 'sent' in ready ? ready : { ctx: ready };
    },
    frame: (request, reply, { resolved, req }) => ({
      clientName: req.client.name,
      fields: flow.fieldsOf(resolved, csrfToken(request, reply)),
      formTarget: formTargetOf(req.redirectUri),
    }),
    signedIn: (request, reply, { resolved }, session) => flow.authorize(request, reply, resolved, { fresh: session }),
  });

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
      // With the deployment's own consent page, the built-in one takes no posts: nobody goes around that page.
      if (ui.consent) return pageDisabled(request, reply);
      const ready = await flow.proceed(request, reply, request.body);
      if ('sent' in ready) return ready.sent;
      const { resolved, req } = ready;
      const session = resolved.session ?? (await oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]));
      if (!session) return flow.authorize(request, reply, resolved);
      if (request.body.decision !== 'allow')
        return flow.failTo(reply, req, 'access_denied', 'the user denied the request');
      await oauth.consents.remember(session.userId, req.client.id, req.scope, requestMeta(request));
      return flow.authorize(request, reply, { ...resolved, session }, { consented: true });
    },
  );

  app.get(
    '/authorize/resume',
    {
      schema: {
        summary:
          'The browser comes back here from LOGIN_UI_URL / CONSENT_UI_URL (the redirect_to of /oauth/ui): the decision applied, once',
        querystring: Type.Object(
          // The verifier is checked with the challenge: a return without it gets the same error page.
          { challenge: Type.String({ maxLength: 64 }), verifier: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: true },
        ),
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const key = flow.returningKey(request);
      // Completing spends the challenge: a document client's metadata must be at hand first (read only when
      // metadata documents are on: otherwise every client is registered and nothing is fetched).
      const clientId =
        key && services.clientDocuments ? await oauth.uiChallenges.clientOf(request.query.challenge, key) : null;
      if (await flow.documentFirst(request, reply, clientId)) return reply;
      const done = key
        ? await oauth.uiChallenges.complete(request.query.challenge, key, request.query.verifier ?? '')
        : null;
      if (!done) {
        request.log.info({ event: 'authorize_refused', detail: 'challenge not completable' }, 'challenge refused');
        return errorPage(
          reply,
          'authorization_challenge_invalid',
          errorCatalog.authorization_challenge_invalid.message,
        );
      }
      const resolved: Resolved = {
        params: done.params,
        carrier: { ui_challenge: request.query.challenge },
        pushed: done.pushed,
        since: done.completedAt,
        session: null,
      };
      const checked = await flow.check(request, resolved);
      if (checked.kind !== 'ok') return flow.authorize(request, reply, resolved);
      const req = checked.request;
      if (!done.accepted) {
        request.log.info({ event: 'authorize_ui_rejected', clientId: req.client.id }, 'the external UI rejected');
        return flow.failTo(
          reply,
          req,
          done.error ?? 'access_denied',
          done.errorDescription ?? 'the request was rejected',
        );
      }
      if (done.kind === 'consent') {
        const session = done.sessionId ? await oauth.browserSessions.live(done.sessionId) : null;
        if (!session) return flow.authorize(request, reply, resolved);
        if (done.remember)
          await oauth.consents.remember(session.userId, req.client.id, req.scope, requestMeta(request));
        return flow.authorize(request, reply, { ...resolved, session }, { consented: true });
      }
      let fresh: BrowserSession;
      try {
        const issued = await lifecycle.start(
          done.subject!,
          { kind: 'login_ui', clientId: done.decidedBy, amr: done.amr },
          requestMeta(request),
        );
        fresh = browserSessionOf(issued);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        request.log.info({ event: 'login_failed', code: err.code }, 'external sign-in refused');
        return flow.failTo(reply, req, 'access_denied', 'the account cannot sign in');
      }
      request.log.info({ event: 'login_ok', userId: fresh.userId, sessionId: fresh.sessionId }, 'external sign-in');
      await oauth.uiChallenges.attachSession(request.query.challenge, fresh.sessionId);
      if (done.remember) remember(services, reply, fresh);
      return flow.authorize(request, reply, { ...resolved, session: fresh }, { fresh });
    },
  );
};

export default authorizeRoutes;

// Sign in with a provider: thin HTTP adapters over src/domain/federation/. The start and callback are
// browser navigations, so their failures are too: once a valid return_to is known, every error is a 302
// back to it with ?error=<code> (a code from the catalog), never a JSON page the user would be stuck on.
// Only a start that can't name a safe place to go back to (unknown provider, return_to not allowed)
// answers JSON, since redirecting there would be an open redirect.
//
// An account with a second factor gets no session from the callback: the redirect to return_to carries the mfa
// challenge in the URL's fragment, `#mfa_required=true&mfa_token=…&factors=<factor_id>:<type>,…`. A fragment
// is never sent to a server (so no access log, proxy or Referer header sees it); the token is single use and
// lives 5 minutes. The SPA reads it, clears it from the address bar (history.replaceState) and completes the
// sign-in with POST /auth/mfa/verify, as after a password.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { DomainError } from '../domain/domain-error.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { toAppError } from '../plugins/error-handler.js';
import { requestMeta } from '../http/request-meta.js';
import { otherSchemeOf, setRefreshCookie } from '../http/refresh-cookie.js';
import { clearFlowCookie, readFlowCookie, setFlowCookie } from '../http/oauth-flow-cookie.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import { PASSWORD_MAX } from '../domain/accounts/passwords.js';
import { setFirstPassword } from '../domain/federation/first-password.js';
import type { Services } from '../services.js';
import type { Challenge } from '../domain/mfa/second-step.js';
import { noStore } from '../http/no-store.js';

const ProviderParams = Type.Object({ provider: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }) });
const StartQuery = Type.Object(
  { return_to: Type.Optional(Type.String({ maxLength: 2048 })) },
  { additionalProperties: false },
);
// What a provider sends back varies (code, state, iss, error, error_description, session_state, scope…).
// The usual ones are named (for the OpenAPI document, which can't describe a bare record); others pass as strings.
const QueryValue = Type.String({ maxLength: 4096 });
const CallbackQuery = Type.Object(
  Object.fromEntries(
    ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state', 'scope'].map((k) => [
      k,
      Type.Optional(QueryValue),
    ]),
  ),
  { additionalProperties: QueryValue },
);
const Redirect = Type.Null({ description: 'A redirect (Location header)' });
const IdentityBody = Type.Object({
  id: Type.String({ format: 'uuid' }),
  provider: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  created: Type.String({ format: 'date-time' }),
  last_used: Type.String({ format: 'date-time' }),
});

/** return_to with the mfa challenge in its fragment (never its query: a fragment never leaves the browser). */
function withChallenge(returnTo: string, mfa: Challenge): string {
  const url = new URL(returnTo);
  const fragment = new URLSearchParams({
    mfa_required: 'true',
    mfa_token: mfa.mfaToken,
    factors: mfa.factors.map((f) => `${f.id}:${f.type}`).join(','),
  });
  url.hash = fragment.toString();
  return url.href;
}

const federationRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { federation, accessTokens, accounts, clock } = services;
  const { cookieDomain } = services.config;
  const requireBearer = bearerAuth(accessTokens, accounts);
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};

  app.addHook('onSend', noStore);

  /** Back to the SPA with ?error=<code>; the detail goes to the log only. */
  function failTo(request: FastifyRequest, reply: FastifyReply, returnTo: string, err: unknown) {
    const error = toAppError(err as Error);
    const level = error.statusCode >= 500 && !(err instanceof DomainError) ? 'error' : 'info';
    request.log[level](
      { event: 'federated_login_failed', code: error.code, err: { message: error.message } },
      'sign-in with provider failed',
    );
    const url = new URL(returnTo);
    url.searchParams.set('error', error.code);
    return reply.redirect(url.href, 302);
  }

  app.get(
    '/providers',
    {
      schema: {
        summary: "The identity providers users can sign in with (for the SPA's buttons)",
        response: {
          200: Type.Object({
            providers: Type.Array(
              Type.Object({ id: Type.String(), name: Type.String(), type: Type.String(), start_url: Type.String() }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      providers: federation.providers.map((p) => ({
        id: p.id,
        name: p.name,
        type: p.type,
        start_url: `${services.config.issuer}/auth/oauth/${p.id}/start`,
      })),
    }),
  );

  app.get(
    '/oauth/:provider/start',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Start a sign-in: a redirect to the provider (a navigation, not a fetch)',
        params: ProviderParams,
        querystring: StartQuery,
        response: { 302: Redirect, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const returnTo = federation.allowedReturnTo(request.query.return_to);
      // Unknown provider or a return_to we may not send anyone to: JSON, nothing to redirect to.
      if (!federation.providers.some((p) => p.id === provider))
        throw new AppError('not_found', { detail: `unknown provider ${provider}` });
      if (!returnTo) throw new AppError('return_to_invalid');
      try {
        const { url, flowKey } = await federation.start(provider, returnTo);
        setFlowCookie(reply, flowKey);
        return reply.redirect(url, 302);
      } catch (err) {
        return failTo(request, reply, returnTo, err);
      }
    },
  );

  app.get(
    '/oauth/:provider/callback',
    {
      config: { ...rateLimit },
      schema: {
        summary:
          'Where the provider sends the browser back: checks, then a Tessera session and a redirect to return_to',
        params: ProviderParams,
        querystring: CallbackQuery,
        response: { 302: Redirect, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      const flow = await federation.takeFlow(readFlowCookie(request), provider);
      clearFlowCookie(reply);
      if (!flow) {
        // Missing, forged, expired or already used: we don't know where this browser came from.
        const fallback = federation.fallbackReturnTo;
        const err = new DomainError('oauth_state_invalid', { detail: 'no sign-in in progress for this browser' });
        if (!fallback) throw err;
        return failTo(request, reply, fallback, err);
      }
      const meta = requestMeta(request);
      // The URL as the provider redirected to it: our public redirect URI plus the query it added.
      const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const callbackUrl = new URL(`${federation.redirectUri(provider)}${search}`);
      try {
        const done = await federation.finish(flow, callbackUrl, meta);
        if (done.mfa) {
          request.log.info(
            { event: 'login_mfa_required', provider, userId: done.userId },
            'sign-in with provider: second factor required',
          );
          return reply.redirect(withChallenge(done.returnTo, done.mfa), 302);
        }
        if (done.session) {
          setRefreshCookie(
            reply,
            done.session.refreshToken,
            done.session.refreshExpiresAt,
            clock.now(),
            cookieDomain,
            otherSchemeOf(request, cookieDomain),
          );
          request.log.info(
            {
              event: 'federated_login',
              provider,
              userId: done.userId,
              sessionId: done.session.sessionId,
              resolution: done.resolution,
            },
            'sign-in with provider',
          );
        } else {
          request.log.info({ event: 'identity_linked', provider, userId: done.userId }, 'identity linked');
        }
        return reply.redirect(done.returnTo, 302);
      } catch (err) {
        return failTo(request, reply, flow.returnTo, err);
      }
    },
  );

  app.post(
    '/oauth/:provider/link',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary:
          'Link a provider to the signed-in user (recent login needed): sets the flow cookie, returns the URL to navigate to',
        params: ProviderParams,
        body: Type.Object({ return_to: Type.String({ maxLength: 2048 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ authorization_url: Type.String() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      // A recent sign-in, and a recent second factor when the account has one (one rule, recent-auth.ts).
      await services.mfa.recentAuth.recent(user.id, claims);
      const { url, flowKey } = await federation.start(request.params.provider, request.body.return_to, {
        userId: user.id,
        sessionId: claims.sid,
      });
      setFlowCookie(reply, flowKey);
      return { authorization_url: url };
    },
  );

  app.get(
    '/identities',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'The providers linked to the signed-in user',
        response: { 200: Type.Object({ identities: Type.Array(IdentityBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await federation.identities.list(request.bearer!.user.id);
      return {
        identities: rows.map((r) => ({
          id: r.id,
          provider: r.provider,
          email: r.email,
          created: r.createdAt.toISOString(),
          last_used: r.lastUsedAt.toISOString(),
        })),
      };
    },
  );

  app.delete(
    '/identities/:id',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Unlink a provider (never the last way to log in)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await federation.identities.unlink(request.bearer!.user.id, request.params.id, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/password/first',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary:
          'Set a first password on an account made through a provider (recent login needed, with the second factor of an account that has one)',
        body: Type.Object(
          { new_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 }) },
          { additionalProperties: false },
        ),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      // A recent sign-in, with a second factor when the account has one.
      await services.mfa.recentAuth.recent(user.id, claims);
      await setFirstPassword(
        services.database.prisma,
        services.passwords,
        clock,
        { userId: user.id, sessionId: claims.sid },
        request.body.new_password,
        requestMeta(request),
      );
      request.log.info({ event: 'password_set', userId: user.id }, 'first password set');
      return reply.code(204).send(null);
    },
  );
};

export default federationRoutes;

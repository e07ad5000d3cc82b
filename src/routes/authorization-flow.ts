// The one decision path of /oauth/authorize, shared by its routes (authorize.ts) and the external UI's API
// (authorization-ui.ts): where the request comes from (resolve), whether it holds (check), then sign-in, consent
// and the code (authorize). Every page POST starts with the same preamble (proceed): the CSRF token, the request
// read again, checked again.
//
// Where a request comes from, and how the next page carries it on:
//   its parameters        in the hidden fields (the browser holds nothing it could not have sent itself)
//   a pushed request      its request_uri (RFC 9126), claimed once at the endpoint, then read back by that browser
//   the external UI       its challenge id (src/domain/oauth/ui-challenges.ts), completed once by that browser
// A pushed request's prompt and max_age are the pushed ones, never the form's: a sign-in after the request was
// claimed (or its challenge completed) is what satisfies prompt=login and max_age.
//
// With LOGIN_UI_URL / CONSENT_UI_URL set, the sign-in and consent steps open a challenge and send the browser to
// the deployment's page instead of drawing Tessera's own; the browser comes back to /oauth/authorize/resume.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../errors.js';
import { requestMeta } from '../http/request-meta.js';
import { consentPage, errorPage, formTargetOf, loginPage } from '../http/pages.js';
import { BROWSER_SESSION_COOKIE } from '../http/password-sign-in.js';
import { csrfHolds, csrfToken } from './page-csrf.js';
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
import type { OAuthClient } from '../domain/oauth/clients.js';
import { browserKeyOf } from '../domain/oauth/pushed-requests.js';
import { flowKeyOf, type ChallengeKind } from '../domain/oauth/ui-challenges.js';
import type { Services } from '../services.js';

/** The browser's key for the external UI's challenges: SameSite=Lax, so it comes back from the UI's site. */
const FLOW_COOKIE = '__Host-tessera_flow';
const COOKIE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A request as the pages see it. */
export interface Resolved {
  params: Params;
  /** What the pages carry instead of the parameters; null: the parameters themselves. */
  carrier: { request_uri: string } | { ui_challenge: string } | null;
  /** Whether it arrived through /oauth/par. */
  pushed: boolean;
  /** When Tessera took the request over: a sign-in since then satisfies prompt=login and max_age. */
  since: Date | null;
  /** The session the external login page started for this request (its cookie kept only when remembered). */
  session: BrowserSession | null;
}

/** Why an https client_id's metadata document cannot be had: refused, or its fetches limited for now. */
type DocumentProblem = { kind: 'document'; detail: string } | { kind: 'document_limited'; retryAfter: number };

/** `fresh`: the user has just signed in; `consented`: has just allowed. */
export interface Step {
  fresh?: BrowserSession;
  consented?: boolean;
}

const plain = (params: Params): Resolved => ({ params, carrier: null, pushed: false, since: null, session: null });

export function authorizationFlow(services: Services) {
  const { config, oauthClients, oauth, clock, clientDocuments } = services;
  /** The metadata-document client a request has already resolved (documentOf). */
  const fetchedFor = new WeakMap<FastifyRequest, { client: OAuthClient }>();
  const ownOrigin = new URL(config.issuer).origin;
  const resourceRegistry = { fallback: config.audience, registered: config.resources };
  const ui = { login: config.authorization.loginUiUrl, consent: config.authorization.consentUiUrl };

  const redirect = (reply: FastifyReply, url: string) => reply.code(303).header('location', url).send(null);
  const failTo = (reply: FastifyReply, req: AuthorizationRequest, error: string, description: string) =>
    redirect(
      reply,
      responseUrl(req.redirectUri, config.issuer, { error, error_description: description, state: req.state }),
    );
  const badRequestUri = (reply: FastifyReply) =>
    errorPage(reply, 'invalid_request_uri', errorCatalog.invalid_request_uri.message);

  /** This browser's flow key (its cookie set now when it has none). */
  function flowKey(request: FastifyRequest, reply: FastifyReply): string {
    let cookie = request.cookies[FLOW_COOKIE];
    if (!cookie || !COOKIE_SHAPE.test(cookie)) {
      cookie = randomBytes(32).toString('base64url');
      reply.setCookie(FLOW_COOKIE, cookie, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
      request.cookies[FLOW_COOKIE] = cookie;
    }
    return flowKeyOf(cookie);
  }

  /** The key of the browser as it comes back: null when it has no flow cookie (then it is not the one). */
  const returningKey = (request: FastifyRequest) => {
    const cookie = request.cookies[FLOW_COOKIE];
    return cookie && COOKIE_SHAPE.test(cookie) ? flowKeyOf(cookie) : null;
  };

  /** The request's own parameters (or what stands for them), for the hidden fields of the next page. */
  function fieldsOf(resolved: Resolved, csrf: string, drop: string[] = []): Record<string, string> {
    const { params, carrier } = resolved;
    if (carrier) return { csrf, client_id: String(params.client_id ?? ''), ...carrier };
    const out: Record<string, string> = { csrf };
    for (const name of REQUEST_PARAMS) {
      const v = params[name];
      if (typeof v === 'string' && !drop.includes(name)) out[name] = v;
    }
    // After a fresh sign-in, prompt=login and max_age are satisfied: the next page must not ask again.
    if (drop.includes('prompt') && typeof params.prompt === 'string') {
      const rest = params.prompt.split(' ').filter((p) => p !== 'login');
      if (rest.length) out.prompt = rest.join(' ');
    }
    return out;
  }

  /**
   * The request's parameters. A pushed one (request_uri) is claimed at the endpoint (`claim`: once, for this
   * browser) and read again on the pages' POSTs by that browser only; a challenge back from the external UI
   * likewise. null: the request_uri or challenge is no good.
   */
  async function resolve(
    request: FastifyRequest,
    reply: FastifyReply,
    raw: Params,
    claim: boolean,
  ): Promise<Resolved | null> {
    if (!claim && typeof raw.ui_challenge === 'string') {
      const key = returningKey(request);
      const done = key ? await oauth.uiChallenges.resume(raw.ui_challenge, key) : null;
      if (!done) return null;
      const session = done.sessionId ? await oauth.browserSessions.live(done.sessionId) : null;
      return {
        params: done.params,
        carrier: { ui_challenge: raw.ui_challenge },
        pushed: done.pushed,
        since: done.completedAt,
        session,
      };
    }
    if (raw.request_uri === undefined) return plain(raw);
    const { request_uri: uri, client_id: id } = raw;
    if (typeof uri !== 'string' || typeof id !== 'string') return null;
    const key = browserKeyOf(csrfToken(request, reply));
    const stored = claim ? await oauth.pushed.claim(uri, id, key) : await oauth.pushed.resume(uri, id, key);
    if (!stored) {
      request.log.info({ event: 'authorize_refused', detail: 'request_uri not claimable' }, 'request_uri refused');
      return null;
    }
    return {
      params: stored.params,
      carrier: { request_uri: uri },
      pushed: true,
      since: stored.claimedAt,
      session: null,
    };
  }

  /** The page for a metadata document that cannot be had: refused, or its fetches limited for now. */
  function documentPage(request: FastifyRequest, reply: FastifyReply, problem: DocumentProblem) {
    if (problem.kind === 'document') {
      request.log.info(
        { event: 'client_document_refused', detail: problem.detail },
        'client metadata document refused',
      );
      return errorPage(
        reply,
        'client_metadata_document_refused',
        errorCatalog.client_metadata_document_refused.message,
      );
    }
    // Fetching documents is limited per address and per host (src/domain/oauth/document-fetch-limits.ts).
    request.log.warn({ event: 'client_document_limited', ip: request.ip }, 'client metadata document fetch limited');
    reply.header('retry-after', String(problem.retryAfter));
    return errorPage(reply, 'too_many_requests', errorCatalog.too_many_requests.message, 429);
  }

  /**
   * An https client_id's client, from its metadata document (fetched if the copy is stale), or why not now. Kept
   * for the rest of the request once had: documentFirst's fetch is the one the request's check uses, even when
   * the document may not be cached at all (CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS=0 and max-age=0).
   */
  async function documentOf(request: FastifyRequest, id: string): Promise<{ client: OAuthClient } | DocumentProblem> {
    const had = fetchedFor.get(request);
    if (had?.client.id === id) return had;
    const found = await clientDocuments!.resolve(id, requestMeta(request));
    if ('client' in found) fetchedFor.set(request, found);
    if ('refused' in found) return { kind: 'document', detail: found.refused };
    if ('limited' in found) return { kind: 'document_limited', retryAfter: found.limited };
    return found;
  }

  /**
   * Before a one-time thing is spent on a request (a pushed request_uri claimed, an external UI's challenge
   * completed): the metadata document of the client it names, fetched now if its copy is stale. A document that
   * cannot be had now (its host failing, fetches limited) is answered with its page here, spending nothing, so the
   * browser's retry still finds the request. false: go on (the copy is fresh now, or the client is registered).
   * (A boolean, not the reply: an async function's reply, a thenable, would resolve to nothing once sent.)
   */
  async function documentFirst(request: FastifyRequest, reply: FastifyReply, clientId: unknown): Promise<boolean> {
    if (typeof clientId !== 'string' || !clientDocuments?.handles(clientId)) return false;
    const found = await documentOf(request, clientId);
    if ('client' in found) return false;
    documentPage(request, reply, found);
    return true;
  }

  /** The request checked, or (an https client_id) why its metadata document was refused. */
  async function check(request: FastifyRequest, { params, pushed }: Resolved): Promise<Checked | DocumentProblem> {
    const id = params.client_id;
    let client = null;
    if (typeof id === 'string' && clientDocuments?.handles(id)) {
      const found = await documentOf(request, id);
      if (!('client' in found)) return found;
      client = found.client;
    } else client = typeof id === 'string' ? await oauthClients.get(id) : null;
    return checkAuthorizationRequest(params, client, resourceRegistry, {
      pushed,
      requirePushed: config.authorization.requirePushedRequests,
    });
  }

  /** acr_values asks for more than the session's sign-in gave, and the account has a factor to give it. */
  async function belowRequestedLevel(session: BrowserSession, wanted: Acr | null): Promise<boolean> {
    if (wanted === null || acrOf(storedAmr(session.amr, session.idp)) >= wanted) return false;
    return (await services.mfa.secondStep.factorsOf(session.userId)).length > 0;
  }

  /** Hands the step to the deployment's own page: a challenge for this browser, and the browser sent there. */
  async function toExternalUi(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: ChallengeKind,
    url: string,
    resolved: Resolved,
    req: AuthorizationRequest,
    session: BrowserSession | null,
  ) {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(resolved.params)) if (typeof v === 'string') params[k] = v;
    if (kind === 'consent') {
      // Consent is asked only once the sign-in satisfied prompt=login and max_age (just checked): coming back
      // from the consent page must not ask for them again, or the user would go round login and consent forever.
      delete params.max_age;
      const rest = (params.prompt ?? '').split(' ').filter((p) => p && p !== 'login');
      if (rest.length) params.prompt = rest.join(' ');
      else delete params.prompt;
    }
    const challenge = await oauth.uiChallenges.open({
      kind,
      clientId: req.client.id,
      params,
      pushed: resolved.pushed,
      browserKey: flowKey(request, reply),
      userId: session?.userId ?? null,
      sessionId: session?.sessionId ?? null,
    });
    request.log.info({ event: 'authorize_external_ui', kind, clientId: req.client.id }, 'sent to the external UI');
    const target = new URL(url);
    target.searchParams.set(`${kind}_challenge`, challenge);
    return redirect(reply, target.href);
  }

  /** The endpoint's one decision path: check the request, then sign-in, then consent, then the code. */
  async function authorize(request: FastifyRequest, reply: FastifyReply, resolved: Resolved, step: Step = {}) {
    const checked = await check(request, resolved);
    if (checked.kind === 'document' || checked.kind === 'document_limited')
      return documentPage(request, reply, checked);
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
    const session =
      step.fresh ?? resolved.session ?? (await oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]));
    // Signed in since Tessera took the request over: what prompt=login and max_age ask for is done.
    const justSignedIn =
      !!step.fresh || (!!session && resolved.since !== null && session.authTime.getTime() >= resolved.since.getTime());
    const now = clock.now().getTime();
    const tooOld =
      session && req.maxAge !== null && (req.maxAge === 0 || now - session.authTime.getTime() > req.maxAge * 1000);
    const tooWeak = session && !justSignedIn && (await belowRequestedLevel(session, req.acr));
    if (!session || (!justSignedIn && (req.prompt.has('login') || tooOld || tooWeak))) {
      if (req.prompt.has('none')) return failTo(reply, req, 'login_required', 'the user is not signed in');
      if (ui.login) return toExternalUi(request, reply, 'login', ui.login, resolved, req, session);
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
      if (ui.consent) return toExternalUi(request, reply, 'consent', ui.consent, resolved, req, session);
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
    if (code === null) {
      request.log.info({ event: 'authorize_refused', detail: 'request already completed' }, 'request completed');
      return errorPage(reply, 'authorization_request_completed', errorCatalog.authorization_request_completed.message);
    }
    request.log.info({ event: 'oauth_code_issued', clientId: req.client.id, userId: session.userId }, 'code issued');
    return redirect(reply, responseUrl(req.redirectUri, config.issuer, { code, state: req.state }));
  }

  /**
   * The preamble of every page POST: the CSRF token, the request read back and checked again. Either the request
   * to go on with, or the reply already sent (the CSRF refusal, the error page, the error redirect).
   */
  async function proceed(
    request: FastifyRequest,
    reply: FastifyReply,
    body: Params,
  ): Promise<{ sent: FastifyReply } | { resolved: Resolved; req: AuthorizationRequest }> {
    if (!csrfHolds(request, ownOrigin, body.csrf))
      return { sent: errorPage(reply, 'csrf_rejected', errorCatalog.csrf_rejected.message, 403) };
    const resolved = await resolve(request, reply, body, false);
    if (!resolved) return { sent: badRequestUri(reply) };
    const checked = await check(request, resolved);
    if (checked.kind !== 'ok') return { sent: await authorize(request, reply, resolved) };
    return { resolved, req: checked.request };
  }

  return { authorize, badRequestUri, check, documentFirst, failTo, fieldsOf, proceed, resolve, returningKey };
}

// Sign in with a provider, from start to session: the one place that orders the steps. The HTTP edge
// (src/routes/federation.ts) only carries the cookie and turns outcomes into redirects.
//
//   start:  provider known? return_to on an allowed origin? → authorization request (openid-client) →
//           flow stored server-side → the browser gets the flow's key and the provider's URL
//   finish: flow taken by its key (once) → provider checks (openid-client) → identity resolved under the
//           linking policy (identities.ts) → a Tessera session, started exactly as a password login's; or,
//           for an account with a second factor, the mfa challenge instead (src/domain/mfa/second-step.ts),
//           which the SPA completes with POST /auth/mfa/verify
import type { RequestMeta } from '../audit.js';
import { DomainError } from '../domain-error.js';
import type { Challenge, SecondStep } from '../mfa/second-step.js';
import type { IssuedSession, SessionLifecycle } from '../sessions/session-lifecycle.js';
import type { Flow, LinkRequest, OAuthFlows } from './flows.js';
import type { Identities, Resolution } from './identities.js';
import { OidcProvider } from './oidc.js';
import { GithubProvider } from './github.js';
import type { ProviderSettings } from './providers.js';
import type { UpstreamProvider } from './upstream.js';

export interface FederationSettings {
  /** Tessera's public origin (ISSUER): redirect URIs hang off it. */
  issuer: string;
  providers: ProviderSettings[];
  returnToOrigins: string[];
}

export interface Finished {
  returnTo: string;
  resolution: Resolution;
  /** The new session, unless this was a signed-in user linking an identity or a second step is due. */
  session: IssuedSession | null;
  /** The account has a second factor: no session yet, the SPA completes the sign-in with this challenge. */
  mfa?: Challenge;
  userId: string;
}

export class Federation {
  private readonly upstream: Map<string, UpstreamProvider>;
  private readonly allowedOrigins: Set<string>;

  constructor(
    private readonly settings: FederationSettings,
    private readonly flows: OAuthFlows,
    readonly identities: Identities,
    private readonly lifecycle: SessionLifecycle,
    private readonly secondStep: Pick<SecondStep, 'challenge'>,
    makeUpstream: (p: ProviderSettings) => UpstreamProvider = defaultUpstream,
  ) {
    this.upstream = new Map(settings.providers.map((p) => [p.id, makeUpstream(p)]));
    this.allowedOrigins = new Set(settings.returnToOrigins);
  }

  get providers(): ProviderSettings[] {
    return this.settings.providers;
  }

  redirectUri(providerId: string): string {
    return `${this.settings.issuer}/auth/oauth/${providerId}/callback`;
  }

  /** The URL itself when it is an absolute http(s) URL on an allowed origin; else null. */
  allowedReturnTo(value: string | undefined): string | null {
    if (!value) return null;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return null;
    }
    if (!/^https?:$/.test(url.protocol) || url.username || url.password || !this.allowedOrigins.has(url.origin))
      return null;
    return url.href;
  }

  /** Where a flow that can't be found goes back to: the first allowed origin, if any. */
  get fallbackReturnTo(): string | null {
    const [first] = this.allowedOrigins;
    return first ? `${first}/` : null;
  }

  private provider(id: string): UpstreamProvider {
    const p = this.upstream.get(id);
    if (!p) throw new DomainError('not_found', { detail: `unknown provider ${id}` });
    return p;
  }

  /** Begins a sign-in (or, with `link`, a link). Returns the provider's URL and the flow's cookie key. */
  async start(
    providerId: string,
    rawReturnTo: string | undefined,
    link: LinkRequest | null = null,
  ): Promise<{ url: string; flowKey: string }> {
    const provider = this.provider(providerId);
    const returnTo = this.allowedReturnTo(rawReturnTo);
    if (!returnTo) throw new DomainError('return_to_invalid');
    const { url, secrets } = await provider.authorizationRequest(this.redirectUri(providerId));
    const flowKey = await this.flows.create({ provider: providerId, returnTo, link, ...secrets });
    return { url, flowKey };
  }

  /** Takes the flow of this cookie key; null when there is none (missing, forged, expired, used). */
  async takeFlow(flowKey: string | undefined, providerId: string): Promise<Flow | null> {
    const flow = flowKey ? await this.flows.consume(flowKey) : null;
    if (!flow || flow.provider !== providerId) return null;
    return flow;
  }

  /** Completes a sign-in whose flow `takeFlow` returned. Throws DomainError with the code for ?error=. */
  async finish(flow: Flow, callbackUrl: URL, meta: RequestMeta): Promise<Finished> {
    const provider = this.provider(flow.provider);
    let userId: string;
    let resolution: Resolution;
    try {
      const profile = await provider.complete(callbackUrl, this.redirectUri(flow.provider), flow);
      ({ userId, resolution } = await this.identities.resolve(provider.settings, profile, flow.link, meta));
    } catch (err) {
      if (err instanceof DomainError) await this.identities.refused(flow.provider, err.code, meta);
      throw err;
    }
    if (flow.link) return { returnTo: flow.returnTo, resolution, session: null, userId };
    const mfa = await this.secondStep.challenge(userId, { kind: 'provider', idp: flow.provider });
    if (mfa) return { returnTo: flow.returnTo, resolution, session: null, userId, mfa };
    const session = await this.lifecycle.start(userId, { kind: 'provider', idp: flow.provider }, meta);
    return { returnTo: flow.returnTo, resolution, session, userId };
  }
}

function defaultUpstream(settings: ProviderSettings): UpstreamProvider {
  return settings.type === 'github' ? new GithubProvider(settings) : new OidcProvider(settings);
}

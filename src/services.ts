// The domain services an app instance runs with, built in one step at boot and handed to the routes: nothing
// is set on them afterwards (the email flows too are built here, when EMAIL_FLOWS is on).
import { availableParallelism } from 'node:os';
import type { Config } from './config.js';
import type { Database } from './db/open.js';
import { AccessTokens } from './domain/tokens/access-tokens.js';
import { Accounts } from './domain/accounts/accounts.js';
import type { Clock } from './domain/clock.js';
import type { KeyStore } from './domain/keys/keys.js';
import type { MacKeyRing } from './domain/keys/refresh-keys.js';
import { RefreshTokens } from './domain/sessions/refresh-tokens.js';
import type { ThrottleStore } from './domain/accounts/login-throttle.js';
import { PasswordHasher } from './domain/accounts/passwords.js';
import { hashSlots, setHashSlots, threadPoolSize } from './domain/accounts/hash-slots.js';
import { SessionLifecycle } from './domain/sessions/session-lifecycle.js';
import { ServiceClients, parseClientEntry } from './domain/tokens/service-clients.js';
import { Sessions } from './domain/sessions/sessions.js';
import { AuditRetention } from './domain/audit-retention.js';
import { AccountDeletion } from './domain/accounts/account-deletion.js';
import { TokenIntrospection } from './domain/tokens/token-introspection.js';
import { AccountAdmin } from './domain/authz/account-admin.js';
import { ClientAssertions } from './domain/authz/client-assertions.js';
import { ClientTokens } from './domain/tokens/client-tokens.js';
import { ClientTokenRevocations } from './domain/tokens/client-token-revocations.js';
import { Directory } from './domain/authz/directory.js';
import { Roles } from './domain/authz/roles.js';
import { createRecoveryServices, type RecoveryServices } from './recovery-services.js';
import type { SendLimitStore } from './domain/mail/send-limit.js';
import { Federation } from './domain/federation/federation.js';
import { OAuthFlows } from './domain/federation/flows.js';
import { Identities } from './domain/federation/identities.js';
import { ClientDocuments } from './domain/oauth/client-documents.js';
import { fetchClientDocument, type FetchOptions } from './domain/oauth/client-document-fetch.js';
import { DocumentFailures } from './domain/oauth/document-failures.js';
import { DocumentFetchLimits } from './domain/oauth/document-fetch-limits.js';
import { OAuthClients } from './domain/oauth/clients.js';
import { AuthorizationCodes } from './domain/oauth/authorization-codes.js';
import { GrantTokens } from './domain/oauth/grant-tokens.js';
import { Consents } from './domain/oauth/consents.js';
import { BrowserSessions } from './domain/oauth/browser-sessions.js';
import { DynamicRegistrations } from './domain/oauth/dynamic-registration.js';
import { SecretBox } from './domain/mfa/secret-box.js';
import { MfaNotices } from './domain/mfa/notices.js';
import { Factors } from './domain/mfa/factors.js';
import { RecoveryCodes } from './domain/mfa/recovery-codes.js';
import { hasFactorSql, SecondStep } from './domain/mfa/second-step.js';
import { FailureBudget } from './domain/mfa/failure-budget.js';
import { MfaRolePolicy } from './domain/mfa/role-policy.js';
import { FactorReset } from './domain/mfa/factor-reset.js';
import { StepUps } from './domain/mfa/step-up.js';
import { RecentAuth } from './domain/accounts/recent-auth.js';
import { PasskeyChallenges } from './domain/passkeys/challenges.js';
import { Passkeys } from './domain/passkeys/passkeys.js';
import { PasskeyAssertions } from './domain/passkeys/passkey-assertion.js';

/** Passkeys (src/domain/passkeys/), when WEBAUTHN_RP_ID is set. */
interface PasskeyServices {
  challenges: PasskeyChallenges;
  /** Register, list, rename, remove. */
  registry: Passkeys;
  /** Sign in with one, or check one as a second factor (verifyForUser). */
  assertions: PasskeyAssertions;
}
import { ApiKeys } from './domain/api-keys/api-keys.js';
import { ApiKeyUse } from './domain/api-keys/api-key-use.js';
import { DeviceCodes } from './domain/oauth/device-codes.js';
import { DeviceGuesses } from './domain/oauth/device-guesses.js';
import { PushedRequests } from './domain/oauth/pushed-requests.js';
import { UiChallenges } from './domain/oauth/ui-challenges.js';

/** The authorization server (src/domain/oauth/): what its routes and grants need. */
interface OAuthServices {
  codes: AuthorizationCodes;
  tokens: GrantTokens;
  refreshTokens: RefreshTokens;
  lifecycle: SessionLifecycle;
  consents: Consents;
  browserSessions: BrowserSessions;
  /** The device authorization grant (RFC 8628): its codes, and the limit on guessing user codes. */
  devices: DeviceCodes;
  deviceGuesses: DeviceGuesses;
  /** Pushed authorization requests (RFC 9126): kept at /oauth/par, claimed once at /oauth/authorize. */
  pushed: PushedRequests;
  /** The external login and consent pages' challenges (LOGIN_UI_URL / CONSENT_UI_URL). */
  uiChallenges: UiChallenges;
}
import { TokenIssuer } from './domain/tokens/token-issuer.js';
import { WebhookEndpoints } from './domain/webhooks/endpoints.js';
import { WebhookDeliveries } from './domain/webhooks/deliveries.js';
import { ClientAuthentication } from './domain/authz/client-authentication.js';
import { ClientCache } from './domain/authz/client-cache.js';
import { clientIsAt } from './domain/sessions/client-version.js';
import { GrantRegistry } from './domain/grants/registry.js';
import type { GrantServices } from './domain/grants/grant.js';

export interface Services {
  config: Config;
  clock: Clock;
  database: Database;
  keys: KeyStore;
  /** The MAC keys of refresh tokens, re-read with the signing keys. */
  refreshKeys: MacKeyRing;
  passwords: PasswordHasher;
  accounts: Accounts;
  /** Verifies user access tokens. */
  accessTokens: AccessTokens;
  /** The one step that turns a session or a client into tokens (and decides their claims). */
  tokenIssuer: TokenIssuer;
  /** Start, refresh and end sessions (src/domain/sessions/session-lifecycle.ts). */
  lifecycle: SessionLifecycle;
  sessions: Sessions;
  auditRetention: AuditRetention;
  accountDeletion: AccountDeletion;
  introspection: TokenIntrospection;
  serviceClients: ServiceClients;
  // Who may do what (src/domain/authz/).
  roles: Roles;
  accountAdmin: AccountAdmin;
  directory: Directory;
  clientTokens: ClientTokens;
  clientAssertions: ClientAssertions;
  /** Which client calls an OAuth endpoint: one step for the token endpoint, introspection and revocation. */
  clientAuthentication: ClientAuthentication;
  /** The grant types /oauth/token answers (src/domain/grants/registry.ts), and what they are given. */
  grants: GrantRegistry;
  grantServices: GrantServices;
  /** The email flows, when EMAIL_FLOWS is on (src/recovery-services.ts). */
  recovery?: RecoveryServices | undefined;
  /** Sign in with an identity provider (IDENTITY_PROVIDERS_FILE). */
  federation: Federation;
  /** OAuth clients registered in the database (src/domain/oauth/). */
  oauthClients: OAuthClients;
  oauth: OAuthServices;
  /** Clients named by an https client_id and its metadata document; undefined unless CLIENT_ID_METADATA_DOCUMENTS=true. */
  clientDocuments: ClientDocuments | undefined;
  /** RFC 7591 registration by anyone (routes only when DYNAMIC_REGISTRATION=true; the purge always). */
  dynamicRegistrations: DynamicRegistrations;
  /** Passkeys, when WEBAUTHN_RP_ID is set (src/config-webauthn.ts). */
  passkeys?: PasskeyServices | undefined;
  /** API keys: managing them, and using them (the token exchange, introspection). */
  apiKeys: ApiKeys;
  apiKeyUse: ApiKeyUse;
  /** Second factors (src/domain/mfa/): factors, recovery codes, and the second step of a sign-in. */
  mfa: MfaServices;
  /** Webhooks for auth events (src/domain/webhooks/): endpoints and their delivery outbox. */
  webhooks: { endpoints: WebhookEndpoints; deliveries: WebhookDeliveries };
}

interface MfaServices {
  factors: Factors;
  recoveryCodes: RecoveryCodes;
  secondStep: SecondStep;
  /** MFA_REQUIRED_ROLES, checked by adminAuth; and an admin's reset of a user's factors. */
  rolePolicy: MfaRolePolicy;
  reset: FactorReset;
  /** POST /auth/step-up (RFC 9470). */
  stepUps: StepUps;
  /** "Recent enough" for sensitive acts: a recent second factor when the account has one. */
  recentAuth: RecentAuth;
}

/** Where the per-instance or shared (Redis) counters live. */
export interface Stores {
  throttle: ThrottleStore;
  sendLimit: SendLimitStore;
}

export async function createServices(
  config: Config,
  clock: Clock,
  database: Database,
  keys: KeyStore,
  refreshKeys: MacKeyRing,
  stores: Stores,
  /** The HMAC key of API keys' stored hashes (src/domain/keys/api-key-pepper.ts). */
  apiKeyPepper: Buffer,
  /** How client metadata documents are fetched: tests allow their loopback fixture and trust its CA. */
  documentFetch: FetchOptions = {},
): Promise<Services> {
  const passwords = new PasswordHasher(config.argon2);
  // libuv reads UV_THREADPOOL_SIZE from the process's own environment, not from Tessera's configuration.
  setHashSlots(
    hashSlots({
      cores: availableParallelism(),
      threadPool: threadPoolSize(process.env.UV_THREADPOOL_SIZE),
      processes: config.workers,
    }),
  );
  // Whether a user (u.id) has a second factor: read with the account at login, checked again as its session starts.
  const hasSecondFactor = hasFactorSql('u.id', config.webauthn !== undefined);
  const accounts = new Accounts(database.prisma, database.sql, passwords, clock, stores.throttle, hasSecondFactor);
  const recovery = config.mail.enabled
    ? await createRecoveryServices({ config, clock, database, passwords, accounts }, stores.sendLimit)
    : undefined;
  const accessTokens = new AccessTokens(
    keys,
    { issuer: config.issuer, audience: config.audience, ttlSeconds: config.accessTokenTtl },
    clock,
  );
  const tokenIssuer = new TokenIssuer(
    keys,
    database.sql,
    {
      issuer: config.issuer,
      audience: config.audience,
      clientId: config.clientId,
      ttlSeconds: config.accessTokenTtl,
      stepUpMaxAgeSeconds: config.stepUpMaxAgeSeconds,
    },
    clock,
  );
  const refreshTokens = new RefreshTokens(refreshKeys);
  const lifecycle = new SessionLifecycle(
    database.prisma,
    database.sql,
    refreshTokens,
    {
      refreshTokenTtlSeconds: config.refreshTokenTtl,
      reuseGraceSeconds: config.refreshReuseGrace,
      sessionMaxAgeSeconds: config.sessionMaxAge,
      sessionIdleSeconds: config.sessionIdle,
    },
    clock,
    hasSecondFactor,
    // Reuse ending a session emails its owner (SECURITY_NOTICES), written in the same transaction.
    recovery && config.mail.securityNotices ? recovery.notices.onRefreshReuse : undefined,
  );
  const serviceClients = new ServiceClients(config.serviceClients.map(parseClientEntry));
  const roles = new Roles(database.prisma, clock);
  const clientRevocations = new ClientTokenRevocations(database.prisma, database.sql, clock);
  const clientTokens = new ClientTokens(
    keys,
    { issuer: config.issuer, ttlSeconds: config.accessTokenTtl },
    clock,
    clientRevocations,
  );
  const clientAssertions = new ClientAssertions(
    database.prisma,
    serviceClients,
    // The issuer, and the endpoints a client authenticates at (token, introspection, revocation).
    [config.issuer, ...['token', 'introspect', 'revoke'].map((e) => `${config.issuer}/oauth/${e}`)],
    clock,
  );
  const sessionLimits = {
    refreshTokenTtlSeconds: config.refreshTokenTtl,
    sessionMaxAgeSeconds: config.sessionMaxAge,
    sessionIdleSeconds: config.sessionIdle,
  };
  const oauthClients = new OAuthClients(database.prisma, clock);
  const clientDocuments = config.clientDocuments.enabled
    ? new ClientDocuments(
        {
          db: database.prisma,
          sql: database.sql,
          clients: oauthClients,
          fetch: (url) => fetchClientDocument(url, documentFetch),
          limits: new DocumentFetchLimits(
            database.sql,
            { perAddress: config.clientDocuments.fetchesPerAddress, perHost: config.clientDocuments.fetchesPerHost },
            clock,
          ),
          failures: new DocumentFailures(config.clientDocuments.failureSeconds),
          clock,
        },
        {
          scopes: config.clientDocuments.scopes,
          minSeconds: config.clientDocuments.cacheMinSeconds,
          maxSeconds: config.clientDocuments.cacheMaxSeconds,
          ttlDays: config.clientDocuments.ttlDays,
        },
      )
    : undefined;
  const oauth: OAuthServices = {
    codes: new AuthorizationCodes(
      database.prisma,
      database.sql,
      { ...sessionLimits, accessTokenTtlSeconds: config.accessTokenTtl },
      clock,
    ),
    tokens: new GrantTokens(
      keys,
      { issuer: config.issuer, ttlSeconds: config.accessTokenTtl, idTokenTtlSeconds: config.accessTokenTtl },
      clock,
    ),
    refreshTokens,
    lifecycle,
    consents: new Consents(database.prisma, database.sql, clock),
    browserSessions: new BrowserSessions(refreshKeys, database.sql, clock),
    devices: new DeviceCodes(database.sql, { ...sessionLimits, accessTokenTtlSeconds: config.accessTokenTtl }, clock),
    deviceGuesses: new DeviceGuesses(database.sql, clock),
    pushed: new PushedRequests(database.sql, clock),
    uiChallenges: new UiChallenges(database.sql, clock),
  };
  // Second factors: their secrets are sealed with a key in KEYS_DIR, made at the first boot.
  const { box } = await SecretBox.open(config.keysDir);
  const mfaNotices = new MfaNotices(recovery && config.mail.securityNotices ? recovery.templates : null);
  const factors = new Factors(database.prisma, database.sql, box, mfaNotices, config.mail.productName, clock);
  const recoveryCodes = new RecoveryCodes(database.prisma, database.sql, mfaNotices, clock);
  // One failure budget per account for every second factor (a refused usernameless passkey counts per address).
  const budget = new FailureBudget(database.prisma, database.sql, mfaNotices, clock);
  const passkeys = passkeyServices(config, clock, database, recovery);
  const secondStep = new SecondStep(
    database.prisma,
    database.sql,
    factors,
    recoveryCodes,
    lifecycle,
    budget,
    clock,
    passkeys?.assertions,
  );
  const mfa: MfaServices = {
    factors,
    recoveryCodes,
    secondStep,
    stepUps: new StepUps(secondStep, recoveryCodes, lifecycle),
    recentAuth: new RecentAuth((userId) => secondStep.hasFactor(userId), clock, config.recentLoginSeconds),
    rolePolicy: new MfaRolePolicy(
      config.mfaRequiredRoles,
      (userId) => secondStep.hasFactor(userId),
      config.stepUpMaxAgeSeconds,
    ),
    reset: new FactorReset(database.prisma, mfaNotices, clock),
  };
  const apiKeyUse = new ApiKeyUse(database.sql, apiKeyPepper, serviceClients, clock);
  const apiKeys = new ApiKeys(
    database.prisma,
    apiKeyPepper,
    serviceClients,
    { defaultTtlSeconds: config.apiKeys.defaultTtlSeconds, maxTtlSeconds: config.apiKeys.maxTtlSeconds },
    clock,
    // A reported leak emails the key's owner when email is on.
    recovery ? (to, vars) => recovery.templates.render('api_key_leaked', to, vars) : undefined,
  );
  return {
    passkeys,
    webhooks: {
      // Signing secrets are sealed with the same KEYS_DIR box as second-factor secrets.
      endpoints: new WebhookEndpoints(database.prisma, box, config.webhooks, clock),
      deliveries: new WebhookDeliveries(database.prisma, database.sql, clock),
    },
    apiKeys,
    apiKeyUse,
    recovery,
    mfa,
    config,
    clock,
    oauthClients,
    oauth,
    clientDocuments,
    dynamicRegistrations: new DynamicRegistrations(
      oauthClients,
      database.prisma,
      database.sql,
      { scopes: config.dynamicRegistration.scopes, ttlDays: config.dynamicRegistration.ttlDays },
      clock,
    ),
    database,
    keys,
    refreshKeys,
    passwords,
    accounts,
    accessTokens,
    tokenIssuer,
    sessions: new Sessions(database.prisma, lifecycle, clock),
    auditRetention: new AuditRetention(database.prisma, clock, config.auditRetentionDays),
    accountDeletion: new AccountDeletion(database.prisma, clock, config.recentLoginSeconds),
    introspection: new TokenIntrospection(
      database.sql,
      accessTokens,
      refreshTokens,
      lifecycle,
      clock,
      config.issuer,
      { clientTokens, serviceClients, clientRevocations },
      oauth.tokens,
    ),
    serviceClients,
    lifecycle,
    roles,
    accountAdmin: new AccountAdmin(database.prisma, lifecycle, clock),
    directory: new Directory(database.prisma, clock),
    clientTokens,
    clientAssertions,
    // An https client_id is a metadata-document client when they are on (fetched if not fresh), else unknown.
    // Its fetches count against the caller's address, as at the authorization endpoint.
    // The token endpoint may use a short-lived copy of a client; its grants re-check the version (client-cache.ts).
    clientAuthentication: new ClientAuthentication(
      serviceClients,
      clientAssertions,
      undefined,
      (id, ip) =>
        clientDocuments?.handles(id) ? clientDocuments.active(id, { ip, requestId: '' }) : oauthClients.active(id),
      { cache: new ClientCache(clock), isCurrent: (id, version) => clientIsAt(database.sql, { id, version }) },
    ),
    grants: new GrantRegistry(),
    grantServices: {
      issuer: tokenIssuer,
      db: database.prisma,
      oauth: {
        codes: oauth.codes,
        devices: oauth.devices,
        idTokens: oauth.tokens,
        refreshTokens,
        lifecycle,
        resources: { fallback: config.audience, registered: config.resources },
      },
      apiKeys: apiKeyUse,
    },
    federation: new Federation(
      { issuer: config.issuer, providers: config.identityProviders, returnToOrigins: config.returnToOrigins },
      new OAuthFlows(database.prisma, clock),
      new Identities(database.prisma, clock),
      lifecycle,
      mfa.secondStep,
    ),
  };
}

function passkeyServices(
  config: Config,
  clock: Clock,
  database: Database,
  recovery: RecoveryServices | undefined,
): PasskeyServices | undefined {
  if (!config.webauthn) return undefined;
  const challenges = new PasskeyChallenges(database.sql, clock);
  // Adding or removing a passkey emails its owner (SECURITY_NOTICES), written in the same transaction.
  const notice = recovery && config.mail.securityNotices ? recovery.notices.onPasskeyChange : undefined;
  return {
    challenges,
    registry: new Passkeys(database.prisma, challenges, config.webauthn, clock, notice),
    assertions: new PasskeyAssertions(database.prisma, database.sql, challenges, config.webauthn, clock),
  };
}

// Unit tier: one claims contract, four readers. The claims the token issuer writes, the claims
// @tessera/verify returns, the claims introspection answers with and discovery's claims_supported are the
// contract's CLAIM_TYPES, no more and no fewer: a claim added in one place fails here until it is added
// everywhere.
import { ID_TOKEN_CLAIMS } from '../../src/domain/oauth/grant-tokens.js';
import t from 'tap';
import { Value } from 'typebox/value';
import { CLAIM_NAMES, CLAIM_TYPES, claimsProblem } from '@tessera/verify/contract';
import { toClaims } from '../../packages/verify/src/claims.js';
import { clientClaims, sessionClaims, type IssuerSettings } from '../../src/domain/tokens/token-issuer.js';
import { IntrospectionBody } from '../../src/routes/oauth.js';
import { discoveryDocument } from '../../src/routes/well-known.js';

const settings: IssuerSettings = {
  issuer: 'https://auth.example.com',
  audience: ['api'],
  clientId: 'tessera',
  ttlSeconds: 900,
  stepUpMaxAgeSeconds: 900,
};
const now = 1_767_225_600;
const session = {
  userId: '0b8a5c1e-6f1d-4c5e-9a51-2d7c3f1e8b01',
  sessionId: '5d0e3c2b-1a9f-4e7d-8c6b-4a3f2e1d0c9b',
  sessionStartedAt: new Date((now - 60) * 1000),
};
const jti = '9f8e7d6c-5b4a-4f3e-8d2c-1b0a9f8e7d6c';

/** One token of every kind the issuer writes: by provider with roles, by password without, a client's. */
const issued = {
  federated: sessionClaims(
    settings,
    { ...session, idp: 'github' },
    { roles: ['admin'], emailVerified: true },
    now,
    jti,
  ),
  password: sessionClaims(settings, session, { roles: [], emailVerified: false }, now, jti),
  passkey: sessionClaims(settings, { ...session, amr: ['hwk', 'user'] }, { roles: [], emailVerified: true }, now, jti),
  client: clientClaims(settings, { id: 'orders', audience: null, scopes: ['orders:read'] }, now, jti),
};
const sorted = (names: Iterable<string>) => [...names].sort();
const contract = sorted(CLAIM_NAMES);

t.test('the issuer writes exactly the contract’s claims, each of its declared type', async (t) => {
  const written = new Set(Object.values(issued).flatMap((claims) => Object.keys(claims)));
  t.same(sorted(written), contract, 'the union of the claims the issuer writes is the contract');
  for (const [kind, claims] of Object.entries(issued))
    t.equal(claimsProblem({ ...claims }), null, `a ${kind} token has the shape the contract says`);
  t.equal(issued.federated.amr, undefined, 'a provider sign-in carries no amr ("fed" is not an RFC 8176 value)');
  t.equal(issued.federated.idp, 'github', 'and names the provider');
  t.same(issued.password.amr, ['pwd'], 'a password sign-in says amr ["pwd"]');
  t.equal(issued.password.acr, '1', 'a password alone is level "1"');
  t.equal(issued.federated.acr, '1', 'a provider sign-in alone is level "1"');
  const twoFactors = sessionClaims(
    settings,
    { ...session, amr: ['pwd', 'otp', 'mfa'] },
    { roles: [], emailVerified: true },
    now,
    jti,
  );
  t.same(
    twoFactors.amr,
    ['pwd', 'otp', 'mfa'],
    'a session with a second factor states its methods as RFC 8176 strings',
  );
  t.equal(twoFactors.acr, '2', 'and level "2"');
  t.notOk('roles' in issued.password, 'a user without roles gets no roles claim');
  t.equal(issued.password.email_verified, false, 'email_verified is stated even when false');
  t.equal(issued.password.acr, '1', 'a password alone is one factor: acr "1"');
  t.same(issued.passkey.amr, ['hwk', 'user'], 'a passkey that verified the user says amr ["hwk", "user"]');
  t.equal(issued.passkey.acr, '2', 'and, being two factors, acr "2"');
  const presence = sessionClaims(settings, { ...session, amr: ['swk'] }, { roles: [], emailVerified: true }, now, jti);
  t.same(presence.amr, ['swk'], 'a synced passkey without user verification says amr ["swk"]');
  t.equal(presence.acr, '1', 'and is one factor: acr "1"');
});

t.test('@tessera/verify returns every claim the issuer writes, and only the contract’s', async (t) => {
  for (const [kind, claims] of Object.entries(issued))
    t.same(toClaims({ ...claims }), claims, `the verifier returns every claim of a ${kind} token`);
  const extra = toClaims({ ...issued.federated, nonce: 'x', loa: '2' });
  t.same(extra, issued.federated, 'a claim outside the contract is not returned');
  t.match(
    toClaims({ ...issued.federated, email_verified: 'yes' }),
    /email_verified must be a boolean/,
    'a contract claim of the wrong type is refused, naming the claim',
  );
});

t.test('introspection answers with the contract’s claims, in the contract’s types', async (t) => {
  const names = Object.keys(IntrospectionBody.properties).filter((n) => n !== 'active' && n !== 'token_type');
  t.same(sorted(names), contract, 'the introspection response names exactly the contract’s claims');
  for (const [kind, claims] of Object.entries(issued))
    t.ok(
      Value.Check(IntrospectionBody, { active: true, token_type: 'Bearer', ...claims }),
      `the introspection schema lets every claim of a ${kind} token through`,
    );
  t.notOk(
    Value.Check(IntrospectionBody, { active: true, loa: '2' }),
    'a claim outside the contract can’t be serialised by introspection',
  );
});

t.test('discovery’s claims_supported is the contract, plus the ID token’s own claims', async (t) => {
  const doc = discoveryDocument(settings.issuer, {
    grantTypes: ['client_credentials'],
    authMethods: [],
    confidentialAuthMethods: [],
    clientScopes: [],
  });
  t.same(
    sorted(doc.claims_supported),
    sorted([...contract, ...ID_TOKEN_CLAIMS]),
    'discovery lists exactly the contract’s claims and those an ID token adds',
  );
  t.equal(Object.keys(CLAIM_TYPES).length, CLAIM_NAMES.length, 'each claim is listed once');
});

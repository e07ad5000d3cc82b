// The settings of the authorization endpoint's front end, validated at boot with the rest of src/config.ts and
// kept in their own file so the feature reads as one block: whether every client must push its requests first
// (RFC 9126 §5), the look of the built-in pages (src/http/page-theme.ts), set like the mail templates, and the
// deployment's own login and consent pages that replace them (LOGIN_UI_URL / CONSENT_UI_URL).
import { Type, type Static } from 'typebox';

const Flag = Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] });
const COLOR = /^#?([0-9a-fA-F]{6})$/;

/** Spread into the env schema of src/config.ts. */
export const AuthorizationEnvFields = {
  /** RFC 9126 §5: every client must use /oauth/par (a client's registration may require it for itself). */
  REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: Type.Optional(Flag),
  /** The product name the built-in pages show; unset: MAIL_PRODUCT_NAME. */
  PAGES_PRODUCT_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  /** An https URL of the logo shown above the pages; empty: none. */
  PAGES_LOGO_URL: Type.String({ default: '' }),
  /** Six hex digits (a leading # may be given too). */
  PAGES_PRIMARY_COLOR: Type.String({ default: '1e40af' }),
  PAGES_BACKGROUND_COLOR: Type.String({ default: 'f4f4f5' }),
  /** A folder with wording.json and/or style.css replacing parts of the built-in pages; empty: built-in. */
  PAGES_TEMPLATES_DIR: Type.String({ default: '' }),
  /** The deployment's own login page (Hydra's model): gets ?login_challenge=…; empty: the built-in page. */
  LOGIN_UI_URL: Type.String({ default: '' }),
  /** The deployment's own consent page: gets ?consent_challenge=…; empty: the built-in page. */
  CONSENT_UI_URL: Type.String({ default: '' }),
};
const FieldsSchema = Type.Object(AuthorizationEnvFields);
type AuthorizationEnv = Static<typeof FieldsSchema> & { MAIL_PRODUCT_NAME: string; NODE_ENV: string };

/** How the built-in pages look (src/http/page-theme.ts). */
export interface PageThemeSettings {
  productName: string;
  /** An absolute https (or loopback http) URL, or undefined for no logo. */
  logoUrl: string | undefined;
  /** #rrggbb. */
  primaryColor: string;
  backgroundColor: string;
  templatesDir: string | undefined;
}

export interface AuthorizationConfig {
  /** Every authorization request must arrive as a pushed request_uri. */
  requirePushedRequests: boolean;
  /** The built-in pages' product name, logo, colours and wording. */
  pages: PageThemeSettings;
  /** The deployment's own login and consent pages (src/domain/oauth/ui-challenges.ts); undefined: built-in. */
  loginUiUrl: string | undefined;
  consentUiUrl: string | undefined;
}

/** An external page's URL: https, or http on a loopback host outside production; no query to collide with ours. */
function uiUrlProblem(value: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.hash || url.username || url.password) return 'must have no fragment nor credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && !production && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname))
    return null;
  return 'must be https (http only on a loopback host, and not in production)';
}

function logoProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) return null;
  return 'must be https (or http on a loopback host)';
}

export function authorizationConfig(env: AuthorizationEnv, fail: (message: string) => never): AuthorizationConfig {
  for (const name of ['PAGES_PRIMARY_COLOR', 'PAGES_BACKGROUND_COLOR'] as const)
    if (!COLOR.test(env[name])) fail(`invalid configuration: ${name} must be a colour as six hex digits (rrggbb)`);
  const problem = env.PAGES_LOGO_URL ? logoProblem(env.PAGES_LOGO_URL) : null;
  if (problem) fail(`invalid configuration: PAGES_LOGO_URL ${problem}`);
  for (const name of ['LOGIN_UI_URL', 'CONSENT_UI_URL'] as const) {
    const uiProblem = env[name] ? uiUrlProblem(env[name], env.NODE_ENV === 'production') : null;
    if (uiProblem) fail(`invalid configuration: ${name} ${uiProblem}`);
  }
  return {
    requirePushedRequests: env.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS === 'true',
    pages: {
      productName: env.PAGES_PRODUCT_NAME ?? env.MAIL_PRODUCT_NAME,
      logoUrl: env.PAGES_LOGO_URL || undefined,
      primaryColor: `#${COLOR.exec(env.PAGES_PRIMARY_COLOR)![1]}`,
      backgroundColor: `#${COLOR.exec(env.PAGES_BACKGROUND_COLOR)![1]}`,
      templatesDir: env.PAGES_TEMPLATES_DIR || undefined,
    },
    loginUiUrl: env.LOGIN_UI_URL || undefined,
    consentUiUrl: env.CONSENT_UI_URL || undefined,
  };
}

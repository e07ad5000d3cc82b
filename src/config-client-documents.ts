// The settings of OAuth Client ID Metadata Documents (an https client_id whose JSON Tessera fetches: the MCP
// authorization spec's preferred way for a client Tessera has never seen to identify itself), validated at
// boot with the rest of src/config.ts. Off by default: turning it on makes Tessera fetch URLs that anyone
// names, so an operator decides it (the fetch is guarded anyway: src/domain/oauth/client-document-fetch.ts).
import { Type, type Static } from 'typebox';

const Flag = Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] });
const SCOPE = /^[A-Za-z0-9._:/-]{1,64}$/;

/** Spread into the env schema of src/config.ts. */
export const ClientDocumentEnvFields = {
  /** Accept an https URL as client_id and fetch its metadata document: off unless set to true. */
  CLIENT_ID_METADATA_DOCUMENTS: Type.Optional(Flag),
  /** The scopes a metadata-document client may be given (space-separated). */
  CLIENT_ID_METADATA_DOCUMENT_SCOPES: Type.String({ default: 'openid profile email offline_access' }),
  /** Bounds on how long a fetched document is used, whatever its Cache-Control says (seconds). */
  CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }),
  CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS: Type.Integer({ minimum: 0, maximum: 604800, default: 86400 }),
  /** Document fetches one requesting address may cause per 10 minutes, across instances (0 = no limit). */
  CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: Type.Integer({ minimum: 0, maximum: 100000, default: 20 }),
  /** Fetches of one host per 10 minutes, whoever asks, across instances (0 = no limit). */
  CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: Type.Integer({ minimum: 0, maximum: 100000, default: 60 }),
  /** Seconds a refused fetch or document is remembered before the URL is fetched again (0 = not remembered). */
  CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 60 }),
  /** Days a document client not fetched since and holding no live grant is kept before the purge deletes it. */
  CLIENT_ID_METADATA_DOCUMENT_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
};
const FieldsSchema = Type.Object(ClientDocumentEnvFields);
type ClientDocumentEnv = Static<typeof FieldsSchema>;

export interface ClientDocumentConfig {
  clientDocuments: {
    enabled: boolean;
    scopes: string[];
    cacheMinSeconds: number;
    cacheMaxSeconds: number;
    fetchesPerAddress: number;
    fetchesPerHost: number;
    failureSeconds: number;
    ttlDays: number;
  };
}

export function clientDocumentConfig(env: ClientDocumentEnv, fail: (message: string) => never): ClientDocumentConfig {
  const scopes = [...new Set(env.CLIENT_ID_METADATA_DOCUMENT_SCOPES.split(' ').filter(Boolean))];
  if (scopes.length === 0 || !scopes.every((s) => SCOPE.test(s)))
    fail(
      'invalid configuration: CLIENT_ID_METADATA_DOCUMENT_SCOPES takes space-separated scopes of A-Z a-z 0-9 . _ : / -',
    );
  if (env.CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS > env.CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS)
    fail(
      'invalid configuration: CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS must not exceed CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS',
    );
  return {
    clientDocuments: {
      enabled: env.CLIENT_ID_METADATA_DOCUMENTS === 'true',
      scopes,
      cacheMinSeconds: env.CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS,
      cacheMaxSeconds: env.CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS,
      fetchesPerAddress: env.CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS,
      fetchesPerHost: env.CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST,
      failureSeconds: env.CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS,
      ttlDays: env.CLIENT_ID_METADATA_DOCUMENT_TTL_DAYS,
    },
  };
}

// An MCP agent as the official TypeScript SDK builds one: its OAuth client provider kept in memory, whose
// "browser" signs the user in and approves consent (FetchBrowser: the built-in pages over HTTP with their CSRF
// tokens; or real Chromium driven by the keyboard in test/system/mcp-sdk-browser.test.ts), and the
// connect-authorize-reconnect dance the SDK's UnauthorizedError asks of an application.
// Shared by the MCP tests: dynamic registration (mcp-sdk.test.ts), metadata documents, and the browser proof.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { PASSWORD } from './helper.js';

/** Whoever takes the authorization URL to the user: signs in, approves, and returns the redirect it ends at. */
export interface UserAgent {
  authorize(url: URL, email: string, password: string): Promise<string>;
}

/** The SDK's OAuth client provider, kept in memory; the "browser" signs the user in and approves consent. */
export class AgentProvider implements OAuthClientProvider {
  readonly clientMetadata: OAuthClientMetadata;
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** Each authorization URL the SDK sent the user to, and the code the approval gave back. */
  readonly authorizations: URL[] = [];
  code = '';

  constructor(
    private readonly browser: UserAgent,
    private readonly email: string,
    /** An https URL of the client's metadata document: the SDK uses it as client_id when Tessera offers that. */
    readonly clientMetadataUrl?: string,
    /** Where the authorization sends the user back (the agent's loopback listener). */
    readonly redirectUrl = 'http://127.0.0.1/callback',
  ) {
    this.clientMetadata = {
      client_name: 'Test agent',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    const location = new URL(await this.browser.authorize(url, this.email, PASSWORD));
    this.code = location.searchParams.get('code') ?? '';
  }
}

/** Connects a new transport; the first try ends at the authorization step (UnauthorizedError). */
export async function connect(client: Client, resource: string, provider: AgentProvider) {
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  try {
    await client.connect(transport);
    return transport;
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  await transport.finishAuth(provider.code);
  const again = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await client.connect(again);
  return again;
}

export const text = (result: Awaited<ReturnType<Client['callTool']>>) =>
  JSON.parse((result.content as { type: string; text: string }[])[0]!.text) as Record<string, unknown>;

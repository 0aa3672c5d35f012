/**
 * Shared pieces of the Vault test server's own tests: pod tokens from the kubelet simulator's
 * issuer, and one HTTP call helper (plain fetch, as a client would).
 */
import type { JSONWebKeySet } from 'jose';
import { ServiceAccountTokenIssuer, type MintRequest } from '../../../src/cli/kubelet-sim/index.js';
import type { VaultTestServer } from '../../support/vault-server/index.js';

export const POD = { namespace: 'shop', podName: 'web-0', podUid: '2f1c6a43-3a0e-4d69-9a8b-1c2d3e4f5a6b', serviceAccountName: 'web' } as const;

export interface PodTokens {
  readonly issuer: ServiceAccountTokenIssuer;
  readonly jwks: JSONWebKeySet;
  mint(overrides?: Partial<MintRequest>): Promise<string>;
}

export async function podTokens(): Promise<PodTokens> {
  const issuer = await ServiceAccountTokenIssuer.create();
  return {
    issuer,
    jwks: { keys: issuer.jwks().keys.map((key) => ({ ...key })) },
    mint: async (overrides = {}) => (await issuer.mint({ ...POD, audience: 'vault', ...overrides })).token,
  };
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly namespace?: string;
  readonly headers?: Record<string, string>;
}

export interface CallResult {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  readonly body: any;
  readonly headers: Headers;
}

/** One request to `vault.url + path` (path starts with `/v1/`). */
export async function call(vault: VaultTestServer, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['x-vault-token'] = options.token;
  if (options.namespace !== undefined) headers['x-vault-namespace'] = options.namespace;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${vault.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

/** Log in through a Kubernetes or JWT auth mount and return the client token. */
export async function login(vault: VaultTestServer, mount: string, role: string, jwt: string): Promise<string> {
  const result = await call(vault, 'POST', `/v1/auth/${mount}/login`, { body: { role, jwt } });
  if (result.status !== 200) throw new Error(`login failed: ${result.status} ${JSON.stringify(result.body)}`);
  return (result.body as { auth: { client_token: string } }).auth.client_token;
}

/** Vault's multi-error text for the token check's failures. */
export const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';
export const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';

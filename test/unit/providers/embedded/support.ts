/**
 * Shared test fixtures for the embedded provider: a token issuer that mints real RS256 service-
 * account tokens in Kubernetes' claim layout, its JWKS as a file and over loopback HTTP, and
 * temporary stores. Not a test file itself.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { FetchRequest, PodIdentity, ServiceAccountToken, TokenSet } from '../../../../src/providers/provider.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export const BILLING: PodIdentity = {
  namespace: 'payments',
  podName: 'billing-7d9f8c6b5-x2kqp',
  podUid: '9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10',
  serviceAccountName: 'billing',
};

export const REPORTING: PodIdentity = {
  namespace: 'payments',
  podName: 'reporting-5c8d7f9b4-q8wzn',
  podUid: '1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9',
  serviceAccountName: 'reporting',
};

export interface MintOptions {
  readonly identity?: PodIdentity;
  readonly audience?: string | string[];
  readonly issuer?: string;
  /** Seconds relative to now. */
  readonly issuedAt?: number;
  readonly lifetime?: number;
  /** Override or remove (undefined) individual claims. */
  readonly claims?: Record<string, unknown>;
}

/** A key pair that signs tokens like an API server does (RS256, kid in the header). */
export class TokenIssuer {
  private constructor(
    private readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    readonly jwk: JWK,
  ) {}

  static async create(kid = 'test-key-1'): Promise<TokenIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return new TokenIssuer(privateKey, jwk);
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  /** A token with exactly the claims kubelet's tokenRequests produce. */
  async mint(options: MintOptions = {}): Promise<string> {
    const identity = options.identity ?? BILLING;
    const iat = Math.floor(Date.now() / 1000) + (options.issuedAt ?? 0);
    const claims: Record<string, unknown> = {
      'kubernetes.io': {
        namespace: identity.namespace,
        pod: { name: identity.podName, uid: identity.podUid },
        serviceaccount: { name: identity.serviceAccountName, uid: '5eb6ec8b-b08e-46e2-b1b4-3c60f0e8ee69' },
      },
      iss: options.issuer ?? ISSUER,
      sub: `system:serviceaccount:${identity.namespace}:${identity.serviceAccountName}`,
      aud: Array.isArray(options.audience) ? options.audience : [options.audience ?? 'credmount'],
      iat,
      nbf: iat,
      exp: iat + (options.lifetime ?? 3600),
      ...options.claims,
    };
    for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: this.jwk.kid }).sign(this.privateKey);
  }
}

/** The pod's token set as kubelet would hand it over. */
export function tokenSet(token: string, audience = 'credmount'): TokenSet {
  const entry: ServiceAccountToken = { audience, token, expiresAt: new Date(Date.now() + 3_600_000), serviceAccountUid: '' };
  return new Map([[audience, entry]]);
}

export function fetchRequest<P>(parameters: P, tokens: TokenSet, identity: PodIdentity = BILLING, now = new Date()): FetchRequest<P> {
  // volumeId: the embedded provider keeps no per-volume state; any id will do.
  return { volumeId: 'csi-test', identity, tokens, parameters, previousVersions: undefined, now, signal: new AbortController().signal };
}

/** A temporary directory removed by the returned cleanup. */
export async function tempDir(prefix = 'credmount-embedded-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Write files (relative path → content) under a directory, creating parents. */
export async function writeFiles(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

export const DEFAULT_POLICY = `
rules:
  - namespace: payments
    serviceAccount: billing
    secrets: ["payments/*"]
    certificates: true
    maxCertificateTtl: 1h
  - namespace: payments
    serviceAccount: reporting
    secrets: ["payments/reports/**"]
`;

/** A store with a few secrets and DEFAULT_POLICY (or the given policy). */
export async function createStore(root: string, policy = DEFAULT_POLICY): Promise<string> {
  const storeDir = join(root, 'store');
  await writeFiles(storeDir, {
    'policy.yaml': policy,
    'secrets/payments/db-password': 's3cr3t-db-password',
    'secrets/payments/api-key': 'api-key-value',
    'secrets/payments/reports/q1/summary': 'q1-summary',
    'secrets/other/db-password': 'other-team-password',
  });
  return storeDir;
}

/** Serve a JWKS on 127.0.0.1; `requests` counts hits. */
export async function serveJwks(jwks: unknown): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests += 1;
    if (request.url !== '/openid/v1/jwks') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/openid/v1/jwks`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback URL nothing listens on (a server is bound, its port noted, then closed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${address.port}/openid/v1/jwks`;
}

export function text(content: Uint8Array): string {
  return new TextDecoder().decode(content);
}

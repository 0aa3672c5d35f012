/**
 * The simulator's stand-in for the API server's TokenRequest endpoint: it mints bound
 * service-account tokens with exactly the claim layout of real ones (see
 * test/unit/kubelet/fixtures/), signed RS256 by a key whose public half it publishes as a JWKS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

/** What `kube-apiserver --service-account-issuer` is on most clusters. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** TokenRequest's default expirationSeconds. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const ALG = 'RS256';

export interface TokenIssuerOptions {
  /** `iss` of minted tokens, and the audience of tokens requested for the "" audience. */
  readonly issuer?: string;
  /**
   * A private JWK file. Loaded when it exists; otherwise a new key is generated and written there
   * (mode 0600), so a restarted simulator keeps signing with the key backends already trust.
   */
  readonly keyFile?: string;
  /** Key id for a newly generated key (default: a random UUID, like the fixture's). */
  readonly kid?: string;
}

export interface MintRequest {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly serviceAccountName: string;
  /** Default: a stable UID derived from namespace and name (one service account, one UID). */
  readonly serviceAccountUid?: string;
  /** The TokenRequest audience; "" means the API server's default audience (the issuer). */
  readonly audience: string;
  /** Kubernetes requires ≥ 600 s; the simulator allows less so tests can exercise rotation quickly. */
  readonly ttlSeconds?: number;
  readonly now?: Date;
}

/** A TokenRequest status, as kubelet puts it into the tokens JSON. */
export interface MintedToken {
  readonly token: string;
  /** RFC 3339, UTC, second precision. */
  readonly expirationTimestamp: string;
}

export interface PublicJwk {
  readonly kty: string;
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
}

export interface JsonWebKeySet {
  readonly keys: readonly PublicJwk[];
}

export class ServiceAccountTokenIssuer {
  private constructor(
    readonly issuer: string,
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: PublicJwk,
  ) {}

  /** Generate a key pair, or load it from (or save it to) `options.keyFile`. */
  static async create(options: TokenIssuerOptions = {}): Promise<ServiceAccountTokenIssuer> {
    const issuer = options.issuer ?? DEFAULT_ISSUER;
    const stored = options.keyFile === undefined ? undefined : await readKeyFile(options.keyFile);
    const privateJwk = stored ?? (await generatePrivateJwk(options.kid ?? randomUUID()));
    if (stored === undefined && options.keyFile !== undefined) await writeKeyFile(options.keyFile, privateJwk);

    const kid = privateJwk.kid ?? '';
    const privateKey = (await importJWK(privateJwk, ALG)) as CryptoKey;
    const publicJwk: PublicJwk = { kty: 'RSA', n: privateJwk.n ?? '', e: privateJwk.e ?? '', kid, alg: ALG, use: 'sig' };
    return new ServiceAccountTokenIssuer(issuer, kid, privateKey, publicJwk);
  }

  /**
   * Mint a pod-bound token. Header `{alg, kid}`; claims in the API server's order:
   * `kubernetes.io`, `iss`, `sub`, `aud`, `iat`, `nbf`, `exp`.
   */
  async mint(request: MintRequest): Promise<MintedToken> {
    const ttlSeconds = request.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    const iat = Math.floor((request.now ?? new Date()).getTime() / 1000);
    const exp = iat + ttlSeconds;
    const claims = {
      'kubernetes.io': {
        namespace: request.namespace,
        pod: { name: request.podName, uid: request.podUid },
        serviceaccount: {
          name: request.serviceAccountName,
          uid: request.serviceAccountUid ?? defaultServiceAccountUid(request.namespace, request.serviceAccountName),
        },
      },
      iss: this.issuer,
      sub: `system:serviceaccount:${request.namespace}:${request.serviceAccountName}`,
      // kubelet asks for no audience when the CSIDriver's is ""; the API server then uses its
      // --api-audiences, which default to the issuer.
      aud: [request.audience === '' ? this.issuer : request.audience],
      iat,
      nbf: iat,
      exp,
    };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: ALG, kid: this.kid }).sign(this.privateKey);
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  /** The public key set, as `/openid/v1/jwks` serves it. */
  jwks(): JsonWebKeySet {
    return { keys: [{ ...this.publicJwk }] };
  }
}

/** A UUID-shaped UID that is the same for every token of one service account. */
export function defaultServiceAccountUid(namespace: string, name: string): string {
  const hex = createHash('sha256').update(`serviceaccount/${namespace}/${name}`).digest('hex');
  // Version 4 / RFC 4122 variant bits, so it looks like what the API server assigns.
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function generatePrivateJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' };
}

async function readKeyFile(path: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    // Not the SyntaxError's message: it quotes the file, which is a private key.
    throw new Error(`${path} is not valid JSON`);
  }
  if (jwk.kty !== 'RSA' || typeof jwk.d !== 'string' || typeof jwk.n !== 'string' || typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new Error(`${path} is not a private RSA JWK with a kid`);
  }
  return jwk;
}

/** Write-then-rename so that a crash never leaves a half-written key behind. */
async function writeKeyFile(path: string, jwk: JWK): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}

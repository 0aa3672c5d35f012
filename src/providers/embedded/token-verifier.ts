import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { CredmountError } from '../../errors/credmount-error.js';
import { Errors } from '../../errors/catalogue.js';
import type { PodIdentity } from '../provider.js';
import { FileLoadError, ReloadingFile } from './reloading-file.js';
import { JwksFetchError, parseJwksDocument, REMOTE_JWKS_DEFAULTS, RemoteJwks } from './remote-jwks.js';

/**
 * Verifies a pod's service-account token the way Vault's Kubernetes (JWT) auth method does when
 * it validates tokens locally: signature against the issuer's JWKS, `exp`/`nbf` with a small
 * leeway, the audience, optionally the issuer; then the identity is taken from the *verified*
 * claims only. No message built here ever contains the token.
 */

/** The identity a verified token asserts. */
export interface TokenIdentity {
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly podName: string;
  readonly podUid: string;
}

export interface TokenVerifierOptions {
  /** The issuer's JWKS over HTTP(S), e.g. `https://<apiserver>/openid/v1/jwks`. */
  readonly jwksUrl?: string | undefined;
  /** A local JWKS JSON file; re-read when it changes. */
  readonly jwksFile?: string | undefined;
  /** When set, the `iss` claim must equal it. */
  readonly issuer?: string | undefined;
  /** Leeway for `exp`/`nbf`, in seconds (Vault's default clock_skew_leeway is 60). */
  readonly clockSkewLeewaySeconds: number;
  /** How often, at most, the JWKS file is checked for changes. */
  readonly reloadIntervalMs: number;
  readonly now: () => number;
}

/** Public-key algorithms only: an HMAC "signature" would be checkable by anyone holding the JWKS. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Code for a token the provider refuses to accept (bad signature, expired, wrong audience...). */
export const TOKEN_REJECTED_CODE = Errors.tokenRejected.code;

/** Thrown by our key resolver when the JWKS could not be obtained, to tell it apart from a bad token. */
class JwksUnavailable extends Error {}

export class TokenVerifier {
  private constructor(
    private readonly getKey: JWTVerifyGetKey,
    private readonly jwksSource: string,
    private readonly options: TokenVerifierOptions,
  ) {}

  /** Builds the verifier; a `jwksFile` is read now, so a bad file fails at start-up. */
  static async create(options: TokenVerifierOptions): Promise<TokenVerifier> {
    if (options.jwksUrl !== undefined) {
      const url = new URL(options.jwksUrl);
      // Fetched on the first token, kept 10 min, fetched again at most every 30 s for an unknown kid.
      const remote = new RemoteJwks(url, { ...REMOTE_JWKS_DEFAULTS, now: options.now });
      // Named without any user:password the URL may carry, since the name goes into messages.
      return new TokenVerifier(remote.getKey, `JWKS ${url.origin}${url.pathname}`, options);
    }
    if (options.jwksFile === undefined) throw new Error('TokenVerifier needs jwksUrl or jwksFile');
    const file = new ReloadingFile<JWTVerifyGetKey>({
      path: options.jwksFile,
      parse: (content) => createLocalJWKSet(parseJwks(content)),
      intervalMs: options.reloadIntervalMs,
      now: options.now,
    });
    await file.get();
    const getKey: JWTVerifyGetKey = async (header, token) => (await file.get())(header, token);
    return new TokenVerifier(getKey, `JWKS file ${options.jwksFile}`, options);
  }

  /**
   * Verify `token` for `audience` at `now` and return the identity it asserts.
   * Throws CredmountError: UNAUTHENTICATED (`CM_TOKEN_REJECTED`) for a token that does not verify,
   * UNAVAILABLE when the JWKS cannot be obtained.
   */
  async verify(token: string, audience: string, now: Date): Promise<TokenIdentity> {
    const reject = (reason: string) => tokenRejected(audience, reason);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.resolveKey, {
        algorithms: ALGORITHMS,
        audience,
        issuer: this.options.issuer,
        currentDate: now,
        clockTolerance: this.options.clockSkewLeewaySeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error: unknown) {
      if (error instanceof JwksUnavailable) throw Errors.backendUnavailable(this.jwksSource, error.message);
      throw reject(describeVerifyFailure(error, audience, this.options.issuer));
    }
    return identityFromClaims(payload, reject);
  }

  /** jose's key lookup, with fetch/read failures marked so they map to UNAVAILABLE, not "bad token". */
  private readonly resolveKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await this.getKey(header, token);
    } catch (error: unknown) {
      // No key for the token's kid: the token is the problem, not the JWKS.
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys || error instanceof joseErrors.JOSENotSupported) throw error;
      throw new JwksUnavailable(describeFetchFailure(error));
    }
  };
}

/** Check that the verified identity is the pod's: PERMISSION_DENIED naming the claim otherwise. */
export function checkTokenIdentity(verified: TokenIdentity, pod: PodIdentity, audience: string): void {
  const pairs: [claim: string, actual: string, expected: string][] = [
    ['kubernetes.io.namespace', verified.namespace, pod.namespace],
    ['kubernetes.io.serviceaccount.name', verified.serviceAccountName, pod.serviceAccountName],
    ['kubernetes.io.pod.name', verified.podName, pod.podName],
    ['kubernetes.io.pod.uid', verified.podUid, pod.podUid],
  ];
  for (const [claim, actual, expected] of pairs) {
    if (actual !== expected) {
      throw Errors.accessDenied(
        `service-account token for audience ${JSON.stringify(audience)}`,
        `its verified claim ${claim} is ${JSON.stringify(actual)} but the pod's is ${JSON.stringify(expected)}`,
      );
    }
  }
}

export function tokenRejected(audience: string, reason: string): CredmountError {
  return Errors.tokenRejected(audience, reason);
}

function parseJwks(content: Buffer): JSONWebKeySet {
  const parsed = parseJwksDocument(content.toString('utf8'));
  if ('problem' in parsed) throw new FileLoadError(parsed.problem);
  return parsed;
}

/** The identity in Kubernetes' claim layout; the `sub` must agree with it. */
function identityFromClaims(payload: JWTPayload, reject: (reason: string) => CredmountError): TokenIdentity {
  const kubernetes = payload['kubernetes.io'];
  const record = (value: unknown): Record<string, unknown> | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
  const claims = record(kubernetes);
  if (claims === undefined) throw reject('it has no kubernetes.io claim (not a Kubernetes service-account token)');
  const text = (value: unknown, claim: string): string => {
    if (typeof value !== 'string' || value === '') throw reject(`claim ${claim} is missing`);
    return value;
  };
  const namespace = text(claims['namespace'], 'kubernetes.io.namespace');
  const serviceAccount = record(claims['serviceaccount']);
  const serviceAccountName = text(serviceAccount?.['name'], 'kubernetes.io.serviceaccount.name');
  const pod = record(claims['pod']);
  // Tokens from kubelet's tokenRequests are always bound to the pod; one that is not was not
  // minted for this volume.
  if (pod === undefined) throw reject('it is not bound to a pod (no kubernetes.io.pod claim)');
  const podName = text(pod['name'], 'kubernetes.io.pod.name');
  const podUid = text(pod['uid'], 'kubernetes.io.pod.uid');
  const expectedSubject = `system:serviceaccount:${namespace}:${serviceAccountName}`;
  if (payload.sub !== expectedSubject) throw reject(`claim sub is ${JSON.stringify(payload.sub)}, which does not match its kubernetes.io claims (${JSON.stringify(expectedSubject)})`);
  return { namespace, serviceAccountName, podName, podUid };
}

/** A reason for a failed verification, from jose's error class only (never its input). */
function describeVerifyFailure(error: unknown, audience: string, issuer: string | undefined): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = error.payload.exp;
    return typeof exp === 'number' ? `it expired at ${new Date(exp * 1000).toISOString()}` : 'it has expired';
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const { claim, reason, payload } = error;
    if (claim === 'aud') return `its audience is ${JSON.stringify(payload.aud ?? null)}, not ${JSON.stringify(audience)}`;
    if (claim === 'iss') return `its issuer is ${JSON.stringify(payload.iss ?? null)}, not ${JSON.stringify(issuer)}`;
    if (claim === 'nbf') return typeof payload.nbf === 'number' ? `it is not valid before ${new Date(payload.nbf * 1000).toISOString()}` : 'its nbf claim is invalid';
    if (reason === 'missing') return `claim ${claim} is missing`;
    return `claim ${claim} is invalid`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify against the issuer keys (JWKS)';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'it was signed by a key that is not in the issuer keys (JWKS)';
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'its signature does not verify against any matching key in the issuer keys (JWKS)';
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) return 'it uses a signature algorithm that is not accepted';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'it is not a well-formed signed JWT';
  return 'it could not be verified';
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof JwksFetchError || error instanceof FileLoadError) return error.message;
  if (error instanceof Error) {
    // Anything else (jose refusing the set's content, say): its message, and its cause's code if any.
    const cause = error.cause;
    const detail = cause instanceof Error ? ('code' in cause && typeof cause.code === 'string' ? cause.code : cause.message) : undefined;
    return detail === undefined ? error.message : `${error.message} (${detail})`;
  }
  return String(error);
}

import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { Errors } from '../errors/catalogue.js';
import type { PodIdentity, ServiceAccountToken } from '../providers/provider.js';
import { RecentResults } from './recent-results.js';
import { formatRfc3339 } from './rfc3339.js';
import type { TokenEntry } from './service-account-tokens.js';

/**
 * Cross-check one of kubelet's service-account tokens against the pod it came with.
 *
 * The driver cannot verify the signature (only the backend, with the cluster's JWKS, can), so
 * this is not authentication. It catches what would otherwise surface as a confusing backend
 * denial, or worse, as credentials fetched for the wrong pod: a token of another pod or service
 * account, one minted for another audience, an expired one, or something that is not a JWT.
 *
 * Order: shape → identity → audience → expiry, so that a token of another identity is reported
 * as such even when it has also expired.
 */
export function checkServiceAccountToken(entry: TokenEntry, identity: PodIdentity, now: Date): ServiceAccountToken {
  const { audience, token } = entry;
  const claims = decodeClaims(entry);

  // 1. Identity: the `kubernetes.io` claims of a pod-bound token (KEP-1855 tokens are always bound to the pod).
  const k8s = objectClaim(claims['kubernetes.io']);
  const pod = objectClaim(k8s?.['pod']);
  const serviceAccount = objectClaim(k8s?.['serviceaccount']);
  const expected: [claim: string, actual: unknown, expected: string][] = [
    ['kubernetes.io.namespace', k8s?.['namespace'], identity.namespace],
    ['kubernetes.io.pod.name', pod?.['name'], identity.podName],
    ['kubernetes.io.pod.uid', pod?.['uid'], identity.podUid],
    ['kubernetes.io.serviceaccount.name', serviceAccount?.['name'], identity.serviceAccountName],
    ['sub', claims.sub, `system:serviceaccount:${identity.namespace}:${identity.serviceAccountName}`],
  ];
  for (const [claim, actual, wanted] of expected) {
    if (typeof actual !== 'string') {
      const hint = claim === 'sub' ? '' : ': it is not a pod-bound service-account token';
      throw Errors.tokenMalformed(audience, `claim ${claim} is missing or not a string${hint}`);
    }
    if (actual !== wanted) throw Errors.tokenIdentityMismatch(audience, claim, wanted, shorten(safe(actual, token)));
  }

  // 2. Audience: kubelet asked for exactly this audience. "" is the API server's own audience
  //    (--api-audiences, by default the issuer), which the driver does not know: not checked.
  if (audience !== '') {
    const audiences = audienceList(claims.aud);
    if (!audiences.includes(audience)) {
      const actual = audiences.length === 0 ? 'absent' : audiences.map((a) => JSON.stringify(shorten(safe(a, token)))).join(', ');
      throw Errors.tokenMalformed(audience, `its aud claim (${actual}) does not include ${JSON.stringify(audience)}`);
    }
  }

  // 3. Expiry: the earlier of the JWT's `exp` and the TokenRequest's expirationTimestamp.
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw Errors.tokenMalformed(audience, 'claim exp is missing or not a number');
  const expiresAt = new Date(Math.min(exp * 1000, entry.expirationTimestamp.getTime()));
  if (expiresAt.getTime() <= now.getTime()) throw Errors.tokenExpired(audience, formatRfc3339(expiresAt));

  const serviceAccountUid = typeof serviceAccount?.['uid'] === 'string' ? serviceAccount['uid'] : '';
  return Object.freeze({ audience, token, expiresAt, serviceAccountUid });
}

/** Decoded claims of the last few hundred tokens: the same JWT comes with every republish. */
const recentClaims = new RecentResults<Readonly<JWTPayload>>(512);

function decodeClaims(entry: TokenEntry): Readonly<JWTPayload> {
  return recentClaims.get(entry.token, () => Object.freeze(decodeClaimsOnce(entry)));
}

/** Decode header and payload without verifying; every failure becomes a token-free CM_TOKEN_MALFORMED. */
function decodeClaimsOnce({ audience, token }: TokenEntry): JWTPayload {
  const segments = token.split('.');
  if (segments.length !== 3) {
    throw Errors.tokenMalformed(audience, `it is not a JWT in compact serialization (expected 3 dot-separated parts, found ${segments.length})`);
  }
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || header.alg === 'none') throw new Error('its header has no signing algorithm ("alg")');
    if (segments[2] === '') throw new Error('it has no signature');
    return decodeJwt(token);
  } catch (error: unknown) {
    // jose's messages are fixed strings; `safe` guarantees it anyway. The cause is dropped on
    // purpose: a JSON SyntaxError quotes the decoded input.
    throw Errors.tokenMalformed(audience, safe(error instanceof Error ? error.message : 'it cannot be decoded', token));
  }
}

/** `aud` is a string or an array of strings (RFC 7519 §4.1.3); anything else counts as no audience. */
function audienceList(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

function objectClaim(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Remove the token, or any long piece of it, from text that goes into an error. */
export function safe(text: string, token: string): string {
  let result = text.split(token).join('[token]');
  for (const segment of token.split('.')) {
    if (segment.length >= 16) result = result.split(segment).join('[token]');
  }
  return result;
}

function shorten(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

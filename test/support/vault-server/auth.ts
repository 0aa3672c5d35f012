/**
 * Login through Kubernetes and JWT auth mounts, step by step as the plugins do it
 * (vault-plugin-auth-kubernetes path_login.go; vault-plugin-auth-jwt path_login.go and claims.go;
 * claim checks from hashicorp/cap jwt.go), with the same messages and status codes:
 *
 * Kubernetes: role → signature (any failure: 403 `permission denied`) → iss (if configured) →
 * `aud` against the role's `audience` → nbf/exp/iat with 60 s skew → service account name →
 * namespace (all 403 with the check's message).
 * JWT: role → signature → iss/sub/aud → times (all 400 `error validating token: …`) → an `aud`
 * with no bound audiences → user claim → bound claims (400).
 *
 * The signature is checked against a JWKS (URL or inline). Real Kubernetes auth takes `pem_keys`
 * or asks the TokenReview API instead; the JWKS stands in for both.
 */
import { compactVerify, createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import type { JwtAuthConfig, JwtRoleOptions, KeySource, KubernetesAuthConfig, KubernetesRoleOptions } from './types.js';
import type { Now } from './time.js';
import type { TokenStore } from './tokens.js';
import { failure, ok, type Reply } from './wire.js';

type GetKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | Uint8Array>;

/** The algorithms both plugins accept by default (RS/ES/PS 256–512; JWT auth also EdDSA). */
const KUBERNETES_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];
const JWT_ALGORITHMS = [...KUBERNETES_ALGORITHMS, 'EdDSA'];
/** go-jose's `DefaultLeeway` and cap's `DefaultLeewaySeconds`. */
const CLOCK_SKEW_SECONDS = 60;
const MISSING_EXP_LEEWAY_SECONDS = 150;

type Claims = Record<string, unknown>;

interface KubernetesMount {
  readonly type: 'kubernetes';
  config: KubernetesAuthConfig | undefined;
  readonly roles: Map<string, KubernetesRoleOptions>;
  keys: GetKey | undefined;
}

interface JwtMount {
  readonly type: 'jwt';
  config: JwtAuthConfig | undefined;
  readonly roles: Map<string, JwtRoleOptions>;
  keys: GetKey | undefined;
}

type AuthMount = KubernetesMount | JwtMount;

export interface AuthDeps {
  readonly now: Now;
  readonly tokens: TokenStore;
  /** Key source for mounts without their own. */
  readonly defaultKeys: KeySource;
}

export class AuthMounts {
  private readonly mounts = new Map<string, AuthMount>();

  constructor(private readonly deps: AuthDeps) {}

  has(mount: string): boolean {
    return this.mounts.has(mount);
  }

  configureKubernetes(mount: string, config: KubernetesAuthConfig): void {
    const entry = this.mount(mount, 'kubernetes');
    entry.config = config;
    entry.keys = undefined;
  }

  configureJwt(mount: string, config: JwtAuthConfig): void {
    const entry = this.mount(mount, 'jwt');
    entry.config = config;
    entry.keys = undefined;
  }

  addKubernetesRole(mount: string, name: string, role: KubernetesRoleOptions): void {
    if (role.boundServiceAccountNames.length === 0 || role.boundServiceAccountNamespaces.length === 0) {
      throw new Error('a Kubernetes role needs bound_service_account_names and bound_service_account_namespaces');
    }
    (this.mount(mount, 'kubernetes') as KubernetesMount).roles.set(name, role);
  }

  addJwtRole(mount: string, name: string, role: JwtRoleOptions): void {
    if (role.userClaim === '') throw new Error('a user claim must be defined on the role');
    (this.mount(mount, 'jwt') as JwtMount).roles.set(name, role);
  }

  /** `POST auth/<mount>/login` with `{role, jwt}`. */
  async login(mountName: string, body: Record<string, unknown>): Promise<Reply> {
    const mount = this.mounts.get(mountName);
    if (mount === undefined) throw new Error(`no auth mount ${mountName}`);
    return mount.type === 'kubernetes' ? this.kubernetesLogin(mountName, mount, body) : this.jwtLogin(mountName, mount, body);
  }

  private async kubernetesLogin(mountName: string, mount: KubernetesMount, body: Record<string, unknown>): Promise<Reply> {
    const roleName = stringField(body, 'role');
    if (roleName === '') return failure(400, 'missing role');
    const jwt = stringField(body, 'jwt');
    if (jwt === '') return failure(400, 'missing jwt');
    const role = mount.roles.get(roleName);
    if (role === undefined) return failure(400, `invalid role name ${JSON.stringify(roleName)}`);
    const keys = this.keysFor(mount);
    if (keys === undefined) return failure(500, 'could not load backend configuration');

    const verified = await verifySignature(jwt, keys, KUBERNETES_ALGORITHMS);
    // path_login.go: any "verifying token signature" failure becomes logical.ErrPermissionDenied.
    if ('failure' in verified) return failure(403, 'permission denied');
    const claims = verified.claims;

    const checked = checkClaims(claims, {
      issuer: mount.config?.issuer,
      subject: undefined,
      audiences: role.audience === undefined || role.audience.trim() === '' ? [] : [role.audience],
      nowMs: this.deps.now(),
      clockSkew: CLOCK_SKEW_SECONDS,
      allowMissingTimes: true,
    });
    if (checked !== undefined) return failure(403, checked);

    const account = serviceAccount(claims);
    const names = role.boundServiceAccountNames;
    if (!(names.length === 1 && names[0] === '*') && !names.some((n) => globMatch(n, account.name))) {
      return failure(403, 'service account name not authorized');
    }
    const namespaces = role.boundServiceAccountNamespaces;
    if (!(namespaces[0] === '*' || namespaces.some((n) => globMatch(n, account.namespace)))) {
      return failure(403, 'namespace not authorized');
    }
    if (account.uid === '') return failure(500, 'could not parse UID from claims');

    const metadata = {
      role: roleName,
      service_account_name: account.name,
      service_account_namespace: account.namespace,
      service_account_secret_name: account.secretName,
      service_account_uid: account.uid,
    };
    return this.issue(mountName, 'kubernetes', role, metadata, `${account.namespace}-${account.name}`, `${mountName}:${account.uid}`);
  }

  private async jwtLogin(mountName: string, mount: JwtMount, body: Record<string, unknown>): Promise<Reply> {
    const keys = this.keysFor(mount);
    if (keys === undefined) return failure(400, 'could not load configuration');
    const roleName = stringField(body, 'role');
    if (roleName === '') return failure(400, 'missing role');
    const role = mount.roles.get(roleName);
    if (role === undefined) return failure(400, `role ${JSON.stringify(roleName)} could not be found`);
    const jwt = stringField(body, 'jwt');
    if (jwt === '') return failure(400, 'missing token');

    const verified = await verifySignature(jwt, keys, JWT_ALGORITHMS);
    if ('failure' in verified) return failure(400, `error validating token: error verifying token signature: ${verified.failure}`);
    const claims = verified.claims;
    const checked = checkClaims(claims, {
      issuer: mount.config?.boundIssuer,
      subject: role.boundSubject,
      audiences: role.boundAudiences ?? [],
      nowMs: this.deps.now(),
      clockSkew: role.clockSkewLeewaySeconds ?? CLOCK_SKEW_SECONDS,
      allowMissingTimes: false,
    });
    if (checked !== undefined) return failure(400, `error validating token: ${checked}`);

    if ((role.boundAudiences ?? []).length === 0) {
      const aud = claims['aud'];
      if ((Array.isArray(aud) && aud.length > 0) || (typeof aud === 'string' && aud !== '')) {
        return failure(400, 'audience claim found in JWT but no audiences bound to the role');
      }
    }

    const user = getClaim(claims, role.userClaim);
    if (user === undefined || user === null) return failure(400, `claim ${JSON.stringify(role.userClaim)} not found in token`);
    if (typeof user !== 'string') return failure(400, `claim ${JSON.stringify(role.userClaim)} could not be converted to string`);

    const metadata: Record<string, string> = {};
    for (const [source, target] of Object.entries(role.claimMappings ?? {})) {
      const value = getClaim(claims, source);
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') return failure(400, `error converting claim '${source}' to string`);
      metadata[target] = value;
    }
    metadata['role'] = roleName;

    const boundError = validateBoundClaims(role.boundClaims ?? {}, role.boundClaimsType === 'glob', claims);
    if (boundError !== undefined) return failure(400, `error validating claims: ${boundError}`);

    return this.issue(mountName, 'jwt', role, metadata, user, `${mountName}:${user}`);
  }

  private issue(mountName: string, mountType: string, role: KubernetesRoleOptions | JwtRoleOptions, metadata: Record<string, string>, alias: string, entityKey: string): Reply {
    const { entry, warnings } = this.deps.tokens.create({
      policies: role.policies ?? [],
      metadata,
      path: `auth/${mountName}/login`,
      displayName: `${mountName}-${alias}`,
      entityKey,
      roleTtl: role.tokenTtlSeconds ?? 0,
      roleMaxTtl: role.tokenMaxTtlSeconds ?? 0,
    });
    return ok({ auth: this.deps.tokens.auth(entry, entry.creationTtl), warnings, mountType });
  }

  private mount(name: string, type: AuthMount['type']): AuthMount {
    let entry = this.mounts.get(name);
    if (entry === undefined) {
      entry = type === 'kubernetes' ? { type, config: undefined, roles: new Map(), keys: undefined } : { type, config: undefined, roles: new Map(), keys: undefined };
      this.mounts.set(name, entry);
    }
    if (entry.type !== type) throw new Error(`auth mount ${name} is of type ${entry.type}, not ${type}`);
    return entry;
  }

  private keysFor(mount: AuthMount): GetKey | undefined {
    if (mount.keys !== undefined) return mount.keys;
    const source = mount.config?.jwksUrl !== undefined || mount.config?.jwks !== undefined ? mount.config : this.deps.defaultKeys;
    if (source?.jwks !== undefined) mount.keys = createLocalJWKSet(source.jwks) as GetKey;
    else if (source?.jwksUrl !== undefined) mount.keys = createRemoteJWKSet(new URL(source.jwksUrl), { cooldownDuration: 0 }) as GetKey;
    return mount.keys;
  }
}

/** Verify the JWS; on failure, say why the way go-oidc's remote key set does. */
async function verifySignature(jwt: string, keys: GetKey, algorithms: string[]): Promise<{ claims: Claims } | { failure: string }> {
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jwt, keys, { algorithms }));
  } catch (error) {
    if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JOSENotSupported) return { failure: `oidc: malformed jwt: ${error.message}` };
    if (error instanceof joseErrors.JOSEAlgNotAllowed) return { failure: 'oidc: id token signed with unsupported algorithm' };
    if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
      return { failure: 'failed to verify id token signature' };
    }
    return { failure: `fetching keys oidc: get keys failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const claims = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { failure: 'oidc: malformed jwt payload: not a JSON object' };
    return { claims: claims as Claims };
  } catch {
    return { failure: 'oidc: malformed jwt payload: not JSON' };
  }
}

interface Expected {
  readonly issuer: string | undefined;
  readonly subject: string | undefined;
  readonly audiences: readonly string[];
  readonly nowMs: number;
  readonly clockSkew: number;
  readonly allowMissingTimes: boolean;
}

/** hashicorp/cap `Validator.validateAll` after the signature: the first failed check's message. */
function checkClaims(claims: Claims, expected: Expected): string | undefined {
  if (expected.issuer !== undefined && expected.issuer !== '' && claims['iss'] !== expected.issuer) return 'invalid issuer (iss) claim';
  if (expected.subject !== undefined && expected.subject !== '' && claims['sub'] !== expected.subject) return 'invalid subject (sub) claim';
  if (expected.audiences.length > 0) {
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : [];
    if (!expected.audiences.some((a) => audiences.includes(a))) return 'invalid audience (aud) claim: audience claim does not match any expected audience';
  }
  const iat = numericDate(claims['iat']);
  let exp = numericDate(claims['exp']);
  let nbf = numericDate(claims['nbf']);
  if (iat === 0 && exp === 0 && nbf === 0) {
    return expected.allowMissingTimes ? undefined : 'no issued at (iat), not before (nbf), or expiration time (exp) claims in token';
  }
  if (exp === 0) exp = Math.max(iat, nbf) + MISSING_EXP_LEEWAY_SECONDS;
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - MISSING_EXP_LEEWAY_SECONDS;
  const now = expected.nowMs / 1000;
  const skew = expected.clockSkew;
  if (now + skew < nbf) return 'invalid not before (nbf) claim: token not yet valid';
  if (now - skew > exp) return 'invalid expiration time (exp) claim: token is expired';
  if (iat !== 0 && now + skew < iat) return 'invalid issued at (iat) claim: token issued in the future';
  return undefined;
}

function numericDate(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The service account in projected (`kubernetes.io` object) or legacy secret-based claims. */
function serviceAccount(claims: Claims): { name: string; namespace: string; uid: string; secretName: string } {
  const projected = claims['kubernetes.io'];
  if (typeof projected === 'object' && projected !== null) {
    const k8s = projected as { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } };
    return {
      name: typeof k8s.serviceaccount?.name === 'string' ? k8s.serviceaccount.name : '',
      namespace: typeof k8s.namespace === 'string' ? k8s.namespace : '',
      uid: typeof k8s.serviceaccount?.uid === 'string' ? k8s.serviceaccount.uid : '',
      secretName: '',
    };
  }
  const str = (key: string): string => (typeof claims[key] === 'string' ? (claims[key] as string) : '');
  return {
    name: str('kubernetes.io/serviceaccount/service-account.name'),
    namespace: str('kubernetes.io/serviceaccount/namespace'),
    uid: str('kubernetes.io/serviceaccount/service-account.uid'),
    secretName: str('kubernetes.io/serviceaccount/secret.name'),
  };
}

/** claims.go `getClaim`: a plain key, or a JSON pointer when it starts with `/`. */
function getClaim(claims: Claims, claim: string): unknown {
  if (!claim.startsWith('/')) return claims[claim];
  let value: unknown = claims;
  for (const raw of claim.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** claims.go `validateBoundClaims`. */
function validateBoundClaims(bound: Readonly<Record<string, string | readonly string[]>>, useGlobs: boolean, claims: Claims): string | undefined {
  for (const [claim, expectedRaw] of Object.entries(bound)) {
    const actual = getClaim(claims, claim);
    if (actual === undefined || actual === null) return `claim ${JSON.stringify(claim)} is missing`;
    const actuals = Array.isArray(actual) ? (actual as unknown[]) : [actual];
    if (!actuals.every((v) => ['string', 'boolean', 'number'].includes(typeof v))) return `received claim is not a string, bool, int or list: ${JSON.stringify(actual)}`;
    const expecteds = typeof expectedRaw === 'string' ? [expectedRaw] : [...expectedRaw];
    const found = expecteds.some((e) => actuals.some((a) => (useGlobs ? typeof a === 'string' && globMatch(e, a) : String(a) === e)));
    if (!found) return `claim ${JSON.stringify(claim)} does not match any associated bound claim values`;
  }
  return undefined;
}

/** ryanuber/go-glob: `*` matches any run of characters. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`).test(value);
}

function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value : '';
}

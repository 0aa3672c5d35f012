import { isAbsolute, join, resolve } from 'node:path';
import { CredmountError } from '../../errors/credmount-error.js';
import { Errors } from '../../errors/catalogue.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, ProvidedFile, Provider } from '../provider.js';
import type { DevCa } from './dev-ca.js';
import { formatDuration } from './duration.js';
import { CA_FILE_NAME, parseEmbeddedParameters, type CertificateObjectSpec, type EmbeddedParameters, type SecretObjectSpec } from './parameters.js';
import { Policy, type PolicyGrants } from './policy.js';
import { ReloadingFile } from './reloading-file.js';
import { storeSecretReader, type StoredSecret } from './secret-reader.js';
import { checkTokenIdentity, TokenVerifier } from './token-verifier.js';

/**
 * The `embedded` provider: the driver's default backend, which needs nothing outside the node.
 * It behaves like a very small Vault — a directory of secret files, a policy keyed by namespace
 * and service account, Kubernetes-JWT authentication against the cluster's JWKS, and a dev CA
 * that signs certificates for keys generated on the node. For demos and development.
 */

export interface EmbeddedProviderOptions {
  /** The store: `secrets/` (the secret files) and `policy.yaml`. */
  readonly storeDir: string;
  /** The token issuer's JWKS URL (e.g. `https://kubernetes.default.svc/openid/v1/jwks`). Exactly one of jwksUrl/jwksFile. */
  readonly jwksUrl?: string | undefined;
  /** A local JWKS JSON file. Exactly one of jwksUrl/jwksFile. */
  readonly jwksFile?: string | undefined;
  /** The token audience volumes use unless they set `audience`. Default `credmount`. */
  readonly audience?: string | undefined;
  /** When set, tokens must carry this `iss`. */
  readonly issuer?: string | undefined;
  /** How long fetched secrets are considered fresh. Default 5 min. */
  readonly refreshIntervalMs?: number | undefined;
  /** Certificate lifetime when a volume does not set `ttl`. Default 5 min. */
  readonly defaultCertificateTtlMs?: number | undefined;
  /** Longest certificate lifetime, whatever the volume or policy says. Default 24 h. */
  readonly maxCertificateTtlMs?: number | undefined;
  /** Leeway for token `exp`/`nbf`. Default 60 s (Vault's clock_skew_leeway). */
  readonly clockSkewLeewayMs?: number | undefined;
  /** How often, at most, policy.yaml (and a JWKS file) are checked for changes. Default 2 s. */
  readonly reloadIntervalMs?: number | undefined;
  /**
   * The provider's own clock: policy reload throttling and the CA's validity. Fetches use
   * `FetchRequest.now`, the clock volumes/ schedules refreshes with.
   */
  readonly now?: (() => Date) | undefined;
}

export const EMBEDDED_PROVIDER_NAME = 'embedded';
export const DEFAULT_AUDIENCE = 'credmount';
const MINUTE_MS = 60_000;
const DEFAULTS = {
  refreshIntervalMs: 5 * MINUTE_MS,
  defaultCertificateTtlMs: 5 * MINUTE_MS,
  maxCertificateTtlMs: 24 * 60 * MINUTE_MS,
  clockSkewLeewayMs: MINUTE_MS,
  reloadIntervalMs: 2_000,
} as const;

/** Code of start-up configuration errors (there is no catalogue entry for them yet). */
export const PROVIDER_CONFIG_INVALID_CODE = Errors.providerConfigInvalid.code;

interface ResolvedOptions {
  readonly storeDir: string;
  readonly audience: string;
  readonly refreshIntervalMs: number;
  readonly defaultCertificateTtlMs: number;
  readonly maxCertificateTtlMs: number;
  readonly now: () => Date;
}

export class EmbeddedProvider implements Provider<EmbeddedParameters> {
  readonly name = EMBEDDED_PROVIDER_NAME;
  private closed = false;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly verifier: TokenVerifier,
    private readonly policy: ReloadingFile<Policy>,
  ) {}

  /**
   * The dev CA and the key code, loaded and made on the first certificate: a node serving only
   * secrets never pays for them.
   */
  private certificateTools: Promise<{ ca: DevCa; keys: typeof import('./key-pair.js') }> | undefined;

  private tools(): Promise<{ ca: DevCa; keys: typeof import('./key-pair.js') }> {
    this.certificateTools ??= (async () => {
      const [{ DevCa: DevCaClass }, keys] = await Promise.all([import('./dev-ca.js'), import('./key-pair.js')]);
      return { ca: await DevCaClass.create({ now: this.options.now() }), keys };
    })();
    // A failure (it should not happen) is not cached: the next certificate tries again.
    this.certificateTools.catch(() => {
      this.certificateTools = undefined;
    });
    return this.certificateTools;
  }

  /** @internal use createEmbeddedProvider */
  static async create(options: EmbeddedProviderOptions): Promise<EmbeddedProvider> {
    const resolved = resolveOptions(options);
    const nowMs = () => resolved.now().getTime();
    const reloadIntervalMs = positive(options.reloadIntervalMs ?? DEFAULTS.reloadIntervalMs, 'reloadIntervalMs', true);
    const policyPath = join(resolved.storeDir, 'policy.yaml');
    const policy = new ReloadingFile<Policy>({
      path: policyPath,
      parse: (content) => Policy.parse(content.toString('utf8')),
      whenMissing: () => Policy.missing(policyPath),
      intervalMs: reloadIntervalMs,
      now: nowMs,
    });
    // A broken policy or JWKS file stops start-up with its reason, rather than every mount later.
    try {
      await policy.get();
    } catch (error: unknown) {
      throw configInvalid('storeDir', `policy: ${describe(error)}`);
    }
    let verifier: TokenVerifier;
    try {
      verifier = await TokenVerifier.create({
        jwksUrl: options.jwksUrl,
        jwksFile: options.jwksFile === undefined ? undefined : resolve(options.jwksFile),
        issuer: options.issuer,
        clockSkewLeewaySeconds: Math.floor(positive(options.clockSkewLeewayMs ?? DEFAULTS.clockSkewLeewayMs, 'clockSkewLeewayMs', true) / 1000),
        reloadIntervalMs,
        now: nowMs,
      });
    } catch (error: unknown) {
      throw configInvalid(options.jwksUrl === undefined ? 'jwksFile' : 'jwksUrl', describe(error));
    }
    return new EmbeddedProvider(resolved, verifier, policy);
  }

  parse(parameters: Readonly<Record<string, string>>, identity: PodIdentity): ParsedParameters<EmbeddedParameters> {
    return parseEmbeddedParameters(parameters, identity, { audience: this.options.audience });
  }

  /**
   * 1. authenticate: verify the token for the volume's audience, then match its claims to the pod;
   * 2. authorise every object against the policy before reading anything;
   * 3. read secrets, issue certificates (new key, dev CA signature) — always a new certificate:
   *    volumes/ calls fetch only when the content is due;
   * 4. versions, refreshAt (earliest of: now + refreshInterval for secrets; 2/3 of each
   *    certificate's remaining life from issuance), expiresAt (earliest certificate NotAfter).
   *
   * Steps 2–4 run while the token's signature is checked (jose verifies through WebCrypto, on
   * the thread pool: 0.2–0.5 ms of waiting per publish), for the pod the kubelet request names.
   * Nothing leaves this method before the verdict: a token that does not verify, or whose
   * verified identity is not that pod's, fails the call whatever steps 2–4 found or made, so a
   * refused pod still learns nothing about what exists, and what was made for it is dropped.
   */
  async fetch(request: FetchRequest<EmbeddedParameters>): Promise<FetchResult> {
    if (this.closed) throw Errors.backendUnavailable('embedded provider', 'it has been closed');
    const { identity, parameters, now, signal } = request;
    signal.throwIfAborted();

    // 1. authenticate: started now, and awaited before anything is returned or refused.
    const token = request.tokens.get(parameters.audience);
    if (token === undefined) throw Errors.tokenAudienceMissing(parameters.audience, [...request.tokens.keys()]);
    const authenticated = this.verifier.verify(token.token, parameters.audience, now).then((verified) => checkTokenIdentity(verified, identity, parameters.audience));
    // Observed now: a verdict that fails while the content steps run is not an unhandled rejection.
    authenticated.catch(() => undefined);
    let content: FetchResult;
    try {
      content = await this.content(request);
    } catch (error: unknown) {
      await authenticated; // a bad token is the answer, not what the content steps ran into
      throw error;
    }
    await authenticated;
    return content;
  }

  /** Steps 2–4 of fetch, for the pod the request names (fetch checks that the token is that pod's). */
  private async content(request: FetchRequest<EmbeddedParameters>): Promise<FetchResult> {
    const { identity, parameters, now, signal } = request;

    // 2. authorise
    let policy: Policy;
    try {
      policy = await this.policy.get();
    } catch (error: unknown) {
      throw Errors.backendUnavailable('embedded store policy', describe(error));
    }
    const grants = policy.grantsFor(identity.namespace, identity.serviceAccountName);
    const who = `service account ${identity.namespace}/${identity.serviceAccountName}`;
    const why = (missing: string) =>
      policy.missingReason ?? (grants.matchedRules === 0 ? `no rule in policy.yaml matches ${who}` : `no rule in policy.yaml for ${who} ${missing}`);
    for (const object of parameters.objects) {
      if (object.kind === 'secret' && !grants.allowsSecret(object.secretPath)) {
        throw Errors.accessDenied(`secret ${JSON.stringify(object.secretPath)} (object ${JSON.stringify(object.objectName)})`, why('allows it'));
      }
      if (object.kind === 'certificate' && !grants.certificates) {
        throw Errors.accessDenied(`certificate object ${JSON.stringify(object.objectName)}`, why('allows certificates'));
      }
    }
    signal.throwIfAborted();

    // 3. content
    const files: ProvidedFile[] = [];
    const versions: Record<string, string> = {};
    const refreshTimes: number[] = [];
    const expiryTimes: number[] = [];
    const secretsDir = join(this.options.storeDir, 'secrets');
    // Certificates are issued concurrently (signing and RSA keys run on the thread pool); secrets
    // are read synchronously meanwhile (secret-reader.ts says why).
    const secretObjects = parameters.objects.filter((o): o is SecretObjectSpec => o.kind === 'secret');
    const certificateObjects = parameters.objects.filter((o): o is CertificateObjectSpec => o.kind === 'certificate');
    const issuing = Promise.all(certificateObjects.map((object) => this.issue(object, grants, now)));
    let secrets: StoredSecret[];
    try {
      const readSecret = storeSecretReader(secretsDir);
      secrets = secretObjects.map((object) => readSecret(object.secretPath));
    } catch (error: unknown) {
      await issuing.catch(() => undefined); // nothing left running, and no unhandled rejection
      throw error;
    }
    const issued = await issuing;
    secretObjects.forEach((object, index) => {
      const secret = secrets[index] as (typeof secrets)[number];
      // A symlink inside the store must not reach a secret the policy would refuse by its real name.
      if (secret.resolvedPath !== object.secretPath && !grants.allowsSecret(secret.resolvedPath)) {
        throw Errors.accessDenied(`secret ${JSON.stringify(object.secretPath)} (object ${JSON.stringify(object.objectName)})`, why(`allows ${JSON.stringify(secret.resolvedPath)}, where it leads`));
      }
      files.push(object.mode === undefined ? { path: object.objectName, content: secret.content } : { path: object.objectName, content: secret.content, mode: object.mode });
      versions[object.objectName] = secret.version;
      refreshTimes.push(now.getTime() + this.options.refreshIntervalMs);
    });
    for (const { object, certificatePem, keyPem, serial, notBefore, notAfter } of issued) {
      const crt = { path: `${object.objectName}.crt`, content: utf8(certificatePem) };
      files.push(object.mode === undefined ? crt : { ...crt, mode: object.mode });
      files.push({ path: `${object.objectName}.key`, content: utf8(keyPem), mode: object.mode ?? 0o600 });
      versions[object.objectName] = serial;
      // 4. renew at two thirds of the certificate's life, like cert-manager's default
      // 2/3 of the lifetime counted from issuance, not from the back-dated NotBefore: with a
      // short TTL the 30 s back-dating would otherwise make a new certificate due at once.
      const issuedAt = Math.max(notBefore.getTime(), now.getTime());
      refreshTimes.push(issuedAt + Math.floor(((notAfter.getTime() - issuedAt) * 2) / 3));
      expiryTimes.push(notAfter.getTime());
    }
    if (issued.length > 0) files.push({ path: CA_FILE_NAME, content: utf8((await this.tools()).ca.certificatePem()) });

    const result: FetchResult = { files, versions, refreshAt: new Date(Math.min(...refreshTimes)) };
    return expiryTimes.length === 0 ? result : { ...result, expiresAt: new Date(Math.min(...expiryTimes)) };
  }

  /** The dev CA's certificate (PEM), as pods receive it in `ca.crt`. */
  async caCertificatePem(): Promise<string> {
    return (await this.tools()).ca.certificatePem();
  }

  async close(): Promise<void> {
    // Nothing holds sockets or timers: jose's remote JWKS fetches on demand. Refuse further use.
    this.closed = true;
  }

  private async issue(object: CertificateObjectSpec, grants: PolicyGrants, now: Date) {
    const ttlMs = Math.min(
      object.ttlMs ?? this.options.defaultCertificateTtlMs,
      grants.maxCertificateTtlMs ?? Number.POSITIVE_INFINITY,
      this.options.maxCertificateTtlMs,
    );
    const { ca, keys } = await this.tools();
    // The key is made here, so no CSR is needed to prove it: its public half goes straight to the CA.
    const pair = await keys.generatePodKeyPair(object.keyAlgorithm, object.keySize);
    const certificate = await ca.issue({ ...object, subjectPublicKeyInfo: pair.subjectPublicKeyInfo, isRsa: pair.isRsa, ttlMs, now });
    return {
      object,
      certificatePem: certificate.pem,
      keyPem: pair.privateKeyPem,
      serial: certificate.serial,
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    };
  }
}

/** Create the embedded provider: loads policy.yaml (and a JWKS file) and makes the dev CA. */
export function createEmbeddedProvider(options: EmbeddedProviderOptions): Promise<EmbeddedProvider> {
  return EmbeddedProvider.create(options);
}

function resolveOptions(options: EmbeddedProviderOptions): ResolvedOptions {
  if (typeof options.storeDir !== 'string' || options.storeDir === '') throw configInvalid('storeDir', 'is required');
  const hasUrl = options.jwksUrl !== undefined && options.jwksUrl !== '';
  const hasFile = options.jwksFile !== undefined && options.jwksFile !== '';
  if (hasUrl === hasFile) throw configInvalid('jwksUrl', 'exactly one of jwksUrl and jwksFile must be set');
  if (hasUrl) {
    const url = URL.canParse(options.jwksUrl ?? '') ? new URL(options.jwksUrl ?? '') : undefined;
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw configInvalid('jwksUrl', 'must be an http(s) URL');
    // The JWKS decides whose tokens are trusted: plain http only where nobody can be in between.
    if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw configInvalid('jwksUrl', 'must use https unless it is on the loopback interface');
  }
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  if (audience.trim() === '') throw configInvalid('audience', 'must not be empty');
  const defaultCertificateTtlMs = positive(options.defaultCertificateTtlMs ?? DEFAULTS.defaultCertificateTtlMs, 'defaultCertificateTtlMs');
  const maxCertificateTtlMs = positive(options.maxCertificateTtlMs ?? DEFAULTS.maxCertificateTtlMs, 'maxCertificateTtlMs');
  if (defaultCertificateTtlMs % 1000 !== 0 || maxCertificateTtlMs % 1000 !== 0) throw configInvalid('defaultCertificateTtlMs', 'certificate lifetimes must be whole seconds');
  if (defaultCertificateTtlMs > maxCertificateTtlMs) {
    throw configInvalid('defaultCertificateTtlMs', `${formatDuration(defaultCertificateTtlMs)} is longer than maxCertificateTtlMs (${formatDuration(maxCertificateTtlMs)})`);
  }
  return {
    storeDir: isAbsolute(options.storeDir) ? options.storeDir : resolve(options.storeDir),
    audience,
    refreshIntervalMs: positive(options.refreshIntervalMs ?? DEFAULTS.refreshIntervalMs, 'refreshIntervalMs'),
    defaultCertificateTtlMs,
    maxCertificateTtlMs,
    now: options.now ?? (() => new Date()),
  };
}

function positive(value: number, field: string, allowZero = false): number {
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) throw configInvalid(field, `must be a ${allowZero ? 'non-negative' : 'positive'} whole number of milliseconds`);
  return value;
}

function configInvalid(field: string, reason: string): CredmountError {
  return Errors.providerConfigInvalid('embedded', field, reason);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function utf8(text: string): Uint8Array {
  // A Buffer from Node's shared pool: no ArrayBuffer of its own for a small PEM.
  return Buffer.from(text, 'utf8');
}

import { Errors } from '../../errors/catalogue.js';
import { isCredmountError } from '../../errors/credmount-error.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, ProvidedFile, Provider } from '../provider.js';
import { exchangeSettings, type ExchangeFlags } from './exchange-settings.js';
import { extractKey } from './extract-key.js';
import { parseGcpParameters, parseImpersonation, type GcpParameters, type GcpSecret, type Impersonation } from './gcp-parameters.js';
import { GoogleHttpError } from './google-http.js';
import { GoogleTokens, type GoogleAccessToken } from './google-tokens.js';
import { ServiceAccountAnnotations, type ServiceAccountReader } from './service-account-annotations.js';
import { accessSecretVersion, type AccessedVersion, type SecretManagerEndpoints } from './secret-manager.js';

export const GCP_PROVIDER_NAME = 'gcp';

export interface GcpProviderOptions extends ExchangeFlags {
  readonly secretManagerEndpoint: string;
  readonly regionalSecretManagerEndpoint: string;
  /** How often aliases (`latest`) are re-checked; volumes/ pulls it earlier by a jitter. */
  readonly refreshIntervalMs: number;
  /**
   * Read `iam.gke.io/gcp-service-account(-delegates)` from the pod's Kubernetes service account
   * (upstream's way to ask for impersonation) when the volume's parameters name none.
   */
  readonly serviceAccountAnnotations?: ServiceAccountReader;
}

/** A volume whose versions are all pinned has nothing to re-check: its next look is this far away. */
const PINNED_ONLY_REFRESH_MS = 365 * 24 * 3_600_000;

/**
 * Google Secret Manager, as the pod: exchange the pod's token for a Google access token (STS,
 * optionally impersonating a service account), then read every secret version in parallel and
 * return all of them or fail. A pinned version (`versions/3`) never changes, so it is read once
 * per volume and kept in memory; aliases such as `latest` are re-read at the refresh interval and
 * the volume changes only when the resolved version does.
 */
export class GcpProvider implements Provider<GcpParameters> {
  readonly name = GCP_PROVIDER_NAME;
  readonly tokens: GoogleTokens;
  private readonly endpoints: SecretManagerEndpoints;
  /** Pinned versions already read, per volume and identity: `volumeId` → key → version. */
  private readonly pinned = new Map<string, Map<string, AccessedVersion>>();
  private readonly annotations: ServiceAccountAnnotations | undefined;

  constructor(private readonly options: GcpProviderOptions) {
    this.tokens = new GoogleTokens(exchangeSettings(options));
    this.annotations = options.serviceAccountAnnotations === undefined ? undefined : new ServiceAccountAnnotations(options.serviceAccountAnnotations);
    this.endpoints = { global: options.secretManagerEndpoint, regional: options.regionalSecretManagerEndpoint };
  }

  parse(parameters: Readonly<Record<string, string>>, _identity: PodIdentity): ParsedParameters<GcpParameters> {
    // Secrets are the same for every pod of a service account with the same parameters.
    return { value: parseGcpParameters(parameters), audiences: [this.tokens.settings.tokenAudience], scope: 'serviceAccount' };
  }

  /** 1. Access token for the identity, 2. every distinct version in parallel, 3. files, all or nothing. */
  async fetch(request: FetchRequest<GcpParameters>): Promise<FetchResult> {
    const audience = this.tokens.settings.tokenAudience;
    const jwt = request.tokens.get(audience);
    if (jwt === undefined) throw Errors.tokenAudienceMissing(audience, [...request.tokens.keys()]);
    const nowMs = request.now.getTime();
    const { secrets } = request.parameters;
    const impersonation = request.parameters.impersonation ?? (await this.annotatedImpersonation(request.identity, nowMs));
    let token = await this.tokens.get(request.identity, jwt, impersonation, nowMs, request.signal).catch(unwrap);

    const names = [...new Set(secrets.map((s) => s.resource.name))];
    const held = this.pinned.get(request.volumeId) ?? new Map<string, AccessedVersion>();
    const read = async (name: string): Promise<AccessedVersion> => {
      const secret = secrets.find((s) => s.resource.name === name) as GcpSecret;
      const key = `${token.key}\u0000${name}`;
      const kept = secret.resource.pinned ? held.get(key) : undefined;
      if (kept !== undefined) return kept;
      const accessed = await this.access(secret, () => token, request.signal, async (stale) => {
        // 401: the cached token was revoked or expired early; one new token, one retry.
        this.tokens.forget(stale);
        token = await this.tokens.get(request.identity, jwt, impersonation, nowMs, request.signal).catch(unwrap);
        return token;
      });
      if (secret.resource.pinned) held.set(key, accessed);
      return accessed;
    };
    const results = new Map<string, AccessedVersion>();
    await Promise.all(names.map(async (name) => results.set(name, await read(name))));
    this.pinned.set(request.volumeId, held);

    const files: ProvidedFile[] = [];
    const versions: Record<string, string> = {};
    for (const [index, secret] of secrets.entries()) {
      const accessed = results.get(secret.resource.name) as AccessedVersion;
      files.push(secret.mode === undefined ? { path: secret.path, content: render(secret, accessed, index) } : { path: secret.path, content: render(secret, accessed, index), mode: secret.mode });
      versions[secret.path] = accessed.name;
    }
    const allPinned = secrets.every((s) => s.resource.pinned);
    return { files, versions, refreshAt: new Date(nowMs + (allPinned ? PINNED_ONLY_REFRESH_MS : this.options.refreshIntervalMs)) };
  }

  /** The volume's parameters win; otherwise the service account's annotations, when enabled. */
  private async annotatedImpersonation(identity: PodIdentity, nowMs: number): Promise<Impersonation | undefined> {
    if (this.annotations === undefined) return undefined;
    const raw = await this.annotations.read(identity.namespace, identity.serviceAccountName, nowMs);
    return parseImpersonation(raw.serviceAccount, raw.delegates, (key, reason) => Errors.fieldInvalid(`ServiceAccount ${identity.namespace}/${identity.serviceAccountName} annotation ${key}`, reason));
  }

  release(volumeId: string): void {
    this.pinned.delete(volumeId);
  }

  private async access(
    secret: GcpSecret,
    current: () => GoogleAccessToken,
    signal: AbortSignal,
    renew: (stale: GoogleAccessToken) => Promise<GoogleAccessToken>,
  ): Promise<AccessedVersion> {
    const used = current();
    try {
      return await accessSecretVersion(secret.resource, used.token, this.endpoints, signal);
    } catch (error) {
      if (!(error instanceof GoogleHttpError && error.status === 401)) return unwrap(error);
      const fresh = current() === used ? await renew(used) : current();
      return accessSecretVersion(secret.resource, fresh.token, this.endpoints, signal).catch(unwrap);
    }
  }
}

export function createGcpProvider(options: GcpProviderOptions): GcpProvider {
  return new GcpProvider(options);
}

function render(secret: GcpSecret, accessed: AccessedVersion, index: number): Uint8Array {
  const format = secret.extractJSONKey !== undefined ? 'JSON' : secret.extractYAMLKey !== undefined ? 'YAML' : undefined;
  if (format === undefined) return accessed.data;
  const key = (format === 'JSON' ? secret.extractJSONKey : secret.extractYAMLKey) as string;
  const extracted = extractKey(accessed.data, format, key);
  if (typeof extracted === 'string') throw Errors.secretContentInvalid(`volume_context.secrets[${index}].extract${format}Key`, secret.resource.name, extracted);
  return extracted;
}

function unwrap(error: unknown): never {
  if (error instanceof GoogleHttpError) throw error.credmountError;
  if (isCredmountError(error)) throw error;
  throw error;
}

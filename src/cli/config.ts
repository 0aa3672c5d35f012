import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { socketPathFromEndpoint } from '../csi/unix-endpoint.js';
import type { ExchangeFlags } from '../providers/gcp/exchange-settings.js';
import { parseDuration } from './duration.js';

/** The driver's configuration: validated once at start, then frozen. */
export interface DriverConfig {
  readonly endpoint: string;
  readonly driverName: string;
  readonly nodeId: string;
  /** Per-volume metadata lives here; must survive driver restarts (a hostPath in a cluster). */
  readonly stateDir: string;
  readonly logLevel: string;
  /** `host:port` for /metrics, /healthz, /readyz; empty disables it. */
  readonly metricsAddress: string;
  readonly maxVolumeBytes: number;
  readonly requireReadOnly: boolean;
  readonly defaultProvider: string;
  /** Only these providers are loaded (a node pays memory only for what it uses). */
  readonly providers: readonly string[];
  readonly fetchTimeoutMs: number;
  /** How often freed C heap memory is handed back to the kernel (cli/malloc-trim.ts); 0: never. */
  readonly mallocTrimIntervalMs: number;
  readonly embedded: EmbeddedConfig;
  readonly vault: VaultConfig;
  readonly gcp: GcpConfig;
  readonly kube: KubeConfig;
  readonly certificates: CertificatesConfig;
}

/** The GCP provider: how pods' tokens become Google access tokens (docs/gcp-provider.md). */
export interface GcpConfig extends ExchangeFlags {
  readonly secretManagerEndpoint: string;
  /** With `{location}`: the regional (REP) Secret Manager endpoint. */
  readonly regionalSecretManagerEndpoint: string;
  readonly refreshIntervalMs: number;
  /** Read impersonation annotations from pods' Kubernetes service accounts (needs `get serviceaccounts`). */
  readonly serviceAccountAnnotations: boolean;
}

/** The driver's own access to the Kubernetes API (SecretProviderClass references, Events). */
export interface KubeConfig {
  /** A kubeconfig file; empty: the in-cluster service account. */
  readonly kubeconfig: string;
  readonly requestTimeoutMs: number;
  /** How long a SecretProviderClass read is reused (docs/secret-provider-class.md). */
  readonly classCacheTtlMs: number;
  /** Record Kubernetes Events on pods for failed refreshes. */
  readonly events: boolean;
}

export interface CertificatesConfig {
  /** Signers volumes may use: cert-manager, vault, dev-ca. */
  readonly signers: readonly string[];
  /** The Kubernetes API for CertificateRequests (called with each pod's own token). */
  readonly kubeApiServer: string;
  /** CA of the API server's certificate; empty: the system roots. */
  readonly kubeCaCert: string;
  readonly maxDurationMs: number;
  readonly vaultPkiMount: string;
}

export interface VaultConfig {
  readonly address: string;
  readonly authMountPath: string;
  readonly audience: string;
  readonly caCertPath: string;
  readonly refreshIntervalMs: number;
  readonly allowedAddresses: readonly string[];
  readonly tlsDirectories: readonly string[];
  readonly allowSkipTlsVerify: boolean;
  readonly sharedLoginMounts: readonly string[];
}

export interface EmbeddedConfig {
  readonly storeDir: string;
  readonly jwksUrl: string;
  readonly jwksFile: string;
  readonly audience: string;
  readonly issuer: string;
  readonly refreshIntervalMs: number;
  readonly certificateTtlMs: number;
  readonly maxCertificateTtlMs: number;
}

export const DRIVER_NAME = 'csi.credmount.dev';
const KNOWN_PROVIDERS = ['embedded', 'vault', 'gcp', 'certificates'] as const;
const CERTIFICATE_SIGNERS = ['cert-manager', 'vault', 'dev-ca'] as const;
const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
const IN_CLUSTER_API = process.env['KUBERNETES_SERVICE_HOST'] === undefined ? '' : `https://${process.env['KUBERNETES_SERVICE_HOST'].includes(':') ? `[${process.env['KUBERNETES_SERVICE_HOST']}]` : process.env['KUBERNETES_SERVICE_HOST']}:${process.env['KUBERNETES_SERVICE_PORT'] ?? '443'}`;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Flag → description, for `credmount driver --help`; defaults are shown from the parser below. */
export const DRIVER_FLAGS = {
  endpoint: { type: 'string', default: process.env['CSI_ENDPOINT'] ?? 'unix:///csi/csi.sock', help: 'CSI socket (env CSI_ENDPOINT)' },
  'driver-name': { type: 'string', default: DRIVER_NAME, help: 'name reported by GetPluginInfo; must match the CSIDriver object' },
  'node-id': { type: 'string', default: process.env['NODE_NAME'] ?? hostname(), help: 'node id for NodeGetInfo (env NODE_NAME)' },
  'state-dir': { type: 'string', default: '/var/lib/credmount', help: 'per-volume metadata (no secrets); must persist across restarts' },
  'log-level': { type: 'string', default: 'info', help: LOG_LEVELS.join('|') },
  'metrics-address': { type: 'string', default: '', help: 'serve /metrics, /healthz, /readyz here, e.g. :9810 (off when empty)' },
  'max-volume-bytes': { type: 'string', default: String(1024 * 1024), help: 'most bytes of content per volume' },
  'require-read-only': { type: 'string', default: 'true', help: 'refuse volumes the pod did not mark readOnly (true|false)' },
  'default-provider': { type: 'string', default: 'embedded', help: 'provider for volumes that name none' },
  providers: { type: 'string', default: 'embedded', help: `comma-separated providers to load (${KNOWN_PROVIDERS.join(', ')})` },
  'fetch-timeout': { type: 'string', default: '90s', help: 'abandon a backend fetch after this long (kubelet allows 2m per call)' },
  'malloc-trim-interval': { type: 'string', default: '10s', help: "hand memory the C allocator holds free back to the kernel this often (glibc's malloc_trim; 0: never)" },
  'embedded-store': { type: 'string', default: '/etc/credmount/store', help: 'embedded provider: store directory (secrets/ and policy.yaml)' },
  'embedded-jwks-url': { type: 'string', default: '', help: "embedded provider: JWKS URL of the cluster's service-account issuer" },
  'embedded-jwks-file': { type: 'string', default: '', help: 'embedded provider: JWKS file (instead of a URL)' },
  'embedded-audience': { type: 'string', default: 'credmount', help: 'embedded provider: token audience it accepts' },
  'embedded-issuer': { type: 'string', default: '', help: 'embedded provider: required token issuer (any when empty)' },
  'embedded-refresh-interval': { type: 'string', default: '5m', help: 'embedded provider: how often secrets are re-read' },
  'embedded-certificate-ttl': { type: 'string', default: '5m', help: 'embedded provider: default certificate lifetime' },
  'embedded-max-certificate-ttl': { type: 'string', default: '24h', help: 'embedded provider: longest certificate lifetime' },
  'vault-address': { type: 'string', default: process.env['VAULT_ADDR'] ?? '', help: 'vault provider: address when a volume sets no vaultAddress (env VAULT_ADDR)' },
  'vault-auth-mount-path': { type: 'string', default: 'kubernetes', help: 'vault provider: auth mount when a volume sets no vaultAuthMountPath' },
  'vault-audience': { type: 'string', default: 'vault', help: 'vault provider: token audience when a volume sets no audience (must be in tokenRequests)' },
  'vault-ca-cert': { type: 'string', default: '', help: 'vault provider: CA file when a volume sets no vaultCACertPath' },
  'vault-refresh-interval': { type: 'string', default: '5m', help: 'vault provider: how often static (KV) secrets are re-read' },
  'vault-allowed-addresses': { type: 'string', default: '', help: 'vault provider: comma-separated origins volumes may name in vaultAddress besides --vault-address ("*": any)' },
  'vault-tls-dirs': { type: 'string', default: '', help: 'vault provider: comma-separated directories volumes may name TLS files in (vaultCACertPath...)' },
  'vault-allow-skip-tls-verify': { type: 'string', default: 'false', help: 'vault provider: let volumes set vaultSkipTLSVerify (true|false)' },
  'vault-shared-login-mounts': { type: 'string', default: 'kubernetes', help: 'vault provider: auth mounts whose logins all pods of a service account share' },
  'gcp-workload-identity-provider': { type: 'string', default: '', help: 'gcp provider: //iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<provider> (workload identity federation)' },
  'gcp-gke-cluster': { type: 'string', default: '', help: 'gcp provider: projects/<project>/locations/<location>/clusters/<name> (GKE workload identity, instead of a pool provider)' },
  'gcp-audience': { type: 'string', default: '', help: "gcp provider: audience of the pod tokens to exchange (default: the pool provider's default audience, or <project>.svc.id.goog on GKE)" },
  'gcp-sts-endpoint': { type: 'string', default: 'https://sts.googleapis.com', help: 'gcp provider: Security Token Service (POST <endpoint>/v1/token)' },
  'gcp-identity-binding-endpoint': { type: 'string', default: 'https://securetoken.googleapis.com/v1/identitybindingtoken', help: 'gcp provider: GKE identity binding token exchange' },
  'gcp-gke-identity-provider-base': { type: 'string', default: 'https://container.googleapis.com/v1', help: "gcp provider: prefix of a GKE cluster's identity provider" },
  'gcp-iam-credentials-endpoint': { type: 'string', default: 'https://iamcredentials.googleapis.com', help: 'gcp provider: IAM Credentials API (service account impersonation)' },
  'gcp-secret-manager-endpoint': { type: 'string', default: 'https://secretmanager.googleapis.com', help: 'gcp provider: Secret Manager API for global secrets' },
  'gcp-regional-secret-manager-endpoint': { type: 'string', default: 'https://secretmanager.{location}.rep.googleapis.com', help: 'gcp provider: Secret Manager API for regional secrets ({location} is replaced)' },
  'gcp-refresh-interval': { type: 'string', default: '2m', help: 'gcp provider: how often versions/latest (and other aliases) are re-checked; pinned versions never are' },
  'gcp-service-account-annotations': { type: 'string', default: 'false', help: "gcp provider: read iam.gke.io/gcp-service-account(-delegates) from pods' service accounts (the driver then needs get on serviceaccounts; API access as for --kubeconfig) (true|false)" },
  'gcp-token-lifetime': { type: 'string', default: '1h', help: 'gcp provider: lifetime asked for impersonated access tokens (at most 1h unless the organisation allows more)' },
  kubeconfig: { type: 'string', default: '', help: "Kubernetes API access for SecretProviderClass references and events: a kubeconfig file (empty: the driver pod's in-cluster service account)" },
  'kube-api-timeout': { type: 'string', default: '10s', help: 'abandon a Kubernetes API call after this long (the request is aborted, its connection closed)' },
  'spc-cache-ttl': { type: 'string', default: '10s', help: 'reuse a SecretProviderClass read for this long (read only when a volume is published or due for refresh)' },
  'kube-events': { type: 'string', default: 'false', help: 'record Kubernetes Events on pods for failed refreshes (needs create/patch on events) (true|false)' },
  'certificates-signers': { type: 'string', default: CERTIFICATE_SIGNERS.join(','), help: `certificates provider: signers volumes may use (${CERTIFICATE_SIGNERS.join(', ')})` },
  'certificates-max-duration': { type: 'string', default: '8760h', help: 'certificates provider: longest csi.cert-manager.io/duration a volume may ask for' },
  'certificates-vault-pki-mount': { type: 'string', default: 'pki', help: 'certificates provider: Vault PKI mount for VaultPKI issuers that name none' },
  'kube-api-server': { type: 'string', default: IN_CLUSTER_API, help: 'certificates provider: Kubernetes API for CertificateRequests, made with each pod\'s token (env KUBERNETES_SERVICE_HOST/PORT)' },
  'kube-ca-cert': { type: 'string', default: IN_CLUSTER_CA, help: "certificates provider: CA file of the Kubernetes API server's certificate" },
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseDriverConfig(argv: readonly string[]): DriverConfig {
  const options = Object.fromEntries(Object.entries(DRIVER_FLAGS).map(([name, flag]) => [name, { type: flag.type, default: flag.default }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: options as NonNullable<Parameters<typeof parseArgs>[0]>['options'], strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  const text = (name: keyof typeof DRIVER_FLAGS): string => String(values[name] ?? DRIVER_FLAGS[name].default);
  // A zero duration (`0`, `0s`) turns the feature off.
  const durationOrOff = (name: keyof typeof DRIVER_FLAGS): number => {
    try {
      return parseDuration(text(name), `--${name}`);
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    }
  };
  const duration = (name: keyof typeof DRIVER_FLAGS): number => {
    const ms = durationOrOff(name);
    if (ms <= 0) throw new ConfigError(`--${name} must be positive`);
    return ms;
  };

  // GetPluginInfo's name: at most 63 characters, a domain-name-like string (CSI spec).
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(text('driver-name'))) {
    throw new ConfigError('--driver-name must be at most 63 characters of a-z, 0-9, "-" and ".", starting and ending with a letter or digit');
  }
  const list = (name: keyof typeof DRIVER_FLAGS): string[] =>
    text(name)
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const bool = (name: keyof typeof DRIVER_FLAGS): boolean => {
    const value = text(name);
    if (value !== 'true' && value !== 'false') throw new ConfigError(`--${name} must be true or false`);
    return value === 'true';
  };
  for (const dir of list('vault-tls-dirs')) if (!dir.startsWith('/')) throw new ConfigError(`--vault-tls-dirs: ${JSON.stringify(dir)} is not an absolute path`);
  for (const origin of list('vault-allowed-addresses')) {
    if (origin !== '*' && !(URL.canParse(origin) && /^https?:$/.test(new URL(origin).protocol))) throw new ConfigError(`--vault-allowed-addresses: ${JSON.stringify(origin)} is not an http(s) URL or *`);
  }
  const logLevel = text('log-level');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const maxVolumeBytes = /^\d+$/.test(text('max-volume-bytes')) ? Number(text('max-volume-bytes')) : Number.NaN;
  if (!Number.isSafeInteger(maxVolumeBytes) || maxVolumeBytes < 1024) throw new ConfigError('--max-volume-bytes must be a whole number of bytes, at least 1024');
  const requireReadOnly = text('require-read-only');
  if (requireReadOnly !== 'true' && requireReadOnly !== 'false') throw new ConfigError('--require-read-only must be true or false');
  const providers = text('providers')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const provider of providers) {
    if (!(KNOWN_PROVIDERS as readonly string[]).includes(provider)) throw new ConfigError(`--providers: unknown provider ${JSON.stringify(provider)} (known: ${KNOWN_PROVIDERS.join(', ')})`);
  }
  const defaultProvider = text('default-provider');
  if (!providers.includes(defaultProvider)) throw new ConfigError(`--default-provider ${JSON.stringify(defaultProvider)} is not in --providers`);
  const jwksUrl = text('embedded-jwks-url');
  const jwksFile = text('embedded-jwks-file');
  if (providers.includes('embedded') && (jwksUrl === '') === (jwksFile === '')) {
    throw new ConfigError('the embedded provider needs exactly one of --embedded-jwks-url or --embedded-jwks-file');
  }
  try {
    socketPathFromEndpoint(text('endpoint'));
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }

  const gcpProvider = text('gcp-workload-identity-provider');
  const gkeCluster = text('gcp-gke-cluster');
  if (gcpProvider !== '' && !/^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]+\/providers\/[a-z0-9-]+$/.test(gcpProvider)) {
    throw new ConfigError('--gcp-workload-identity-provider must look like //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>');
  }
  if (gkeCluster !== '' && !/^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/clusters\/[a-z0-9-]+$/.test(gkeCluster)) {
    throw new ConfigError('--gcp-gke-cluster must look like projects/<project-id>/locations/<location>/clusters/<name>');
  }
  if (providers.includes('gcp') && (gcpProvider === '') === (gkeCluster === '')) {
    throw new ConfigError('the gcp provider needs exactly one of --gcp-workload-identity-provider or --gcp-gke-cluster');
  }
  for (const name of ['gcp-sts-endpoint', 'gcp-identity-binding-endpoint', 'gcp-gke-identity-provider-base', 'gcp-iam-credentials-endpoint', 'gcp-secret-manager-endpoint'] as const) {
    if (!(URL.canParse(text(name)) && /^https?:$/.test(new URL(text(name)).protocol))) throw new ConfigError(`--${name}: ${JSON.stringify(text(name))} is not an http(s) URL`);
  }
  const regional = text('gcp-regional-secret-manager-endpoint');
  if (!regional.includes('{location}') || !URL.canParse(regional.replace('{location}', 'us-central1')) || !/^https?:$/.test(new URL(regional.replace('{location}', 'us-central1')).protocol)) {
    throw new ConfigError('--gcp-regional-secret-manager-endpoint must be an http(s) URL containing {location}');
  }
  const gcpTokenLifetimeMs = duration('gcp-token-lifetime');
  if (gcpTokenLifetimeMs < 600_000 || gcpTokenLifetimeMs > 12 * 3_600_000) throw new ConfigError('--gcp-token-lifetime must be between 10m and 12h');
  const signers = list('certificates-signers');
  for (const signer of signers) {
    if (!(CERTIFICATE_SIGNERS as readonly string[]).includes(signer)) throw new ConfigError(`--certificates-signers: unknown signer ${JSON.stringify(signer)} (known: ${CERTIFICATE_SIGNERS.join(', ')})`);
  }
  const kubeApiServer = text('kube-api-server');
  if (kubeApiServer !== '' && !(URL.canParse(kubeApiServer) && /^https?:$/.test(new URL(kubeApiServer).protocol))) throw new ConfigError('--kube-api-server must be an http(s) URL');
  // Pods' tokens travel to it: plain http only where nobody can be in between.
  if (kubeApiServer !== '' && new URL(kubeApiServer).protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(kubeApiServer).hostname)) {
    throw new ConfigError('--kube-api-server must use https unless it is on the loopback interface');
  }

  const certificateTtlMs = duration('embedded-certificate-ttl');
  const maxCertificateTtlMs = duration('embedded-max-certificate-ttl');
  if (certificateTtlMs > maxCertificateTtlMs) throw new ConfigError('--embedded-certificate-ttl must not be longer than --embedded-max-certificate-ttl');

  return Object.freeze({
    endpoint: text('endpoint'),
    driverName: text('driver-name'),
    nodeId: text('node-id'),
    stateDir: text('state-dir'),
    logLevel,
    metricsAddress: text('metrics-address'),
    maxVolumeBytes,
    requireReadOnly: requireReadOnly === 'true',
    defaultProvider,
    providers: Object.freeze(providers),
    fetchTimeoutMs: duration('fetch-timeout'),
    mallocTrimIntervalMs: durationOrOff('malloc-trim-interval'),
    embedded: Object.freeze({
      storeDir: text('embedded-store'),
      jwksUrl,
      jwksFile,
      audience: text('embedded-audience'),
      issuer: text('embedded-issuer'),
      refreshIntervalMs: duration('embedded-refresh-interval'),
      certificateTtlMs,
      maxCertificateTtlMs,
    }),
    vault: Object.freeze({
      address: text('vault-address'),
      authMountPath: text('vault-auth-mount-path'),
      audience: text('vault-audience'),
      caCertPath: text('vault-ca-cert'),
      refreshIntervalMs: duration('vault-refresh-interval'),
      allowedAddresses: Object.freeze(list('vault-allowed-addresses')),
      tlsDirectories: Object.freeze(list('vault-tls-dirs')),
      allowSkipTlsVerify: bool('vault-allow-skip-tls-verify'),
      sharedLoginMounts: Object.freeze(list('vault-shared-login-mounts')),
    }),
    gcp: Object.freeze({
      workloadIdentityProvider: gcpProvider,
      gkeCluster,
      audience: text('gcp-audience'),
      stsEndpoint: text('gcp-sts-endpoint'),
      identityBindingEndpoint: text('gcp-identity-binding-endpoint'),
      gkeIdentityProviderBase: text('gcp-gke-identity-provider-base'),
      iamCredentialsEndpoint: text('gcp-iam-credentials-endpoint'),
      secretManagerEndpoint: text('gcp-secret-manager-endpoint'),
      regionalSecretManagerEndpoint: regional,
      refreshIntervalMs: duration('gcp-refresh-interval'),
      tokenLifetimeSeconds: Math.round(gcpTokenLifetimeMs / 1000),
      serviceAccountAnnotations: bool('gcp-service-account-annotations'),
    }),
    kube: Object.freeze({
      kubeconfig: text('kubeconfig'),
      requestTimeoutMs: duration('kube-api-timeout'),
      classCacheTtlMs: duration('spc-cache-ttl'),
      events: bool('kube-events'),
    }),
    certificates: Object.freeze({
      signers: Object.freeze(signers),
      kubeApiServer,
      kubeCaCert: text('kube-ca-cert'),
      maxDurationMs: duration('certificates-max-duration'),
      vaultPkiMount: text('certificates-vault-pki-mount'),
    }),
  });
}

export function driverUsage(): string {
  const lines = Object.entries(DRIVER_FLAGS).map(([name, flag]) => `  --${name.padEnd(30)} ${flag.help} (default: ${JSON.stringify(flag.default)})`);
  return ['usage: credmount driver [flags]', '', ...lines].join('\n');
}

import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError, DRIVER_FLAGS, DRIVER_NAME, driverUsage, parseDriverConfig } from '../../../src/cli/config.js';

const GCP_PROVIDER = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/credmount-pool/providers/kind-cluster';

/** The one flag the defaults cannot supply: the embedded provider needs a JWKS source. */
const JWKS = ['--embedded-jwks-file', '/etc/credmount/jwks.json'];

/** An assert.throws validator: a ConfigError whose message names every one of `names`. */
function configError(...names: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    for (const name of names) assert.ok(error.message.includes(name), `message ${JSON.stringify(error.message)} names ${name}`);
    return true;
  };
}

describe('parseDriverConfig defaults', () => {
  test('every default', () => {
    const config = parseDriverConfig(JWKS);
    assert.deepEqual(
      {
        ...config,
        embedded: { ...config.embedded },
        gcp: { ...config.gcp },
        vault: { ...config.vault, allowedAddresses: [...config.vault.allowedAddresses], tlsDirectories: [...config.vault.tlsDirectories], sharedLoginMounts: [...config.vault.sharedLoginMounts] },
        providers: [...config.providers],
        kube: { ...config.kube },
        certificates: { ...config.certificates, signers: [...config.certificates.signers] },
      },
      {
        endpoint: process.env['CSI_ENDPOINT'] ?? 'unix:///csi/csi.sock',
        driverName: DRIVER_NAME,
        nodeId: process.env['NODE_NAME'] ?? hostname(),
        stateDir: '/var/lib/credmount',
        logLevel: 'info',
        metricsAddress: '',
        maxVolumeBytes: 1024 * 1024,
        requireReadOnly: true,
        defaultProvider: 'embedded',
        providers: ['embedded'],
        fetchTimeoutMs: 90_000,
        mallocTrimIntervalMs: 10_000,
        embedded: {
          storeDir: '/etc/credmount/store',
          jwksUrl: '',
          jwksFile: '/etc/credmount/jwks.json',
          audience: 'credmount',
          issuer: '',
          refreshIntervalMs: 5 * 60_000,
          certificateTtlMs: 5 * 60_000,
          maxCertificateTtlMs: 24 * 3_600_000,
        },
        vault: {
          address: process.env['VAULT_ADDR'] ?? '',
          authMountPath: 'kubernetes',
          audience: 'vault',
          caCertPath: '',
          refreshIntervalMs: 5 * 60_000,
          allowedAddresses: [],
          tlsDirectories: [],
          allowSkipTlsVerify: false,
          sharedLoginMounts: ['kubernetes'],
        },
        gcp: {
          workloadIdentityProvider: '',
          gkeCluster: '',
          audience: '',
          stsEndpoint: 'https://sts.googleapis.com',
          identityBindingEndpoint: 'https://securetoken.googleapis.com/v1/identitybindingtoken',
          gkeIdentityProviderBase: 'https://container.googleapis.com/v1',
          iamCredentialsEndpoint: 'https://iamcredentials.googleapis.com',
          secretManagerEndpoint: 'https://secretmanager.googleapis.com',
          regionalSecretManagerEndpoint: 'https://secretmanager.{location}.rep.googleapis.com',
          refreshIntervalMs: 2 * 60_000,
          tokenLifetimeSeconds: 3600,
          serviceAccountAnnotations: false,
        },
        kube: { kubeconfig: '', requestTimeoutMs: 10_000, classCacheTtlMs: 10_000, events: false },
        certificates: {
          signers: ['cert-manager', 'vault', 'dev-ca'],
          kubeApiServer: DRIVER_FLAGS['kube-api-server'].default,
          kubeCaCert: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
          maxDurationMs: 8760 * 3_600_000,
          vaultPkiMount: 'pki',
        },
      },
    );
    assert.equal(DRIVER_NAME, 'csi.credmount.dev');
  });

  test('every flag overrides its default', () => {
    const config = parseDriverConfig([
      '--endpoint=unix:///run/credmount/csi.sock',
      '--driver-name=csi.example.com',
      '--node-id=node-7',
      '--state-dir=/var/lib/other',
      '--log-level=debug',
      '--metrics-address=:9810',
      '--max-volume-bytes=4096',
      '--require-read-only=false',
      '--default-provider=embedded',
      '--providers= embedded , ',
      '--fetch-timeout=30s',
      '--malloc-trim-interval=1m',
      '--embedded-store=/srv/store',
      '--embedded-jwks-url=https://issuer.example/openid/v1/jwks',
      '--embedded-audience=vault',
      '--embedded-issuer=https://issuer.example',
      '--embedded-refresh-interval=1m',
      '--embedded-certificate-ttl=10m',
      '--embedded-max-certificate-ttl=1h30m',
    ]);
    assert.equal(config.endpoint, 'unix:///run/credmount/csi.sock');
    assert.equal(config.driverName, 'csi.example.com');
    assert.equal(config.nodeId, 'node-7');
    assert.equal(config.stateDir, '/var/lib/other');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.metricsAddress, ':9810');
    assert.equal(config.maxVolumeBytes, 4096);
    assert.equal(config.requireReadOnly, false);
    assert.deepEqual([...config.providers], ['embedded']);
    assert.equal(config.fetchTimeoutMs, 30_000);
    assert.equal(config.mallocTrimIntervalMs, 60_000);
    for (const off of ['0', '0s']) assert.equal(parseDriverConfig([`--malloc-trim-interval=${off}`, ...JWKS]).mallocTrimIntervalMs, 0, `${off} turns it off`);
    assert.equal(config.embedded.storeDir, '/srv/store');
    assert.equal(config.embedded.jwksUrl, 'https://issuer.example/openid/v1/jwks');
    assert.equal(config.embedded.jwksFile, '');
    assert.equal(config.embedded.audience, 'vault');
    assert.equal(config.embedded.issuer, 'https://issuer.example');
    assert.equal(config.embedded.refreshIntervalMs, 60_000);
    assert.equal(config.embedded.certificateTtlMs, 600_000);
    assert.equal(config.embedded.maxCertificateTtlMs, 5_400_000);
  });

  test('space-separated values work as well as --flag=value', () => {
    const config = parseDriverConfig(['--log-level', 'warn', '--max-volume-bytes', '1024', ...JWKS]);
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.maxVolumeBytes, 1024);
  });

  test('the result is frozen, including embedded and providers', () => {
    const config = parseDriverConfig(JWKS);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.embedded));
    assert.ok(Object.isFrozen(config.providers));
    assert.throws(() => {
      (config as { logLevel: string }).logLevel = 'trace';
    }, TypeError);
    assert.throws(() => {
      (config.embedded as { audience: string }).audience = 'other';
    }, TypeError);
    assert.throws(() => {
      (config.providers as string[]).push('vault');
    }, TypeError);
    assert.equal(config.logLevel, 'info');
  });

  test('each call returns a new, independent config', () => {
    const a = parseDriverConfig(JWKS);
    const b = parseDriverConfig(['--log-level=error', ...JWKS]);
    assert.notEqual(a, b);
    assert.equal(a.logLevel, 'info');
    assert.equal(b.logLevel, 'error');
  });
});

describe('parseDriverConfig refusals', () => {
  const refusals: [name: string, argv: string[], names: string[]][] = [
    ['an unknown flag', ['--no-such-flag', 'x', ...JWKS], ['--no-such-flag']],
    ['a positional argument', ['stray', ...JWKS], ['stray']],
    ['a flag without its value', [...JWKS, '--log-level'], ['--log-level']],
    ['a bad log level', ['--log-level=loud', ...JWKS], ['--log-level']],
    ['max-volume-bytes below 1024', ['--max-volume-bytes=1023', ...JWKS], ['--max-volume-bytes', '1024']],
    ['max-volume-bytes that is not a number', ['--max-volume-bytes=lots', ...JWKS], ['--max-volume-bytes']],
    ['max-volume-bytes that is not an integer', ['--max-volume-bytes=2048.5', ...JWKS], ['--max-volume-bytes']],
    ['empty max-volume-bytes', ['--max-volume-bytes=', ...JWKS], ['--max-volume-bytes']],
    ['require-read-only that is not a boolean', ['--require-read-only=yes', ...JWKS], ['--require-read-only']],
    ['require-read-only in capitals', ['--require-read-only=TRUE', ...JWKS], ['--require-read-only']],
    ['an unknown provider', ['--providers=embedded,hashicorp', ...JWKS], ['--providers', 'hashicorp']],
    ['a default provider that is not loaded', ['--default-provider=vault', ...JWKS], ['--default-provider', 'vault']],
    ['a driver name that is not a domain-like name', ['--driver-name=Not A Name!', ...JWKS], ['--driver-name']],
    ['a relative Vault TLS directory', ['--vault-tls-dirs=certs', ...JWKS], ['--vault-tls-dirs']],
    ['a Vault allowed address that is not a URL', ['--vault-allowed-addresses=vault:8200', ...JWKS], ['--vault-allowed-addresses']],
    ['a driver name longer than 63 characters', [`--driver-name=${'a'.repeat(64)}`, ...JWKS], ['--driver-name']],
    ['no providers at all', ['--providers=', ...JWKS], ['--default-provider']],
    ['neither jwks url nor file', [], ['--embedded-jwks-url', '--embedded-jwks-file']],
    ['both jwks url and file', ['--embedded-jwks-url=https://issuer/jwks', ...JWKS], ['--embedded-jwks-url', '--embedded-jwks-file']],
    ['a tcp endpoint', ['--endpoint=tcp://127.0.0.1:10000', ...JWKS], ['--endpoint']],
    ['a bare path endpoint', ['--endpoint=/csi/csi.sock', ...JWKS], ['--endpoint']],
    ['a bad fetch-timeout', ['--fetch-timeout=soon', ...JWKS], ['--fetch-timeout']],
    ['a zero fetch-timeout', ['--fetch-timeout=0s', ...JWKS], ['--fetch-timeout', 'positive']],
    ['an empty fetch-timeout', ['--fetch-timeout=', ...JWKS], ['--fetch-timeout']],
    ['a bad malloc-trim-interval', ['--malloc-trim-interval=often', ...JWKS], ['--malloc-trim-interval']],
    ['a negative malloc-trim-interval', ['--malloc-trim-interval=-10s', ...JWKS], ['--malloc-trim-interval']],
    ['a bad refresh interval', ['--embedded-refresh-interval=5 minutes', ...JWKS], ['--embedded-refresh-interval']],
    ['a bad certificate ttl', ['--embedded-certificate-ttl=1d', ...JWKS], ['--embedded-certificate-ttl']],
    ['a bad max certificate ttl', ['--embedded-max-certificate-ttl=-1h', ...JWKS], ['--embedded-max-certificate-ttl']],
    ['the gcp provider without an exchange', ['--providers=gcp', '--default-provider=gcp'], ['--gcp-workload-identity-provider', '--gcp-gke-cluster']],
    ['the gcp provider with both exchanges', ['--providers=gcp', '--default-provider=gcp', `--gcp-workload-identity-provider=${GCP_PROVIDER}`, '--gcp-gke-cluster=projects/demo-project/locations/europe-west1/clusters/prod'], ['--gcp-workload-identity-provider', '--gcp-gke-cluster']],
    ['a pool provider that is not a full name', ['--gcp-workload-identity-provider=projects/1/locations/global/workloadIdentityPools/p/providers/x', ...JWKS], ['--gcp-workload-identity-provider']],
    ['a GKE cluster that is not a resource name', ['--gcp-gke-cluster=prod', ...JWKS], ['--gcp-gke-cluster']],
    ['a regional endpoint without {location}', ['--gcp-regional-secret-manager-endpoint=https://secretmanager.googleapis.com', ...JWKS], ['--gcp-regional-secret-manager-endpoint', '{location}']],
    ['a regional endpoint that is not http(s)', ['--gcp-regional-secret-manager-endpoint=file:///tmp/{location}', ...JWKS], ['--gcp-regional-secret-manager-endpoint', 'http(s)']],
    ['an STS endpoint that is not a URL', ['--gcp-sts-endpoint=sts.googleapis.com', ...JWKS], ['--gcp-sts-endpoint']],
    ['a token lifetime over 12h', ['--gcp-token-lifetime=13h', ...JWKS], ['--gcp-token-lifetime']],
    ['service-account annotations that are not a boolean', ['--gcp-service-account-annotations=yes', ...JWKS], ['--gcp-service-account-annotations']],
    ['a bad gcp refresh interval', ['--gcp-refresh-interval=often', ...JWKS], ['--gcp-refresh-interval']],
  ];
  for (const [name, argv, names] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseDriverConfig(argv), configError(...names));
    });
  }
});

describe('parseDriverConfig: the gcp provider', () => {
  test('workload identity federation and GKE settings are read and frozen', () => {
    const federation = parseDriverConfig(['--providers=gcp', '--default-provider=gcp', `--gcp-workload-identity-provider=${GCP_PROVIDER}`, '--gcp-refresh-interval=30s', '--gcp-token-lifetime=30m']);
    assert.equal(federation.gcp.workloadIdentityProvider, GCP_PROVIDER);
    assert.equal(federation.gcp.refreshIntervalMs, 30_000);
    assert.equal(federation.gcp.tokenLifetimeSeconds, 1800);
    assert.ok(Object.isFrozen(federation.gcp));
    const gke = parseDriverConfig(['--providers=gcp', '--default-provider=gcp', '--gcp-gke-cluster=projects/demo-project/locations/europe-west1/clusters/prod', '--gcp-audience=demo-project.svc.id.goog']);
    assert.equal(gke.gcp.gkeCluster, 'projects/demo-project/locations/europe-west1/clusters/prod');
    assert.equal(gke.gcp.audience, 'demo-project.svc.id.goog');
  });
});

describe('parseDriverConfig endpoint check', () => {
  // src/cli/config.ts:107 checks only `startsWith('unix:')`, while the socket path is parsed by
  // socketPathFromEndpoint (src/csi/unix-endpoint.ts) much later, in CsiServer.start. So an
  // endpoint the parser refuses passes config validation, and the operator gets a plain Error at
  // server start instead of a ConfigError (exit code / usage) at flag parsing.
  test('refuses a unix endpoint without an absolute path', () => {
    assert.throws(() => parseDriverConfig(['--endpoint=unix:relative.sock', ...JWKS]), configError('--endpoint'));
  });
});

describe('driverUsage', () => {
  const usage = driverUsage();

  test('starts with a usage line', () => {
    assert.match(usage, /^usage: credmount driver \[flags\]\n/);
  });

  test('lists every flag with its help and default', () => {
    const flags = Object.entries(DRIVER_FLAGS);
    assert.equal(flags.length, 50);
    for (const [name, flag] of flags) {
      const line = usage.split('\n').find((l) => l.trimStart().startsWith(`--${name} `));
      assert.ok(line !== undefined, `--${name} is listed`);
      assert.ok(line.includes(flag.help), `--${name} shows its help`);
      assert.ok(line.includes(`(default: ${JSON.stringify(flag.default)})`), `--${name} shows its default`);
    }
  });

  test('lists the flags the brief names', () => {
    for (const name of ['endpoint', 'log-level', 'max-volume-bytes', 'require-read-only', 'providers', 'default-provider', 'embedded-jwks-url', 'embedded-jwks-file', 'fetch-timeout']) {
      assert.match(usage, new RegExp(`^  --${name} `, 'm'));
    }
  });
});

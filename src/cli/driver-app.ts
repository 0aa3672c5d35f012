import { CsiServer } from '../csi/csi-server.js';
import { afterAnswerSent } from '../csi/after-answer.js';
import { ClassCache } from '../kube/class-cache.js';
import { KubeApi } from '../kube/kube-api.js';
import { PodEventRecorder } from '../kube/pod-event-recorder.js';
import { Errors } from '../errors/catalogue.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { startHttpEndpoint } from '../observability/http-endpoint.js';
import { DriverMetrics } from '../observability/metrics.js';
import { ProviderRegistry } from '../providers/registry.js';
import type { Provider } from '../providers/provider.js';
import { AtomicDirectoryWriter } from '../storage/atomic-writer.js';
import { FileMetadataStore } from '../storage/metadata-store.js';
import { selectMounter } from '../storage/select-mounter.js';
import { TmpfsMounter } from '../storage/tmpfs-mounter.js';
import type { Mounter } from '../storage/storage.js';
import type { Clock } from '../volumes/clock.js';
import { VolumeManager } from '../volumes/volume-manager.js';
import type { DriverConfig } from './config.js';
import { startMallocTrim } from './malloc-trim.js';
import { readPackageVersion } from './package-version.js';

export interface DriverAppOptions {
  /** Replace the logger (tests capture lines to prove no secret reaches them). */
  readonly logger?: Logger;
  /** Replace the mounter (e.g. force plain directories). */
  readonly mounter?: Mounter;
  /** Replace the clock (tests that simulate an hour of republishes in seconds). */
  readonly clock?: Clock;
  /** Replace the jitter source (tests that count backend requests exactly). */
  readonly random?: () => number;
  /** How often the background timer looks for due certificate volumes. Default 5 s. */
  readonly renewalIntervalMs?: number;
}

export interface DriverApp {
  readonly server: CsiServer;
  /** Kubernetes Events on pods, when `--kube-events` is on (tests wait for its calls). */
  readonly events: PodEventRecorder | undefined;
  readonly volumes: VolumeManager;
  readonly metrics: DriverMetrics;
  readonly logger: Logger;
  readonly metricsUrl: string | undefined;
  /** `tmpfs` or `directory` (not root). */
  readonly mounterKind: string;
  stop(): Promise<void>;
}

/** Load only the providers this node is configured for (each one costs start-up time and memory). */
async function loadProviders(config: DriverConfig, metrics: DriverMetrics, kubeApi: KubeApi): Promise<Provider[]> {
  const providers: Provider[] = [];
  for (const name of config.providers) {
    if (name === 'embedded') {
      const { createEmbeddedProvider } = await import('../providers/embedded/embedded-provider.js');
      const e = config.embedded;
      providers.push(
        await createEmbeddedProvider({
          storeDir: e.storeDir,
          ...(e.jwksUrl !== '' ? { jwksUrl: e.jwksUrl } : { jwksFile: e.jwksFile }),
          audience: e.audience,
          ...(e.issuer !== '' ? { issuer: e.issuer } : {}),
          refreshIntervalMs: e.refreshIntervalMs,
          defaultCertificateTtlMs: e.certificateTtlMs,
          maxCertificateTtlMs: e.maxCertificateTtlMs,
        }),
      );
    }
    if (name === 'vault') {
      const { createVaultProvider } = await import('../providers/vault/vault-provider.js');
      const v = config.vault;
      providers.push(
        createVaultProvider({
          defaults: {
            address: v.address,
            authMountPath: v.authMountPath,
            audience: v.audience,
            caCertPath: v.caCertPath === '' ? undefined : v.caCertPath,
            allowedAddresses: v.allowedAddresses,
            tlsDirectories: v.tlsDirectories,
            allowSkipTlsVerify: v.allowSkipTlsVerify,
          },
          sharedLoginMounts: v.sharedLoginMounts,
          staticRefreshIntervalMs: v.refreshIntervalMs,
          reporter: metrics.backendReporter('vault'),
        }),
      );
    }
    if (name === 'gcp') {
      const { createGcpProvider } = await import('../providers/gcp/gcp-provider.js');
      const { serviceAccountAnnotations, ...g } = config.gcp;
      providers.push(
        createGcpProvider({
          ...g,
          // With the driver's own Kubernetes identity, as SecretProviderClass reads.
          ...(serviceAccountAnnotations ? { serviceAccountAnnotations: (namespace: string, name: string) => kubeApi.getServiceAccount(namespace, name) } : {}),
        }),
      );
    }
    if (name === 'certificates') providers.push(await loadCertificatesProvider(config, () => providers));
  }
  return providers;
}

/** The certificates provider; each signer (and its libraries) is loaded when a volume first uses it. */
async function loadCertificatesProvider(config: DriverConfig, loaded: () => readonly Provider[]): Promise<Provider> {
  const { CertificatesProvider } = await import('../providers/certificates/certificates-provider.js');
  const c = config.certificates;
  const v = config.vault;
  const { existsSync } = await import('node:fs');
  const kubeCaFile = c.kubeCaCert !== '' && existsSync(c.kubeCaCert) ? c.kubeCaCert : undefined;
  const signers: Record<string, () => Promise<import('../providers/certificates/signers/signer.js').Signer>> = {};
  if (c.signers.includes('dev-ca')) signers['dev-ca'] = async () => new (await import('../providers/certificates/signers/dev-ca-signer.js')).DevCaSigner(() => new Date());
  if (c.signers.includes('vault')) {
    signers['vault'] = async () => {
      // Share the vault provider's logins when it is loaded: a pod using both logs in once.
      const vault = loaded().find((p) => p.name === 'vault') as { logins?: import('../providers/vault/vault-login.js').VaultLogins } | undefined;
      const { VaultPkiSigner } = await import('../providers/certificates/signers/vault-pki-signer.js');
      return new VaultPkiSigner({ caCertPath: v.caCertPath === '' ? undefined : v.caCertPath, sharedLoginMounts: v.sharedLoginMounts, logins: vault?.logins });
    };
  }
  if (c.signers.includes('cert-manager')) {
    signers['cert-manager'] = async () => {
      if (c.kubeApiServer === '') throw Errors.providerConfigInvalid('certificates', 'kube-api-server', 'is not set (and KUBERNETES_SERVICE_HOST is not in the environment): cert-manager issuers cannot be reached');
      return new (await import('../providers/certificates/signers/cert-manager-signer.js')).CertManagerSigner({ server: c.kubeApiServer, caFile: kubeCaFile });
    };
  }
  return new CertificatesProvider({
    defaults: {
      vaultAddress: v.address,
      vaultAuthMountPath: v.authMountPath,
      vaultAudience: v.audience,
      vaultPkiMount: c.vaultPkiMount,
      vaultAllowedAddresses: v.allowedAddresses,
      maxDurationMs: c.maxDurationMs,
    },
    signers,
  });
}

/**
 * The composition root: build every room, recover volumes from the state directory, then serve.
 * Probe and /readyz answer ready only after recovery, so kubelet's republish calls after a
 * restart find their volumes.
 */
export async function startDriver(config: DriverConfig, options: DriverAppOptions = {}): Promise<DriverApp> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new DriverMetrics({ collectProcessMetrics: true });
  let ready = false;

  const selected = options.mounter === undefined ? selectMounter() : { mounter: options.mounter, warning: undefined };
  if (selected.warning !== undefined) logger.warn(selected.warning);

  // The Kubernetes API with the driver's own service account. Cheap until used: the client library
  // loads on the first SecretProviderClass reference, event or (gcp) service-account read
  // (docs/secret-provider-class.md).
  const kubeApi = new KubeApi({ kubeconfig: config.kube.kubeconfig, requestTimeoutMs: config.kube.requestTimeoutMs, reporter: metrics.kubeApiReporter() });
  const registry = new ProviderRegistry(await loadProviders(config, metrics, kubeApi));
  const nowMs = () => (options.clock === undefined ? Date.now() : options.clock.now());
  const classes = new ClassCache({ api: kubeApi, ttlMs: config.kube.classCacheTtlMs, now: nowMs, metrics, logger });
  const events = config.kube.events
    ? new PodEventRecorder({ api: kubeApi, component: config.driverName, host: config.nodeId, now: nowMs, logger, metrics })
    : undefined;
  const volumes = new VolumeManager({
    registry,
    mounter: selected.mounter,
    writer: new AtomicDirectoryWriter(),
    metadata: new FileMetadataStore(config.stateDir, {
      onProblem: (problem) => logger.warn({ file: problem.file, reason: problem.reason }, 'skipping an unreadable volume metadata record'),
    }),
    logger,
    metrics,
    maxContentBytes: config.maxVolumeBytes,
    fetchTimeoutMs: config.fetchTimeoutMs,
    classes,
    afterAnswer: afterAnswerSent,
    ...(events === undefined ? {} : { events }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });

  // Recover before serving, so no call can race the state directory being read.
  const recovered = await volumes.recover();
  // Certificates are renewed on time even when kubelet's republish is late (issue 5).
  const stopRenewal = volumes.startBackgroundRenewal(options.renewalIntervalMs ?? 5_000);
  const http = config.metricsAddress === '' ? undefined : await startHttpEndpoint({ address: config.metricsAddress, registry: metrics.registry, isReady: () => ready });
  const server = await CsiServer.start({
    endpoint: config.endpoint,
    driverName: config.driverName,
    version: readPackageVersion(),
    nodeId: config.nodeId,
    defaultProvider: config.defaultProvider,
    providerNames: registry.names(),
    requireReadOnly: config.requireReadOnly,
    isReady: () => ready,
    ...(options.clock === undefined ? {} : { now: () => new Date((options.clock as Clock).now()) }),
    volumes,
    logger,
    metrics,
  });
  ready = true;
  const stopMallocTrim = startMallocTrim({ intervalMs: config.mallocTrimIntervalMs, logger });
  logger.info(
    { endpoint: config.endpoint, providers: registry.names(), mounter: selected.mounter.kind, recoveredVolumes: recovered, metrics: http?.url },
    'credmount driver ready',
  );
  if (selected.mounter instanceof TmpfsMounter) {
    // Which way tmpfs volumes are mounted (docs/mounting.md), decided on first use: reported
    // after that so start-up does not wait for the FFI to load.
    const mounter = selected.mounter;
    setImmediate(() => logger.info({ mechanism: mounter.mechanism, fallbackReason: mounter.fallbackReason }, 'tmpfs mount mechanism'));
  }

  return {
    server,
    events,
    volumes,
    metrics,
    logger,
    metricsUrl: http?.url,
    mounterKind: selected.mounter.kind,
    async stop() {
      ready = false;
      stopRenewal();
      stopMallocTrim();
      await server.stop();
      // Records of the last calls, written after their answers, before anything else goes.
      await volumes.settle();
      await events?.settle();
      await http?.close();
      await registry.close();
      logger.info('credmount driver stopped');
      logger.flush();
    },
  };
}

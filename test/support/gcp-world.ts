import { parseDriverConfig } from '../../src/cli/config.js';
import { startDriver, type DriverApp } from '../../src/cli/driver-app.js';
import type { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import type { ManualClock } from '../../src/volumes/clock.js';
import { nodeDriverFlags, nodeDriverLogger, nodePod, startInProcessNode, stopInProcessNode, type InProcessNode } from './in-process-node.js';
import { federatedPrincipal, GcpTestServer, gkePrincipal, type PoolProvider } from './gcp-server/index.js';

/** The project every test secret lives in. */
export const PROJECT = { project: 'demo-project', projectNumber: '123456789012' } as const;
export const POOL: PoolProvider = { projectNumber: PROJECT.projectNumber, pool: 'credmount-pool', provider: 'kind-cluster' };
export const CLUSTER = { project: PROJECT.project, projectNumber: PROJECT.projectNumber, location: 'europe-west1', name: 'prod' } as const;
/** The audience kubelet mints pod tokens for, per exchange form (the CSIDriver's tokenRequests). */
export const FEDERATION_AUDIENCE = `https://iam.googleapis.com/projects/${POOL.projectNumber}/locations/global/workloadIdentityPools/${POOL.pool}/providers/${POOL.provider}`;
export const GKE_AUDIENCE = `${CLUSTER.project}.svc.id.goog`;

export interface GcpWorldOptions {
  /** `federation` (STS v1/token, the default) or `gke` (identity binding token). */
  readonly form?: 'federation' | 'gke';
  readonly driverArgs?: readonly string[];
  readonly logFile?: string;
  readonly federatedTokenSeconds?: number;
}

/**
 * A node with the GCP provider: the real driver (in this process, on a manual clock), the
 * kubelet simulator and the local Google APIs server, all on one clock. Calls go over the CSI
 * unix socket and volumes are real tmpfs mounts.
 */
export class GcpWorld {
  readonly workdir: string;
  readonly clock: ManualClock;
  readonly simulator: KubeletSimulator;

  private constructor(
    private readonly node: InProcessNode,
    readonly google: GcpTestServer,
    readonly driver: DriverApp,
    readonly audience: string,
    readonly form: 'federation' | 'gke',
  ) {
    this.workdir = node.workdir;
    this.clock = node.clock;
    this.simulator = node.simulator;
  }

  static async start(options: GcpWorldOptions = {}): Promise<GcpWorld> {
    const form = options.form ?? 'federation';
    const node = await startInProcessNode('gcp');
    const { clock, simulator } = node;
    const google = await GcpTestServer.start({
      now: () => clock.now(),
      jwksUrl: simulator.jwks.jwksUri,
      ...(options.federatedTokenSeconds === undefined ? {} : { federatedTokenSeconds: options.federatedTokenSeconds }),
    });
    const exchange =
      form === 'federation'
        ? ['--gcp-workload-identity-provider', google.addPoolProvider(POOL)]
        : (google.addGkeCluster(CLUSTER), ['--gcp-gke-cluster', `projects/${CLUSTER.project}/locations/${CLUSTER.location}/clusters/${CLUSTER.name}`]);
    const config = parseDriverConfig([
      ...nodeDriverFlags(node, 'gcp-node', 'gcp'),
      ...exchange,
      '--gcp-sts-endpoint', google.url,
      '--gcp-identity-binding-endpoint', `${google.url}/gke/v1/identitybindingtoken`,
      '--gcp-iam-credentials-endpoint', google.url,
      '--gcp-secret-manager-endpoint', google.url,
      '--gcp-regional-secret-manager-endpoint', google.regionalEndpoint,
      '--gcp-refresh-interval', '2m',
      ...(options.driverArgs ?? []),
    ]);
    // No jitter: refresh exactly when due, so request counts are exact.
    const driver = await startDriver(config, { clock, logger: nodeDriverLogger(options.logFile), random: () => 0 });
    return new GcpWorld(node, google, driver, form === 'federation' ? FEDERATION_AUDIENCE : GKE_AUDIENCE, form);
  }

  /** The federated principal of a Kubernetes service account (what IAM bindings name). */
  principal(namespace: string, serviceAccount: string): string {
    return this.form === 'federation' ? federatedPrincipal(POOL, namespace, serviceAccount) : gkePrincipal(CLUSTER, namespace, serviceAccount);
  }

  /** Add a version to a secret of the test project; the first call creates the secret. */
  addVersion(secret: string, data: string, location?: string): number {
    return this.google.addVersion({ ...PROJECT, secret, ...(location === undefined ? {} : { location }) }, data);
  }

  grant(secret: string, principal: string, location?: string): void {
    this.google.grantSecretAccess({ projectNumber: PROJECT.projectNumber, secret, ...(location === undefined ? {} : { location }) }, principal);
  }

  pod(secrets: string, overrides: Partial<SimulatedPod> & { parameters?: Record<string, string> } = {}): SimulatedPod {
    const { parameters, ...rest } = overrides;
    return nodePod({ volumeName: 'gcp-secrets', attributes: { provider: 'gcp', secrets, ...(parameters ?? {}) }, audiences: [this.audience] }, rest);
  }

  stop(): Promise<void> {
    return stopInProcessNode(this.node, this.driver, [this.google]);
  }
}

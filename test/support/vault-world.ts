import { parseDriverConfig } from '../../src/cli/config.js';
import { startDriver, type DriverApp } from '../../src/cli/driver-app.js';
import type { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import type { ManualClock } from '../../src/volumes/clock.js';
import { nodeDriverFlags, nodeDriverLogger, nodePod, startInProcessNode, stopInProcessNode, type InProcessNode } from './in-process-node.js';
import { VaultTestServer } from './vault-server/index.js';
import type { VaultTestServerOptions } from './vault-server/types.js';

/**
 * A node with the Vault provider: the real driver (in this process, so it can share a manual
 * clock), the kubelet simulator and the local Vault server, all on one clock. Calls still go
 * over the CSI unix socket and volumes are real tmpfs mounts.
 */
export class VaultWorld {
  readonly workdir: string;
  readonly clock: ManualClock;
  readonly simulator: KubeletSimulator;

  private constructor(
    private readonly node: InProcessNode,
    readonly vault: VaultTestServer,
    readonly driver: DriverApp,
  ) {
    this.workdir = node.workdir;
    this.clock = node.clock;
    this.simulator = node.simulator;
  }

  static async start(
    options: { vault?: Omit<VaultTestServerOptions, 'now' | 'jwksUrl'>; driverArgs?: readonly string[]; logFile?: string; tokenTtlSeconds?: number; tokenMaxTtlSeconds?: number } = {},
  ): Promise<VaultWorld> {
    const node = await startInProcessNode('vault');
    const { clock, simulator } = node;
    const vault = await VaultTestServer.start({ ...(options.vault ?? {}), now: () => clock.now(), jwksUrl: simulator.jwks.jwksUri });
    vault.configureKubernetesAuth('kubernetes', { jwksUrl: simulator.jwks.jwksUri });
    vault.addPolicy('app', ['secret/data/app/*', 'kv/app/*', 'database/creds/app', 'sys/leases/renew', 'pki/issue/app']);
    vault.addKubernetesRole('kubernetes', 'app', {
      boundServiceAccountNames: ['app'],
      boundServiceAccountNamespaces: ['demo'],
      audience: 'vault',
      policies: ['app'],
      tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
      ...(options.tokenMaxTtlSeconds === undefined ? {} : { tokenMaxTtlSeconds: options.tokenMaxTtlSeconds }),
    });
    const config = parseDriverConfig([
      ...nodeDriverFlags(node, 'vault-node', 'vault'),
      '--vault-address', vault.url,
      '--vault-refresh-interval', '5m',
      ...(options.driverArgs ?? []),
    ]);
    // No jitter: refresh exactly when the backend's numbers say, so request counts are exact.
    const driver = await startDriver(config, { clock, logger: nodeDriverLogger(options.logFile), random: () => 0 });
    return new VaultWorld(node, vault, driver);
  }

  pod(objects: string, overrides: Partial<SimulatedPod> & { parameters?: Record<string, string> } = {}): SimulatedPod {
    const { parameters, ...rest } = overrides;
    return nodePod({ volumeName: 'vault-creds', attributes: { provider: 'vault', roleName: 'app', objects, ...(parameters ?? {}) }, audiences: ['vault'] }, rest);
  }

  stop(): Promise<void> {
    return stopInProcessNode(this.node, this.driver, [this.vault]);
  }
}

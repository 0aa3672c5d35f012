import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDriverConfig } from '../../src/cli/config.js';
import { startDriver, type DriverApp } from '../../src/cli/driver-app.js';
import { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { pino } from 'pino';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { ManualClock } from '../../src/volumes/clock.js';
import { unmountAllBelow } from './e2e-world.js';
import { VaultTestServer } from './vault-server/index.js';
import type { VaultTestServerOptions } from './vault-server/types.js';

/**
 * A node with the Vault provider: the real driver (in this process, so it can share a manual
 * clock), the kubelet simulator and the local Vault server, all on one clock. Calls still go
 * over the CSI unix socket and volumes are real tmpfs mounts.
 */
export class VaultWorld {
  private constructor(
    readonly workdir: string,
    readonly clock: ManualClock,
    readonly simulator: KubeletSimulator,
    readonly vault: VaultTestServer,
    readonly driver: DriverApp,
  ) {}

  static async start(
    options: { vault?: Omit<VaultTestServerOptions, 'now' | 'jwksUrl'>; driverArgs?: readonly string[]; logFile?: string; tokenTtlSeconds?: number; tokenMaxTtlSeconds?: number } = {},
  ): Promise<VaultWorld> {
    const workdir = await mkdtemp(join(tmpdir(), 'credmount-vault-'));
    const clock = new ManualClock(Date.now());
    const now = () => new Date(clock.now());
    const endpoint = `unix://${join(workdir, 'csi.sock')}`;
    const simulator = await KubeletSimulator.start({ endpoint, kubeletRoot: join(workdir, 'kubelet'), now });
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
      '--endpoint', endpoint,
      '--state-dir', join(workdir, 'state'),
      '--node-id', 'vault-node',
      '--providers', 'vault',
      '--default-provider', 'vault',
      '--vault-address', vault.url,
      '--vault-refresh-interval', '5m',
      ...(options.driverArgs ?? []),
    ]);
    // No jitter: refresh exactly when the backend's numbers say, so request counts are exact.
    const logger = options.logFile === undefined ? silentLogger() : createLogger({ level: 'debug', destination: pino.destination({ dest: options.logFile, sync: true }) });
    const driver = await startDriver(config, { clock, logger, random: () => 0 });
    return new VaultWorld(workdir, clock, simulator, vault, driver);
  }

  pod(objects: string, overrides: Partial<SimulatedPod> & { parameters?: Record<string, string> } = {}): SimulatedPod {
    const { parameters, ...rest } = overrides;
    return {
      namespace: 'demo',
      name: `app-${randomUUID().slice(0, 8)}`,
      uid: randomUUID(),
      serviceAccountName: 'app',
      volumeName: 'vault-creds',
      attributes: { provider: 'vault', roleName: 'app', objects, ...(parameters ?? {}) },
      audiences: ['vault'],
      ...rest,
    };
  }

  async stop(): Promise<void> {
    await this.simulator.stop().catch(() => undefined);
    await this.driver.stop().catch(() => undefined);
    await this.vault.stop().catch(() => undefined);
    await unmountAllBelow(this.workdir);
    await rm(this.workdir, { recursive: true, force: true });
  }
}

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDriverConfig } from '../../../src/cli/config.js';
import { startDriver, type DriverApp } from '../../../src/cli/driver-app.js';
import type { KubeletSimulator } from '../../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../../src/cli/kubelet-sim/simulated-pod.js';
import type { ManualClock } from '../../../src/volumes/clock.js';
import { nodeDriverFlags, nodeDriverLogger, nodePod, startInProcessNode, stopInProcessNode, type InProcessNode } from '../in-process-node.js';
import { VaultTestServer } from '../vault-server/index.js';
import { KubeApiTestServer } from './server.js';

/**
 * A node with the certificates provider: the real driver in this process (sharing a manual
 * clock), the kubelet simulator, the local Kubernetes API (cert-manager CertificateRequests) and
 * the local Vault — all on one clock. Calls go over the CSI socket; volumes are real tmpfs.
 * The background renewal timer is driven by hand (`renew()`), so tests decide when it runs.
 */
export class CertWorld {
  readonly workdir: string;
  readonly clock: ManualClock;
  readonly simulator: KubeletSimulator;

  private constructor(
    private readonly node: InProcessNode,
    readonly kube: KubeApiTestServer,
    readonly vault: VaultTestServer,
    public driver: DriverApp,
    private readonly restartDriverWith: () => Promise<DriverApp>,
  ) {
    this.workdir = node.workdir;
    this.clock = node.clock;
    this.simulator = node.simulator;
  }

  /** Stop the driver and start a new one on the same socket and state directory (a driver restart). */
  async restartDriver(): Promise<void> {
    await this.driver.stop();
    this.driver = await this.restartDriverWith();
  }

  static async start(options: { driverArgs?: readonly string[]; logFile?: string; tokenTtlSeconds?: number } = {}): Promise<CertWorld> {
    const node = await startInProcessNode('certs', options.tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds: options.tokenTtlSeconds });
    const { clock, simulator } = node;
    const kube = await KubeApiTestServer.start({ jwksUrl: simulator.jwks.jwksUri, issuer: simulator.issuer.issuer, now: () => clock.now() });
    const vault = await VaultTestServer.start({ now: () => clock.now(), jwksUrl: simulator.jwks.jwksUri });
    vault.configureKubernetesAuth('kubernetes', { jwksUrl: simulator.jwks.jwksUri });
    const config = parseDriverConfig([
      ...nodeDriverFlags(node, 'cert-node', 'certificates'),
      '--kube-api-server', kube.url,
      '--vault-address', vault.url,
      ...(options.driverArgs ?? []),
    ]);
    const logger = nodeDriverLogger(options.logFile);
    // No jitter, and no real-time renewal timer: the test moves the clock and calls renew().
    const start = () => startDriver(config, { clock, logger, random: () => 0, renewalIntervalMs: 24 * 3_600_000 });
    return new CertWorld(node, kube, vault, await start(), start);
  }

  pod(attributes: Record<string, string>, overrides: Partial<SimulatedPod> = {}): SimulatedPod {
    return nodePod({ volumeName: 'tls', attributes, audiences: ['', 'vault'] }, overrides);
  }

  /** The background timer's pass, as the driver's interval would run it. */
  renew() {
    return this.driver.volumes.renewDue();
  }

  stop(): Promise<void> {
    return stopInProcessNode(this.node, this.driver, [this.kube, this.vault]);
  }
}

export interface MountedPair {
  readonly certificate: X509Certificate;
  readonly chainPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** Read the volume's pair and check it: the key matches the certificate, and ca.crt issued it. */
export async function readPair(targetPath: string, files = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' }): Promise<MountedPair & { matches: boolean; chainsToCa: boolean }> {
  const [chainPem, keyPem, caPem] = await Promise.all([readFile(join(targetPath, files.cert), 'utf8'), readFile(join(targetPath, files.key), 'utf8'), readFile(join(targetPath, files.ca), 'utf8')]);
  const certificate = new X509Certificate(chainPem);
  const keyPublic = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const certPublic = certificate.publicKey.export({ type: 'spki', format: 'der' });
  const ca = caPem.trim() === '' ? undefined : new X509Certificate(caPem);
  return { certificate, chainPem, keyPem, caPem, matches: keyPublic.equals(certPublic) && certificate.checkPrivateKey(createPrivateKey(keyPem)), chainsToCa: ca !== undefined && certificate.verify(ca.publicKey) };
}

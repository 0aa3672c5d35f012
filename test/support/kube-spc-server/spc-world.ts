import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { VaultWorld } from '../vault-world.js';
import { KubeTestServer } from './server.js';

/** An upstream SecretProviderClass manifest from test/fixtures/vault/. */
export interface SampleClass {
  readonly apiVersion: string;
  readonly metadata: { readonly name: string };
  readonly spec: { provider: string; parameters: Record<string, string>; [key: string]: unknown };
}

/** Every complete SecretProviderClass published upstream (test/fixtures/vault/sample-secretproviderclasses.yaml). */
export async function upstreamSamples(): Promise<SampleClass[]> {
  const file = resolve(fileURLToPath(import.meta.url), '../../../../../test/fixtures/vault/sample-secretproviderclasses.yaml');
  return parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as SampleClass);
}

/**
 * A VaultWorld (driver + kubelet simulator + Vault, on one manual clock) whose driver reaches a
 * local Kubernetes API server with `--kubeconfig`, as with its own service account in a cluster.
 */
export class SpcWorld {
  private constructor(
    readonly world: VaultWorld,
    readonly kube: KubeTestServer,
    readonly logFile: string,
    private readonly dir: string,
  ) {}

  static async start(options: { driverArgs?: readonly string[] } = {}): Promise<SpcWorld> {
    const kube = await KubeTestServer.start({ token: `driver-sa-token-${Math.random().toString(36).slice(2)}` });
    const dir = await mkdtemp(join(tmpdir(), 'credmount-spc-'));
    await kube.writeKubeconfig(join(dir, 'kubeconfig'));
    const logFile = join(dir, 'driver.log');
    const world = await VaultWorld.start({ logFile, driverArgs: ['--kubeconfig', join(dir, 'kubeconfig'), ...(options.driverArgs ?? [])] });
    return new SpcWorld(world, kube, logFile, dir);
  }

  /** The driver's log lines so far (JSON). */
  async logLines(): Promise<Record<string, unknown>[]> {
    const text = await readFile(this.logFile, 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    await this.world.stop();
    await this.kube.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

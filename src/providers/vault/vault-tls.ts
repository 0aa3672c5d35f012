import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'undici';

/** TLS settings for one Vault address, as vault-csi-provider's parameters name them. */
export interface VaultTlsOptions {
  readonly caCertPath: string | undefined;
  readonly caDirectory: string | undefined;
  readonly serverName: string | undefined;
  readonly clientCertPath: string | undefined;
  readonly clientKeyPath: string | undefined;
  readonly skipVerify: boolean;
}

export const NO_TLS_OPTIONS: VaultTlsOptions = Object.freeze({
  caCertPath: undefined,
  caDirectory: undefined,
  serverName: undefined,
  clientCertPath: undefined,
  clientKeyPath: undefined,
  skipVerify: false,
});

/**
 * One undici Agent (connection pool) per distinct TLS configuration, created on first use: most
 * nodes talk to one Vault with one CA, so every volume shares one pool of keep-alive connections.
 * Files are read when the agent is created; a CA rotation is picked up when the driver restarts.
 */
export class VaultAgents {
  private readonly agents = new Map<string, Promise<Agent>>();

  get(tls: VaultTlsOptions): Promise<Agent> {
    const key = JSON.stringify(tls);
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = createAgent(tls);
      // A failed creation (unreadable CA file) is not cached: the next volume may find it fixed.
      agent.catch(() => this.agents.delete(key));
      this.agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const agents = await Promise.allSettled(this.agents.values());
    this.agents.clear();
    await Promise.all(agents.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
  }
}

async function createAgent(tls: VaultTlsOptions): Promise<Agent> {
  const ca: string[] = [];
  if (tls.caCertPath !== undefined) ca.push(await readFile(tls.caCertPath, 'utf8'));
  if (tls.caDirectory !== undefined) {
    for (const name of (await readdir(tls.caDirectory)).sort()) {
      if (/\.(pem|crt)$/i.test(name)) ca.push(await readFile(join(tls.caDirectory, name), 'utf8'));
    }
  }
  const cert = tls.clientCertPath === undefined ? undefined : await readFile(tls.clientCertPath, 'utf8');
  const key = tls.clientKeyPath === undefined ? undefined : await readFile(tls.clientKeyPath, 'utf8');
  return new Agent({
    keepAliveTimeout: 30_000,
    connect: {
      ...(ca.length > 0 ? { ca } : {}),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
      rejectUnauthorized: !tls.skipVerify,
    },
  });
}

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
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
  private readonly agents = new Map<string, { agent: Promise<Agent>; createdAtMs: number }>();

  /** `allowedFiles` re-checks, after resolving symlinks, that a file is one the operator allows. */
  constructor(private readonly allowedFiles: (realPath: string) => boolean = () => true) {}

  get(tls: VaultTlsOptions, nowMs: number = Date.now()): Promise<Agent> {
    const key = JSON.stringify(tls);
    let entry = this.agents.get(key);
    // Files are re-read now and then, so a rotated CA or client certificate is picked up.
    if (entry !== undefined && nowMs - entry.createdAtMs > AGENT_MAX_AGE_MS) {
      const old = entry.agent;
      this.agents.delete(key);
      setTimeout(() => void old.then((a) => a.close()).catch(() => undefined), 60_000).unref();
      entry = undefined;
    }
    if (entry === undefined) {
      const agent = createAgent(tls, this.allowedFiles);
      // A failed creation (unreadable CA file) is not cached: the next volume may find it fixed.
      agent.catch(() => this.agents.delete(key));
      entry = { agent, createdAtMs: nowMs };
      this.agents.set(key, entry);
      this.evict();
    }
    return entry.agent;
  }

  /** At most MAX_AGENTS pools: the oldest is closed when a new TLS configuration appears. */
  private evict(): void {
    while (this.agents.size > MAX_AGENTS) {
      const [key, entry] = this.agents.entries().next().value as [string, { agent: Promise<Agent> }];
      this.agents.delete(key);
      void entry.agent.then((a) => a.close()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const agents = await Promise.allSettled([...this.agents.values()].map((e) => e.agent));
    this.agents.clear();
    await Promise.all(agents.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
  }
}

const MAX_AGENTS = 32;
const AGENT_MAX_AGE_MS = 10 * 60_000;
/** TLS files are small; a bigger one (say /dev/zero) is refused before it is read. */
const MAX_TLS_FILE_BYTES = 1024 * 1024;

async function createAgent(tls: VaultTlsOptions, allowed: (realPath: string) => boolean): Promise<Agent> {
  const read = async (path: string): Promise<string> => {
    const real = await realpath(path);
    if (!allowed(real)) throw new Error(`${path} leads outside the directories allowed for Vault TLS files`);
    const info = await stat(real);
    if (!info.isFile() || info.size > MAX_TLS_FILE_BYTES) throw new Error(`${path} is not a regular file of at most ${MAX_TLS_FILE_BYTES} bytes`);
    return readFile(real, 'utf8');
  };
  const ca: string[] = [];
  if (tls.caCertPath !== undefined) ca.push(await read(tls.caCertPath));
  if (tls.caDirectory !== undefined) {
    for (const name of (await readdir(tls.caDirectory)).sort()) {
      if (/\.(pem|crt)$/i.test(name)) ca.push(await read(join(tls.caDirectory, name)));
    }
  }
  const cert = tls.clientCertPath === undefined ? undefined : await read(tls.clientCertPath);
  const key = tls.clientKeyPath === undefined ? undefined : await read(tls.clientKeyPath);
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

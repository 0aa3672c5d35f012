import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import type { BackendRate } from '../result-types.js';
import { countOverScaledWindow } from '../scaled-hour.js';
import { VaultTestServer } from '../../test/support/vault-server/index.js';
import { rate } from './backend-requests.js';

/**
 * 5c. Dynamic leases (Vault database credentials) per volume-hour. The driver child runs on the
 * real clock, so the Vault test server does too, with short real TTLs: `hourMs` stands for an
 * hour, the lease, its max TTL, the Vault token's TTL and kubelet's cadence are scaled alike.
 * Requests are counted by the Vault server (every login, token renewal, issue and renewal).
 */
export async function measureVaultLeases(plan: Plan['backendVault']): Promise<BackendRate> {
  const scale = 3_600_000 / plan.hourMs;
  let vault: VaultTestServer | undefined;
  const node = await BenchNode.start({
    providerArgs: async ({ jwksUrl }) => {
      vault = await VaultTestServer.start({ now: () => Date.now(), jwksUrl });
      vault.configureKubernetesAuth('kubernetes', { jwksUrl });
      vault.addPolicy('app', ['database/creds/app', 'sys/leases/renew']);
      vault.addKubernetesRole('kubernetes', 'app', {
        boundServiceAccountNames: ['app'],
        boundServiceAccountNamespaces: ['demo'],
        audience: 'vault',
        policies: ['app'],
        // A 1-hour Vault token, scaled like everything else.
        tokenTtlSeconds: Math.max(1, Math.round(plan.hourMs / 1000)),
      });
      vault.addDatabaseRole('app', { ttlSeconds: plan.leaseSeconds, maxTtlSeconds: plan.maxLeaseSeconds });
      return ['--providers', 'vault', '--default-provider', 'vault', '--vault-address', vault.url];
    },
  });
  try {
    const server = vault as unknown as VaultTestServer;
    const objects = '- objectName: db-user\n  secretPath: database/creds/app\n  secretKey: username\n- objectName: db-pass\n  secretPath: database/creds/app\n  secretKey: password\n';
    const pods = Array.from({ length: plan.volumes }, () => node.pod(objects, { provider: 'vault', roleName: 'app' }, ['vault']));
    const counts = await countOverScaledWindow(node, pods, {
      cadenceMs: plan.hourMs / 60,
      staggerMs: plan.maxLeaseSeconds * 1000,
      windowMs: plan.hourMs * plan.hours,
      counters: () => Promise.resolve(server.counts()),
    });
    const minutes = (seconds: number) => `${Math.round((seconds * scale) / 60)} min`;
    return rate(
      `dynamic leases: lease ${minutes(plan.leaseSeconds)}, max ${minutes(plan.maxLeaseSeconds)}`,
      `1 h = ${plan.hourMs / 1000} s; lease ${plan.leaseSeconds} s, max ${plan.maxLeaseSeconds} s; cadence ${plan.hourMs / 60_000} s`,
      plan.volumes,
      plan.hours,
      counts,
    );
  } finally {
    await node.stop();
    await vault?.stop();
  }
}

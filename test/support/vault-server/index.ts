/**
 * A local Vault HTTP API server for the Vault provider's tests (ARCHITECTURE.md §5): it follows
 * Vault's public API request by request and verifies pod tokens against a JWKS (the kubelet
 * simulator's, or one a test makes). Facts it follows, with links: docs/vault-api.md.
 *
 *   const clock = new ManualClock();
 *   const vault = await VaultTestServer.start({ now: clock.now, jwksUrl });
 *   vault.addPolicy('app', ['secret/data/app/*', 'database/creds/app']);
 *   vault.addKubernetesRole('kubernetes', 'app', {
 *     boundServiceAccountNames: ['app'], boundServiceAccountNamespaces: ['default'],
 *     audience: 'vault', policies: ['app'], tokenTtlSeconds: 3600,
 *   });
 *   vault.writeKv2('secret', 'app/db', { password: 'x' });   // → version 1
 *   vault.addDatabaseRole('app', { ttlSeconds: 600, maxTtlSeconds: 3600 });
 *   await vault.addPkiRole('web', { allowedDomains: ['example.com'], allowSubdomains: true, maxTtlSeconds: 86400 });
 *   await vault.setFault({ kind: 'rate-limited', times: 2 });
 *   ... vault.url ... vault.counts().login ... vault.requests ...
 *   clock.advanceSeconds(3600);
 *   await vault.stop();
 *
 * Surface:
 * - `VaultTestServer.start(options)`: `url`, `port`, `caPem`/`clientCertPem`/`clientKeyPem`/
 *   `clientCaPem` (HTTPS mode), `namespace`.
 * - Auth: `configureKubernetesAuth`, `addKubernetesRole`, `configureJwtAuth`, `addJwtRole`,
 *   `addPolicy`, `createToken`, `revokeToken`.
 * - Engines: `writeKv2`/`deleteKv2`/`destroyKv2`, `writeKv1`/`deleteKv1`, `addDatabaseRole`,
 *   `addPkiRole`/`pkiCaPem`, `leases()`.
 * - Faults: `setFault(fault | undefined)`.
 * - Observation: `requests`, `counts(filter?)`, `resetObservations()`.
 * - `stop()`.
 * - `ManualClock` for `now`.
 */
export { VaultTestServer } from './server.js';
export { ManualClock, goDuration, humanDuration, rfc3339Nano, type Now } from './time.js';
export type { LeaseSnapshot } from './leases.js';
export {
  ENDPOINT_KINDS,
  type DatabaseRoleOptions,
  type EndpointKind,
  type Fault,
  type JwtAuthConfig,
  type JwtRoleOptions,
  type KeySource,
  type KubernetesAuthConfig,
  type KubernetesRoleOptions,
  type PkiRoleOptions,
  type RequestRecord,
  type TlsOptions,
  type TokenRoleFields,
  type VaultTestServerOptions,
} from './types.js';

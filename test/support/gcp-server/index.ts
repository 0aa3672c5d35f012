/** The GCP test server's public surface. */
export { GcpTestServer, federatedPrincipal, gkePrincipal, providerName } from './server.js';
export type { EndpointKind, Fault, GcpTestServerOptions, GkeCluster, PoolProvider, RequestRecord } from './types.js';

export { KubeApiTestServer, type KubeApiServerOptions, type RecordedCall, type IssuerBehaviour } from './server.js';
export { TestCa } from './issuer.js';
export { TokenAuthenticator, type AuthenticatedUser } from './authenticator.js';

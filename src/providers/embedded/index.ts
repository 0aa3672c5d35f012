/** The embedded provider's public surface. */
export { createEmbeddedProvider, EmbeddedProvider, EMBEDDED_PROVIDER_NAME, DEFAULT_AUDIENCE, PROVIDER_CONFIG_INVALID_CODE, type EmbeddedProviderOptions } from './embedded-provider.js';
export { type EmbeddedParameters, type ObjectSpec, type SecretObjectSpec, type CertificateObjectSpec, type KeyAlgorithm, CA_FILE_NAME } from './parameters.js';
export { Policy, PolicyError, type PolicyRule, type PolicyGrants } from './policy.js';
export { DevCa, type DevCaOptions, type SignRequest } from './dev-ca.js';
export { TOKEN_REJECTED_CODE } from './token-verifier.js';
export { writeSampleStore, type SampleStore, type SampleStoreOptions } from './sample-store.js';

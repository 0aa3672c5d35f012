/** The GCP provider's public surface. */
export { createGcpProvider, GcpProvider, GCP_PROVIDER_NAME, type GcpProviderOptions } from './gcp-provider.js';
export { parseGcpParameters, GCP_PARAMETERS, SERVICE_ACCOUNT_KEY, DELEGATES_KEY, type GcpParameters, type GcpSecret, type Impersonation } from './gcp-parameters.js';
export { parseSecretVersionName, type SecretVersionName } from './resource-name.js';
export { exchangeSettings, type ExchangeFlags } from './exchange-settings.js';
export { crc32c } from './crc32c.js';

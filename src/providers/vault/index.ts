/** The Vault provider's public surface. */
export { createVaultProvider, VaultProvider, VAULT_PROVIDER_NAME, type VaultProviderOptions } from './vault-provider.js';
export { parseVaultParameters, VAULT_PARAMETERS, type VaultDefaults, type VaultObject, type VaultParameters } from './vault-parameters.js';
export { renderObject, wholeSecretJson, goJson } from './secret-content.js';

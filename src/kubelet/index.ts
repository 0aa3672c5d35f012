/**
 * kubelet/ — pure parsing of the kubelet contract (ARCHITECTURE.md §1; docs/kubelet-contract.md):
 * pod info, inline-ephemeral check, service-account tokens (secrets → volume_context) and their
 * claims, provider name, parameters, fsGroup. No I/O, no gRPC, no logging.
 */
export type { KubeletParseOptions, KubeletPublishInput } from './kubelet-publish-input.js';
export { parseKubeletPublish } from './parse-kubelet-publish.js';
export { assertEphemeral, parsePodInfo } from './pod-info.js';
export { locateServiceAccountTokens, parseTokensJson, type LocatedTokens, type TokenEntry, type TokensSource } from './service-account-tokens.js';
export { checkServiceAccountToken } from './token-claims.js';
export { extractParameters, impliedProviderName, parseProviderName } from './volume-attributes.js';
export { parseVolumeMountGroup } from './mount-group.js';
export { formatRfc3339, parseRfc3339 } from './rfc3339.js';
export { isDns1123Label, isDns1123Subdomain, isPodUid } from './kubernetes-names.js';
export { KUBELET_KEY_PREFIX, PodInfoKeys, PROVIDER_ATTRIBUTE, SECRET_PROVIDER_CLASS_ATTRIBUTE, SERVICE_ACCOUNT_TOKENS_KEY } from './volume-context-keys.js';
export { parseClassReference } from './class-reference.js';

/**
 * Building blocks of the kubelet simulator (no gRPC here): a TokenRequest stand-in that mints
 * real pod-bound JWTs, the JWKS/discovery endpoints that publish its key, kubelet's token cache,
 * and kubelet's NodePublish/NodeUnpublish requests and on-disk steps.
 */
export { DEFAULT_ISSUER, DEFAULT_TOKEN_TTL_SECONDS, defaultServiceAccountUid, ServiceAccountTokenIssuer } from './token-issuer.js';
export type { JsonWebKeySet, MintedToken, MintRequest, PublicJwk, TokenIssuerOptions } from './token-issuer.js';
export { DISCOVERY_PATH, JWKS_PATH, startJwksServer, type JwksServerOptions, type JwksSource, type RunningJwksServer } from './jwks-server.js';
export { requiresRefresh, TokenCache, type TokenCacheOptions, type TokenMinter } from './token-cache.js';
export type { SimulatedPod } from './simulated-pod.js';
export {
  buildNodePublishVolumeRequest,
  buildNodeUnpublishVolumeRequest,
  cleanUpAfterUnpublish,
  DEFAULT_KUBELET_ROOT,
  inlineTargetPath,
  inlineVolumeId,
  isLikelyMountPoint,
  prepareTargetParent,
  serializeTokens,
  type KubeletRequestOptions,
  type NodePublishVolumeRequest,
  type NodeUnpublishVolumeRequest,
  type VolumeData,
} from './kubelet-request-builder.js';

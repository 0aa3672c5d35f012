import type { ServiceAccountToken, TokenSet } from '../providers/provider.js';
import type { PublishRequest } from '../volumes/publish-request.js';
import { parseClassReference } from './class-reference.js';
import type { KubeletParseOptions, KubeletPublishInput } from './kubelet-publish-input.js';
import { parseVolumeMountGroup } from './mount-group.js';
import { assertEphemeral, parsePodInfo } from './pod-info.js';
import { RecentResults } from './recent-results.js';
import { locateServiceAccountTokens, parseTokensJson, type TokenEntry } from './service-account-tokens.js';
import { checkServiceAccountToken } from './token-claims.js';
import { extractParameters, parseProviderName } from './volume-attributes.js';

/**
 * Turn the kubelet-specific parts of a NodePublishVolume call into a PublishRequest. Pure: no
 * I/O, no clock (options.now), no logging. Throws CredmountError (all INVALID_ARGUMENT) naming
 * the field; messages never contain a token.
 *
 * Tokens are optional here: a CSIDriver without `tokenRequests` sends none, and a provider that
 * needs no token (e.g. a self-signed certificate) works without them. The check that every
 * audience the provider needs is present (Errors.tokenAudienceMissing) belongs to volumes/,
 * which knows the provider's audiences. Tokens that *are* sent are always checked.
 */
export function parseKubeletPublish(input: KubeletPublishInput, options: KubeletParseOptions): PublishRequest {
  // 1. Only inline ephemeral volumes, then who the pod is.
  assertEphemeral(input.volumeContext);
  const identity = parsePodInfo(input.volumeContext);

  // 2. What the pod asks for: a SecretProviderClass by name (resolved later, by volumes/, only when
  //    the content is due), or a provider and its parameters inline.
  const secretProviderClass = parseClassReference(input.volumeContext);
  const providerName = secretProviderClass === undefined ? parseProviderName(input.volumeContext, options.defaultProvider) : '';
  const parameters = secretProviderClass === undefined ? extractParameters(input.volumeContext) : Object.freeze({});
  const mountGroup = parseVolumeMountGroup(input.volumeMountGroup);

  // 3. The pod's tokens (secrets first, then volume_context), each cross-checked against the pod.
  const tokens = parseTokens(input, identity, options.now);

  return Object.freeze({
    volumeId: input.volumeId,
    targetPath: input.targetPath,
    readOnly: input.readOnly,
    mountGroup,
    identity,
    tokens,
    providerName,
    parameters,
    ...(secretProviderClass === undefined ? {} : { secretProviderClass }),
  });
}

/** Tokens JSON → its entries, for the JSON of the last few hundred pods (one node's worth). */
const recentTokensJson = new RecentResults<readonly TokenEntry[]>(512);

function parseTokens(input: KubeletPublishInput, identity: PublishRequest['identity'], now: Date): TokenSet {
  const located = locateServiceAccountTokens(input);
  const tokens = new Map<string, ServiceAccountToken>();
  if (located === undefined) return tokens;
  // The entries depend on the JSON alone; the checks against this pod and this moment run every time.
  const entries = recentTokensJson.get(located.json, (json) => Object.freeze(parseTokensJson(located.where, json)));
  for (const entry of entries) {
    tokens.set(entry.audience, checkServiceAccountToken(entry, identity, now));
  }
  return tokens;
}

import { Errors } from '../errors/catalogue.js';
import { KUBELET_KEY_PREFIX, own, PROVIDER_ATTRIBUTE } from './volume-context-keys.js';

/**
 * The provider named by the pod's `provider` attribute, or the driver's default. A `provider`
 * attribute that is present but empty is a manifest mistake (not a request for the default):
 * it is refused rather than silently sent to another backend.
 */
export function parseProviderName(volumeContext: Readonly<Record<string, string>>, defaultProvider: string): string {
  const named = own(volumeContext, PROVIDER_ATTRIBUTE);
  if (named === undefined) {
    // cert-manager csi-driver manifests name no provider: their attributes say what they are.
    const implied = impliedProviderName(volumeContext);
    if (implied !== undefined) return implied;
    if (defaultProvider === '') throw Errors.fieldMissing(`volume_context.${PROVIDER_ATTRIBUTE}`);
    return defaultProvider;
  }
  if (named.trim() === '') {
    throw Errors.fieldInvalid(`volume_context.${PROVIDER_ATTRIBUTE}`, 'must name a provider; leave the attribute out to use the default provider');
  }
  return named;
}

/**
 * The provider's parameters: every volume attribute except kubelet's own keys (the
 * `csi.storage.k8s.io/` prefix, which also covers a tokens JSON in volume_context) and
 * `provider`. No size limit: kubelet's map may exceed the CSI spec's 4 KiB and must be accepted.
 */
export function extractParameters(volumeContext: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  // Object.fromEntries defines own properties, so a "__proto__" attribute stays a plain key.
  return Object.freeze(
    Object.fromEntries(Object.entries(volumeContext).filter(([key]) => key !== PROVIDER_ATTRIBUTE && !key.startsWith(KUBELET_KEY_PREFIX))),
  );
}

/** The provider for cert-manager csi-driver volumes (`csi.cert-manager.io/*` attributes, no `provider`). */
export const CERT_MANAGER_ATTRIBUTE_PREFIX = 'csi.cert-manager.io/';
export const CERTIFICATES_PROVIDER = 'certificates';

/** `certificates` when the volume carries cert-manager csi-driver attributes, else undefined. */
export function impliedProviderName(volumeContext: Readonly<Record<string, string>>): string | undefined {
  for (const key in volumeContext) if (key.startsWith(CERT_MANAGER_ATTRIBUTE_PREFIX)) return CERTIFICATES_PROVIDER;
  return undefined;
}

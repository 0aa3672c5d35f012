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

import { Errors } from '../errors/catalogue.js';
import { isDns1123Subdomain, quoteForMessage } from './kubernetes-names.js';
import { KUBELET_KEY_PREFIX, own, SECRET_PROVIDER_CLASS_ATTRIBUTE } from './volume-context-keys.js';

/**
 * The SecretProviderClass a volume references, or undefined for an inline volume. With a
 * reference, the class is the whole configuration (docs/secret-provider-class.md): any other pod
 * attribute (`provider`, `roleName`, ...) is refused naming it, rather than silently ignored as the
 * Secrets Store CSI driver does or merged over the class (a pod would then override what the
 * class's author decided, e.g. point `vaultAddress` elsewhere).
 */
export function parseClassReference(volumeContext: Readonly<Record<string, string>>): string | undefined {
  const name = own(volumeContext, SECRET_PROVIDER_CLASS_ATTRIBUTE);
  if (name === undefined) return undefined;
  const field = `volume_context.${SECRET_PROVIDER_CLASS_ATTRIBUTE}`;
  if (name.trim() === '') throw Errors.fieldInvalid(field, 'must name a SecretProviderClass in the pod\'s namespace');
  if (!isDns1123Subdomain(name)) throw Errors.fieldInvalid(field, `${quoteForMessage(name)} is not a valid object name (lowercase letters, digits, "-" and ".")`);
  for (const key of Object.keys(volumeContext)) {
    if (key === SECRET_PROVIDER_CLASS_ATTRIBUTE || key.startsWith(KUBELET_KEY_PREFIX)) continue;
    throw Errors.classAttributeConflict(key, name);
  }
  return name;
}

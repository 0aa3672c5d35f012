import { Errors } from '../errors/catalogue.js';

/** The group, version and plural of the Secrets Store CSI driver's SecretProviderClass CRD. */
export const SPC_GROUP = 'secrets-store.csi.x-k8s.io';
export const SPC_VERSION = 'v1';
export const SPC_PLURAL = 'secretproviderclasses';

/** What credmount uses of a SecretProviderClass: its provider and parameters (docs/secret-provider-class.md). */
export interface ResolvedClass {
  readonly namespace: string;
  readonly name: string;
  /** `spec.provider`, e.g. `vault`. */
  readonly provider: string;
  /** `spec.parameters`, the provider's parameters exactly as inline `volumeAttributes` would carry them. */
  readonly parameters: Readonly<Record<string, string>>;
  /** `metadata.resourceVersion`, for logs ("which edit of the class did this refresh use"). */
  readonly resourceVersion: string;
  /** `spec.secretObjects` is present: credmount never writes Kubernetes Secrets, so it is ignored. */
  readonly hasSecretObjects: boolean;
}

/** Where SecretProviderClasses come from (the cache over the Kubernetes API in a driver). */
export interface SecretProviderClassSource {
  /**
   * The class in the pod's namespace. Throws CredmountError: CM_CLASS_NOT_FOUND, CM_CLASS_FORBIDDEN,
   * CM_CLASS_INVALID, CM_KUBE_API_UNAVAILABLE, CM_KUBE_API_UNAUTHENTICATED.
   */
  get(namespace: string, name: string): Promise<ResolvedClass>;
}

/** Kubelet's keys are the driver's to set: a class cannot inject pod info or tokens. */
const KUBELET_KEY_PREFIX = 'csi.storage.k8s.io/';

/**
 * Check the object the API returned. The CRD's schema makes `spec.provider` a string and
 * `spec.parameters` a string map, but a CRD installed by someone else may be looser: every field is
 * checked again and a mistake names it.
 */
export function parseSecretProviderClass(namespace: string, name: string, object: unknown): ResolvedClass {
  const invalid = (field: string, reason: string) => Errors.classInvalid(namespace, name, field, reason);
  if (!isRecord(object)) throw invalid('object', 'the API returned something that is not an object');
  const spec = object['spec'];
  if (!isRecord(spec)) throw invalid('spec', 'is missing');
  const provider = spec['provider'];
  if (typeof provider !== 'string' || provider.trim() === '') throw invalid('spec.provider', 'must name a provider');
  const rawParameters = spec['parameters'] ?? {};
  if (!isRecord(rawParameters)) throw invalid('spec.parameters', 'must be a map of strings');
  const parameters: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawParameters)) {
    if (typeof value !== 'string') throw invalid(`spec.parameters.${key}`, 'must be a string (quote it in YAML)');
    if (key.startsWith(KUBELET_KEY_PREFIX)) continue;
    // defineProperty: a "__proto__" parameter stays a plain key, as in kubelet/volume-attributes.
    Object.defineProperty(parameters, key, { value, enumerable: true, writable: false, configurable: false });
  }
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  return Object.freeze({
    namespace,
    name,
    provider,
    parameters: Object.freeze(parameters),
    resourceVersion: typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '',
    hasSecretObjects: Array.isArray(spec['secretObjects']) && spec['secretObjects'].length > 0,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The keys kubelet itself puts into a NodePublishVolume call (pod info needs the CSIDriver's
 * `podInfoOnMount: true`, tokens need its `tokenRequests`). Everything else in `volume_context`
 * comes from the pod's `volumeAttributes`.
 */
export const KUBELET_KEY_PREFIX = 'csi.storage.k8s.io/';

export const PodInfoKeys = {
  podName: 'csi.storage.k8s.io/pod.name',
  podNamespace: 'csi.storage.k8s.io/pod.namespace',
  podUid: 'csi.storage.k8s.io/pod.uid',
  serviceAccountName: 'csi.storage.k8s.io/serviceAccount.name',
  ephemeral: 'csi.storage.k8s.io/ephemeral',
} as const;

/**
 * JSON `{"<audience>": {"token": ..., "expirationTimestamp": ...}}`, in `secrets` (1.35+, opt-in) or
 * `volume_context`. Defined with the error catalogue, whose messages name it (errors/ is below every room).
 */
export { SERVICE_ACCOUNT_TOKENS_KEY } from '../errors/catalogue.js';

/** The pod attribute that names the provider; it is not passed to the provider as a parameter. */
export const PROVIDER_ATTRIBUTE = 'provider';

/** How errors name a volume_context key that contains dots and slashes. */
export function volumeContextField(key: string): string {
  return `volume_context[${JSON.stringify(key)}]`;
}

/** Own properties only: a key such as `constructor` must not be found on Object.prototype. */
export function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * The pod attribute that names a SecretProviderClass in the pod's namespace, as with the Secrets
 * Store CSI driver: the class's `spec.provider` and `spec.parameters` replace inline attributes.
 */
export const SECRET_PROVIDER_CLASS_ATTRIBUTE = 'secretProviderClass';

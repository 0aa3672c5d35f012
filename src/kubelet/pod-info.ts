import { Errors } from '../errors/catalogue.js';
import type { PodIdentity } from '../providers/provider.js';
import { isDns1123Label, isDns1123Subdomain, isPodUid, quoteForMessage } from './kubernetes-names.js';
import { own, PodInfoKeys, volumeContextField } from './volume-context-keys.js';

type VolumeContext = Readonly<Record<string, string>>;

/**
 * Refuse anything but an inline ephemeral volume. Kubelet sends `csi.storage.k8s.io/ephemeral`
 * ("true"/"false", strconv.FormatBool) together with the pod info; a persistent volume would
 * arrive with "false". When the key is absent we accept the call: the pod-info keys, which are
 * required, already prove the caller is a kubelet that honours `podInfoOnMount`.
 */
export function assertEphemeral(volumeContext: VolumeContext): void {
  const value = own(volumeContext, PodInfoKeys.ephemeral);
  if (value === undefined || value === 'true') return;
  throw Errors.fieldInvalid(
    volumeContextField(PodInfoKeys.ephemeral),
    `is ${quoteForMessage(value)}: credmount supports only inline ephemeral volumes (a csi volume in the pod spec, CSIDriver volumeLifecycleModes: [Ephemeral]), not PersistentVolumes`,
  );
}

/**
 * Read who the pod is from the keys kubelet adds with `podInfoOnMount: true`. All four are
 * required: without them the driver cannot act as the pod, nor cross-check its tokens.
 */
export function parsePodInfo(volumeContext: VolumeContext): PodIdentity {
  // Presence first, in this order, so a call without pod info (podInfoOnMount: false) names pod.name.
  const podName = required(volumeContext, PodInfoKeys.podName);
  const namespace = required(volumeContext, PodInfoKeys.podNamespace);
  const podUid = required(volumeContext, PodInfoKeys.podUid);
  const serviceAccountName = required(volumeContext, PodInfoKeys.serviceAccountName);

  check(PodInfoKeys.podName, podName, isDns1123Subdomain, 'must be a Kubernetes pod name (DNS-1123 subdomain)');
  check(PodInfoKeys.podNamespace, namespace, isDns1123Label, 'must be a Kubernetes namespace name (DNS-1123 label)');
  check(PodInfoKeys.podUid, podUid, isPodUid, 'must be a Kubernetes pod UID');
  check(PodInfoKeys.serviceAccountName, serviceAccountName, isDns1123Subdomain, 'must be a Kubernetes service account name (DNS-1123 subdomain)');

  return Object.freeze({ namespace, podName, podUid, serviceAccountName });
}

function required(volumeContext: VolumeContext, key: string): string {
  const value = own(volumeContext, key);
  // An empty value is as useless as a missing one (every pod has a service account). Both mean
  // the CSIDriver object lacks `podInfoOnMount: true`, or the caller is not kubelet.
  if (value === undefined || value === '') throw Errors.fieldMissing(volumeContextField(key));
  return value;
}

function check(key: string, value: string, valid: (value: string) => boolean, rule: string): void {
  if (!valid(value)) throw Errors.fieldInvalid(volumeContextField(key), `${quoteForMessage(value)} ${rule}`);
}

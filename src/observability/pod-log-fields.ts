/**
 * The fields every log line about a volume carries, so one pod's story can be found with one
 * query: namespace, pod, pod UID and service account. Names only — the pod's token is never a field.
 */
export interface PodLogFields {
  readonly volumeId?: string;
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  readonly serviceAccount?: string;
}

export function podLogFields(identity: { namespace: string; podName: string; podUid: string; serviceAccountName: string }, volumeId?: string): PodLogFields {
  return {
    ...(volumeId === undefined ? {} : { volumeId }),
    namespace: identity.namespace,
    pod: identity.podName,
    podUid: identity.podUid,
    serviceAccount: identity.serviceAccountName,
  };
}

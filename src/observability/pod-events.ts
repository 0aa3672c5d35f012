/**
 * A Kubernetes Event about a pod, as the volume manager sees it: which pod, why, and a message
 * that is already safe to show (coded errors never carry tokens or secret values). The sink
 * decides whether and how it reaches the API server (kube/pod-event-recorder.ts: off unless
 * `--kube-events`, aggregated and rate-limited).
 */
export interface PodEventTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface PodWarning {
  readonly pod: PodEventTarget;
  /** UpperCamelCase, e.g. `CredentialRefreshFailed`. */
  readonly reason: string;
  /** The catalogue code (CM_...), so events of one cause aggregate. */
  readonly code: string;
  readonly message: string;
}

export interface PodEventSink {
  /** Fire and forget: never throws, never blocks the caller on the API server. */
  warn(warning: PodWarning): void;
}

export const NO_POD_EVENTS: PodEventSink = Object.freeze({ warn: () => undefined });

/** Reasons credmount uses (docs/metrics.md, "Kubernetes Events"). */
export const EventReasons = {
  refreshFailed: 'CredentialRefreshFailed',
  expired: 'CredentialExpired',
} as const;

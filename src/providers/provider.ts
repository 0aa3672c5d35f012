/**
 * The provider contract. A provider answers one question: "for this identity and these
 * parameters, here are the files, their versions, and when they must be refreshed". It never
 * touches the volume's filesystem, never mounts, and never logs token or secret material.
 */

/** Who the pod is, as kubelet described it (already cross-checked against the token's claims). */
export interface PodIdentity {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly serviceAccountName: string;
}

/** One bound service-account token from kubelet's tokenRequests, for one audience. */
export interface ServiceAccountToken {
  /** The audience it was requested for; `""` is the API server's default audience. */
  readonly audience: string;
  /** The JWT itself. Secret: never log it, never put it in an error or on disk. */
  readonly token: string;
  readonly expiresAt: Date;
  /**
   * Its `kubernetes.io.serviceaccount.uid` claim, or `''` when it has none. Read (not verified)
   * by the kubelet layer's check. Backend credentials cached per service account are keyed by it
   * as well as by name: an account deleted and created again under the same name is another
   * identity.
   */
  readonly serviceAccountUid: string;
}

/** Tokens by audience. */
export type TokenSet = ReadonlyMap<string, ServiceAccountToken>;

/** A file for the volume. `path` is relative to the volume root and validated by storage. */
export interface ProvidedFile {
  readonly path: string;
  readonly content: Uint8Array;
  /** POSIX permission bits; the storage default applies when absent. */
  readonly mode?: number;
}

export interface FetchResult {
  readonly files: readonly ProvidedFile[];
  /**
   * Non-secret version label per object (KV version, certificate serial, lease id hash...).
   * When every version equals `FetchRequest.previousVersions` the volume is left untouched.
   */
  readonly versions: Readonly<Record<string, string>>;
  /** When the content must be fetched again, as the backend sees it (jitter is added by volumes/). */
  readonly refreshAt: Date;
  /** When the earliest credential in the content stops being valid, if it has a hard end. */
  readonly expiresAt?: Date;
  /**
   * The group the volume's files (and its tmpfs root) belong to, group-readable, when the volume
   * itself asks for one (cert-manager csi-driver's `fs-group`); otherwise kubelet's
   * `volume_mount_group` (the pod's fsGroup) applies.
   */
  readonly fileGroup?: number;
}

/** Parameters a provider has validated and normalised. Parsing is pure: no I/O. */
export interface ParsedParameters<P> {
  readonly value: P;
  /** Token audiences this volume needs from kubelet; a missing one is INVALID_ARGUMENT. */
  readonly audiences: readonly string[];
  /**
   * Who may share a fetch result: `serviceAccount` content (secrets) is the same for every pod of
   * one service account with the same parameters; `pod` content (private keys) is never shared —
   * not between pods, and not between two volumes of one pod.
   */
  readonly scope: 'serviceAccount' | 'pod';
}

export interface FetchRequest<P> {
  /** The volume asking (providers that hold per-volume state, such as leases, key it by this). */
  readonly volumeId: string;
  readonly identity: PodIdentity;
  readonly tokens: TokenSet;
  readonly parameters: P;
  readonly previousVersions: Readonly<Record<string, string>> | undefined;
  readonly now: Date;
  readonly signal: AbortSignal;
}

export interface Provider<P = unknown> {
  readonly name: string;
  /**
   * Validate the volume's parameters (volume attributes minus kubelet's own keys and `provider`).
   * Throws `Errors.parameterInvalid(...)` naming the parameter.
   */
  parse(parameters: Readonly<Record<string, string>>, identity: PodIdentity): ParsedParameters<P>;
  /**
   * Fetch the volume's content as the pod. Throws CredmountError: PERMISSION_DENIED when the
   * backend refuses the identity, UNAVAILABLE (with retryAfterMs when known) when it is down or
   * throttling, NOT_FOUND for a missing object.
   */
  fetch(request: FetchRequest<P>): Promise<FetchResult>;
  /** The volume was unpublished: drop what is held for it (leases, cached responses). Best effort. */
  release?(volumeId: string): void;
  /** Release timers, sockets and caches. */
  close?(): Promise<void>;
}

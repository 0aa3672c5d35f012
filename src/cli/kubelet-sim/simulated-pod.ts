/** The little the simulator needs to know about a pod with one inline credmount volume. */
export interface SimulatedPod {
  readonly namespace: string;
  readonly name: string;
  /** The pod UID (a UUID, as the API server assigns). */
  readonly uid: string;
  readonly serviceAccountName: string;
  /** `spec.volumes[].name` of the inline csi volume. */
  readonly volumeName: string;
  /** `spec.volumes[].csi.volumeAttributes`: what the pod asks the driver for (provider, objects...). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The CSIDriver's `tokenRequests` audiences ("" is the API server's default audience). */
  readonly audiences: readonly string[];
  /** `spec.securityContext.fsGroup`. */
  readonly fsGroup?: number;
}

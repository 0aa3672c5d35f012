/**
 * The parts of a NodePublishVolumeRequest that carry kubelet's contract, after csi/ has checked
 * the spec-level arguments (volume id, target path, capability). Plain data: no gRPC types.
 */
export interface KubeletPublishInput {
  readonly volumeId: string;
  readonly targetPath: string;
  readonly readOnly: boolean;
  /** `volume_capability.mount.volume_mount_group` as sent ("" when absent). */
  readonly volumeMountGroup: string;
  /** NodePublishVolumeRequest.secrets — where tokens arrive with serviceAccountTokenInSecrets. */
  readonly secrets: Readonly<Record<string, string>>;
  /** NodePublishVolumeRequest.volume_context — pod info, tokens (≤ 1.34) and the pod's attributes. */
  readonly volumeContext: Readonly<Record<string, string>>;
}

export interface KubeletParseOptions {
  /** Used to reject expired tokens. */
  readonly now: Date;
  /** The provider when the pod names none. */
  readonly defaultProvider: string;
}

import type { PodIdentity, TokenSet } from '../providers/provider.js';

/** A NodePublishVolume call, checked and parsed by csi/ and kubelet/, as volumes/ needs it. */
export interface PublishRequest {
  readonly volumeId: string;
  readonly targetPath: string;
  readonly readOnly: boolean;
  /** fsGroup from `volume_capability.mount.volume_mount_group`. */
  readonly mountGroup: number | undefined;
  readonly identity: PodIdentity;
  readonly tokens: TokenSet;
  /** The `provider` attribute (or the driver's default); `""` with `secretProviderClass`, whose class names it. */
  readonly providerName: string;
  /** Volume attributes that are the provider's parameters: everything but kubelet's keys and `provider`. */
  readonly parameters: Readonly<Record<string, string>>;
  /**
   * The `secretProviderClass` attribute: the provider and parameters come from that
   * SecretProviderClass in the pod's namespace, read when the content is due (never on the fresh
   * path). `parameters` is then empty.
   */
  readonly secretProviderClass?: string;
}

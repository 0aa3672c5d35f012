/**
 * The request and response shapes protobufjs's toObject produces for proto/csi.proto with
 * `keepCase`, `defaults`, `oneofs` and string enums: what arrives on the wire, before any check.
 */
export interface MountVolumeWire {
  fs_type: string;
  mount_flags: string[];
  volume_mount_group: string;
}

export interface VolumeCapabilityWire {
  block?: Record<string, never> | null;
  mount?: MountVolumeWire | null;
  access_mode?: { mode: string } | null;
  access_type?: 'block' | 'mount';
}

export interface NodePublishVolumeRequestWire {
  volume_id: string;
  publish_context: Record<string, string>;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapabilityWire | null;
  readonly: boolean;
  secrets: Record<string, string>;
  volume_context: Record<string, string>;
}

export interface NodeUnpublishVolumeRequestWire {
  volume_id: string;
  target_path: string;
}

export interface NodeGetVolumeStatsRequestWire {
  volume_id: string;
  volume_path: string;
  staging_target_path: string;
}

import { isAbsolute, normalize } from 'node:path';
import { Errors } from '../errors/catalogue.js';
import type { KubeletPublishInput } from '../kubelet/kubelet-publish-input.js';
import type { NodeGetVolumeStatsRequestWire, NodePublishVolumeRequestWire, NodeUnpublishVolumeRequestWire } from './wire-types.js';

/**
 * Spec-level argument checks, done first in every handler (as csi-driver-host-path does) so a
 * malformed call fails before anything is looked up, locked or touched.
 */

export interface PublishArgumentOptions {
  /** Refuse `readonly: false`: a pod should not be able to scribble over its credentials. */
  readonly requireReadOnly: boolean;
}

function requireString(value: string | undefined, field: string): string {
  if (value === undefined || value === '') throw Errors.fieldMissing(field);
  return value;
}

function requireAbsolutePath(value: string | undefined, field: string): string {
  const path = requireString(value, field);
  if (!isAbsolute(path)) throw Errors.fieldInvalid(field, 'must be an absolute path');
  if (path.includes('\0')) throw Errors.fieldInvalid(field, 'must not contain NUL');
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (normalize(trimmed) !== trimmed) throw Errors.fieldInvalid(field, 'must be a normalised path (no "..", "." or "//")');
  return trimmed;
}

export function checkPublishArguments(request: NodePublishVolumeRequestWire, options: PublishArgumentOptions): KubeletPublishInput {
  const volumeId = requireString(request.volume_id, 'volume_id');
  const targetPath = requireAbsolutePath(request.target_path, 'target_path');
  const capability = request.volume_capability;
  if (capability === null || capability === undefined) throw Errors.fieldMissing('volume_capability');
  if (capability.block !== null && capability.block !== undefined) {
    throw Errors.fieldInvalid('volume_capability.block', 'this driver serves only mount volumes (files), not block devices');
  }
  const mount = capability.mount;
  if (mount === null || mount === undefined) throw Errors.fieldMissing('volume_capability.mount');
  if (capability.access_mode === null || capability.access_mode === undefined || capability.access_mode.mode === 'UNKNOWN') {
    throw Errors.fieldMissing('volume_capability.access_mode');
  }
  if (mount.fs_type !== '' && mount.fs_type !== 'tmpfs') {
    throw Errors.fieldInvalid('volume_capability.mount.fs_type', `this driver always mounts tmpfs, not ${JSON.stringify(mount.fs_type)}`);
  }
  if (mount.mount_flags.length > 0) {
    throw Errors.fieldInvalid('volume_capability.mount.mount_flags', 'mount options are not supported for credential volumes');
  }
  if (options.requireReadOnly && !request.readonly) {
    throw Errors.fieldInvalid('readonly', "credential volumes must be read-only: set readOnly: true in the pod's csi volume source");
  }
  return {
    volumeId,
    targetPath,
    readOnly: request.readonly,
    volumeMountGroup: mount.volume_mount_group,
    secrets: request.secrets,
    volumeContext: request.volume_context,
  };
}

export function checkUnpublishArguments(request: NodeUnpublishVolumeRequestWire): { volumeId: string; targetPath: string } {
  return { volumeId: requireString(request.volume_id, 'volume_id'), targetPath: requireAbsolutePath(request.target_path, 'target_path') };
}

export function checkStatsArguments(request: NodeGetVolumeStatsRequestWire): { volumeId: string; volumePath: string } {
  // Not required to be absolute: a path that is not one of ours is simply NOT_FOUND (csi-sanity
  // checks exactly that with a relative path).
  return { volumeId: requireString(request.volume_id, 'volume_id'), volumePath: requireString(request.volume_path, 'volume_path') };
}

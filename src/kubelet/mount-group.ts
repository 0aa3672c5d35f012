import { Errors } from '../errors/catalogue.js';
import { quoteForMessage } from './kubernetes-names.js';

const MAX_GROUP_ID = 2 ** 31 - 1;
const FIELD = 'volume_capability.mount.volume_mount_group';

/**
 * The pod's fsGroup, which kubelet sends in `volume_mount_group` when the driver advertises
 * VOLUME_MOUNT_GROUP (KEP-2317, DelegateFSGroupToCSIDriver): the driver then applies it and
 * kubelet does not chown. "" means the pod has no fsGroup. Kubernetes group IDs are int64 in
 * the API but validated to 0..2^31-1, written in decimal by strconv.FormatInt.
 */
export function parseVolumeMountGroup(value: string): number | undefined {
  if (value === '') return undefined;
  if (!/^(0|[1-9][0-9]{0,9})$/.test(value)) {
    throw Errors.fieldInvalid(FIELD, `${quoteForMessage(value)} must be a decimal group ID from 0 to ${MAX_GROUP_ID}`);
  }
  const group = Number(value);
  if (group > MAX_GROUP_ID) throw Errors.fieldInvalid(FIELD, `${quoteForMessage(value)} must be a decimal group ID from 0 to ${MAX_GROUP_ID}`);
  return group;
}

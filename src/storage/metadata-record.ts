import type { VolumeMetadata } from './storage.js';

/**
 * The on-disk shape of one volume's metadata. It is read back after a driver restart, possibly
 * by a newer driver, so it carries a format version and is checked field by field on the way in:
 * a truncated or hand-edited file must be reported, not half-trusted.
 */

export const METADATA_FORMAT_VERSION = 1;

interface MetadataRecord {
  readonly formatVersion: typeof METADATA_FORMAT_VERSION;
  readonly volume: VolumeMetadata;
}

export function serializeMetadata(metadata: VolumeMetadata): string {
  const record: MetadataRecord = { formatVersion: METADATA_FORMAT_VERSION, volume: metadata };
  return `${JSON.stringify(record, null, 2)}\n`;
}

const STRING_FIELDS = [
  'volumeId',
  'targetPath',
  'podUid',
  'podNamespace',
  'podName',
  'serviceAccountName',
  'provider',
  'parametersDigest',
  'mounterKind',
  'publishedAt',
  'refreshedAt',
  'refreshAt',
] as const;

/** Parse and check a record; throws an Error whose message says what is wrong (no values). */
export function parseMetadata(text: string): VolumeMetadata {
  const record: unknown = JSON.parse(text);
  if (!isObject(record)) throw new Error('not a JSON object');
  if (record['formatVersion'] !== METADATA_FORMAT_VERSION) throw new Error(`unsupported formatVersion ${JSON.stringify(record['formatVersion'])}`);
  const volume = record['volume'];
  if (!isObject(volume)) throw new Error('volume is missing or not an object');

  for (const field of STRING_FIELDS) {
    if (typeof volume[field] !== 'string') throw new Error(`volume.${field} is missing or not a string`);
  }
  if (typeof volume['readOnly'] !== 'boolean') throw new Error('volume.readOnly is missing or not a boolean');
  const mountGroup = volume['mountGroup'] ?? undefined;
  if (mountGroup !== undefined && (typeof mountGroup !== 'number' || !Number.isInteger(mountGroup) || mountGroup < 0)) throw new Error('volume.mountGroup is not a group id');
  const expiresAt = volume['expiresAt'] ?? undefined;
  if (expiresAt !== undefined && typeof expiresAt !== 'string') throw new Error('volume.expiresAt is not a string');
  const versions = volume['versions'];
  if (!isObject(versions) || !Object.values(versions).every((v) => typeof v === 'string')) throw new Error('volume.versions is missing or not a map of strings');

  const strings = Object.fromEntries(STRING_FIELDS.map((field) => [field, volume[field] as string])) as Record<(typeof STRING_FIELDS)[number], string>;
  return {
    ...strings,
    readOnly: volume['readOnly'],
    mountGroup,
    versions: { ...(versions as Record<string, string>) },
    expiresAt,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

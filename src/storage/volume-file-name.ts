import { createHash } from 'node:crypto';
import { Errors } from '../errors/catalogue.js';

/**
 * Metadata is stored as one file per volume, named after the volume id. Kubelet's ids
 * (`csi-<sha256>`) are already safe file names and are used as they are, so an operator can
 * find a volume's record by eye. csi-sanity and other callers send arbitrary ids (slashes,
 * spaces, `..`, unicode), which must neither escape the directory nor collide; those are
 * encoded, with a prefix character that a plain name can never contain, so the two forms can
 * never produce the same name.
 */

/** Characters that need no encoding. */
const PLAIN_ID = /^[A-Za-z0-9._-]+$/;
/** Keeps `<name>.json` well inside NAME_MAX (255 bytes). */
const MAX_NAME_LENGTH = 200;
/** Prefix of base64url-encoded ids (`@` is not in PLAIN_ID). */
const ENCODED_PREFIX = '@';
/** Prefix of ids too long to encode: their SHA-256 (`#` is not in PLAIN_ID either). */
const HASHED_PREFIX = '#';

export const METADATA_FILE_SUFFIX = '.json';

/** The file name (with `.json`) that holds the record of `volumeId`. */
export function metadataFileName(volumeId: string): string {
  if (typeof volumeId !== 'string' || volumeId.length === 0) throw Errors.fieldMissing('volume_id');
  // A leading dot would make `.`/`..` or a hidden name; hidden names are the store's temp files.
  if (PLAIN_ID.test(volumeId) && !volumeId.startsWith('.') && volumeId.length <= MAX_NAME_LENGTH) return `${volumeId}${METADATA_FILE_SUFFIX}`;
  const encoded = `${ENCODED_PREFIX}${Buffer.from(volumeId, 'utf8').toString('base64url')}`;
  if (encoded.length <= MAX_NAME_LENGTH) return `${encoded}${METADATA_FILE_SUFFIX}`;
  // The record itself holds the full id, and load() checks it, so a hash is enough to find it.
  return `${HASHED_PREFIX}${createHash('sha256').update(volumeId, 'utf8').digest('hex')}${METADATA_FILE_SUFFIX}`;
}

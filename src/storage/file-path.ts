import { Errors } from '../errors/catalogue.js';
import type { VolumeFile } from './storage.js';

/**
 * File names inside a volume come from providers, and providers take them from user input
 * (`objectName`, `path`, `fileName`, ...). A name is the one thing that decides where bytes
 * land on the node, so it is checked here, once, before the writer touches the disk.
 *
 * The rules follow kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go, validatePath) so
 * that a name that works in a Secret or projected volume works here, plus a few that kubelet
 * gets from its API validation instead (NUL, backslash, empty elements).
 */

/** Linux NAME_MAX: one path element, in bytes. */
export const MAX_FILE_NAME_BYTES = 255;
/** Linux PATH_MAX: a whole relative path, in bytes. */
export const MAX_FILE_PATH_BYTES = 4096;

/**
 * Check one relative file name and return its normalised form (`./a/b` → `a/b`).
 * Throws `CM_FILE_PATH_INVALID` (INVALID_ARGUMENT) naming the reason.
 */
export function validateVolumeFilePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw refusePath(path, 'it is empty');
  // A NUL ends the string at the system-call boundary: what is checked would not be what is opened.
  if (path.includes('\0')) throw refusePath(path, 'it contains a NUL character');
  // Lone UTF-16 surrogates become U+FFFD when encoded, so two different names could land on one file.
  if (!path.isWellFormed()) throw refusePath(path, 'it is not valid Unicode');
  // Backslashes are separators on Windows and in some consumers' tooling; refusing them keeps a
  // name meaning the same thing to every reader.
  if (path.includes('\\')) throw refusePath(path, 'it contains a backslash');
  if (path.startsWith('/')) throw refusePath(path, 'it is an absolute path');

  const elements: string[] = [];
  for (const element of path.split('/')) {
    // `a//b` and `a/` are almost always a templating mistake; refusing them beats guessing.
    if (element === '') throw refusePath(path, 'it has an empty path element');
    // `..` anywhere could walk out of the volume (or into another generation's directory).
    if (element === '..') throw refusePath(path, "it contains a '..' element");
    // `.` is harmless: drop it so that `./a` and `a` are recognised as the same file.
    if (element === '.') continue;
    if (longerThan(element, MAX_FILE_NAME_BYTES)) throw refusePath(path, `a path element is longer than ${MAX_FILE_NAME_BYTES} bytes`);
    elements.push(element);
  }
  if (elements.length === 0) throw refusePath(path, 'it names the volume directory itself');

  const normalised = elements.join('/');
  // Names beginning with `..` are the writer's own (`..data`, `..data_tmp`, `..<timestamp>`);
  // kubelet reserves them the same way.
  if (normalised.startsWith('..')) throw refusePath(path, "names starting with '..' are reserved for the volume's internal entries");
  if (longerThan(normalised, MAX_FILE_PATH_BYTES)) throw refusePath(path, `it is longer than ${MAX_FILE_PATH_BYTES} bytes`);
  return normalised;
}

// A function, not a closure made per call: every publish checks each name twice (lifecycle and
// writer), and the bundle's keep-names wrapper made a closure per call cost a property definition.
function refusePath(path: string, reason: string) {
  return Errors.filePathInvalid(path, reason);
}

/** Whether `text` takes more than `maxBytes` in UTF-8; a UTF-16 unit is at most 3 bytes, so short text needs no count. */
function longerThan(text: string, maxBytes: number): boolean {
  return text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes;
}

/**
 * Check a whole set of names: each one alone, then the set. Two entries for one file would make
 * the content depend on write order, and a name that is both a file and a directory (`a` and
 * `a/b`) cannot be created at all; both are refused up front rather than failing half-way
 * through a write. Returns the normalised names in input order.
 */
export function validateVolumeFilePaths(paths: readonly string[]): string[] {
  const normalised = paths.map((p) => validateVolumeFilePath(p));
  const files = new Map<string, string>();
  normalised.forEach((name, index) => {
    const original = paths[index] ?? name;
    if (files.has(name)) throw Errors.filePathInvalid(original, `it names the same file as ${JSON.stringify(files.get(name))}`);
    files.set(name, original);
  });
  for (const [name, original] of files) {
    // Every proper prefix of `a/b/c` (`a`, `a/b`) must be a directory, so none may be a file.
    let slash = name.indexOf('/');
    while (slash !== -1) {
      const parent = name.slice(0, slash);
      const clash = files.get(parent);
      if (clash !== undefined) throw Errors.filePathInvalid(original, `${JSON.stringify(clash)} is a file, so it cannot also be a directory`);
      slash = name.indexOf('/', slash + 1);
    }
  }
  return normalised;
}

/** Kubernetes API validation allows file modes 0..0777: nothing setuid, setgid or sticky. */
export const MAX_FILE_MODE = 0o777;

/**
 * Check a whole payload as the writer will: names (alone and as a set), modes, and the total
 * size against `maxBytes` (`CM_CONTENT_TOO_LARGE`). Exported so that the lifecycle can refuse bad
 * provider output before it mounts anything; the writer runs it again before touching the disk.
 * Returns the normalised names in input order.
 */
export function validateVolumeFiles(files: readonly VolumeFile[], maxBytes: number): string[] {
  const paths = validateVolumeFilePaths(files.map((file) => file.path));
  let totalBytes = 0;
  files.forEach((file, index) => {
    if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > MAX_FILE_MODE) {
      throw Errors.fieldInvalid(`mode of file ${JSON.stringify(paths[index])}`, 'must be an integer from 0 to 0o777');
    }
    totalBytes += file.content.byteLength;
  });
  if (totalBytes > maxBytes) throw Errors.contentTooLarge(totalBytes, maxBytes);
  return paths;
}

/** The first element of a normalised name: the entry the user sees at the volume's top level. */
export function topLevelName(normalisedPath: string): string {
  const slash = normalisedPath.indexOf('/');
  return slash === -1 ? normalisedPath : normalisedPath.slice(0, slash);
}

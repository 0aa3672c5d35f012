import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * /proc/self/mountinfo is the kernel's own list of mounts in this mount namespace. It is the
 * authority on "is something mounted here": unlike comparing `stat().dev` of a directory with
 * its parent's, it also sees bind mounts of the same filesystem and stacked mounts, it tells the
 * filesystem type (statfs(2) calls devtmpfs tmpfs too), and it never has to stat a mount that
 * might hang. The driver's container sees kubelet's directory through bidirectional mount
 * propagation, so its own namespace is the right one to read. TmpfsMounter asks it only what
 * statfs(2) and stat(2) cannot settle: a tmpfs it knows (mounted, or seen here once) whose
 * device differs from its parent's is answered without it (tmpfs-mounter.ts).
 */

export interface MountInfoEntry {
  /** Where it is mounted, with the kernel's octal escapes (`\040` for a space, ...) decoded. */
  readonly mountPoint: string;
  /** Per-mount options (`rw,nosuid,nodev,noexec,relatime`). */
  readonly mountOptions: string;
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: string;
}

export const MOUNT_INFO_PATH = '/proc/self/mountinfo';

/** Read and parse the mount table; later entries are mounted on top of earlier ones. */
export async function readMountInfo(path: string = MOUNT_INFO_PATH): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile(path, 'utf8'));
}

/**
 * Format (proc(5)): `id parent major:minor root mountPoint options [optional...] - fsType source superOptions`.
 * The optional fields vary in number, so the fixed fields after them are found from the `-`.
 */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const mountPoint = fields[4];
    if (separator === -1 || mountPoint === undefined) continue;
    entries.push({
      mountPoint: unescapeMountField(mountPoint),
      mountOptions: fields[5] ?? '',
      fsType: fields[separator + 1] ?? '',
      source: unescapeMountField(fields[separator + 2] ?? ''),
      superOptions: fields[separator + 3] ?? '',
    });
  }
  return entries;
}

/**
 * The topmost mount at exactly `mountPoint` (resolved, absolute), read from the table without
 * parsing all of it: only lines that contain the path in its escaped form are parsed. With one
 * tmpfs per pod volume the table has hundreds of lines, and this runs on every mount and unmount.
 */
export async function readTopMountAt(mountPoint: string, path: string = MOUNT_INFO_PATH): Promise<MountInfoEntry | undefined> {
  // Synchronous: the kernel generates the table in memory; a thread-pool round trip costs more.
  const text = readFileSync(path, 'utf8');
  const needle = ` ${escapeMountField(mountPoint)} `;
  let found: MountInfoEntry | undefined;
  for (let at = text.indexOf(needle); at !== -1; ) {
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const newline = text.indexOf('\n', at);
    const lineEnd = newline === -1 ? text.length : newline;
    // The needle may also be the line's root field: the parsed mount point decides.
    const entry = parseMountInfo(text.slice(lineStart, lineEnd))[0];
    if (entry?.mountPoint === mountPoint) found = entry; // later lines are mounted on top
    at = text.indexOf(needle, lineEnd);
  }
  return found;
}

/** The kernel's escaping of a path in the table (the inverse of unescapeMountField). */
export function escapeMountField(field: string): string {
  return field.replace(/[ \t\n\\]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The kernel escapes space, tab, newline and backslash as three octal digits. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The topmost mount at exactly `mountPoint` (a resolved, absolute path), if any. */
export function topMountAt(entries: readonly MountInfoEntry[], mountPoint: string): MountInfoEntry | undefined {
  let found: MountInfoEntry | undefined;
  for (const entry of entries) if (entry.mountPoint === mountPoint) found = entry;
  return found;
}

/** Mounts strictly below `dir` (which would be destroyed by a recursive delete of it). */
export function mountsBelow(entries: readonly MountInfoEntry[], dir: string): MountInfoEntry[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return entries.filter((entry) => entry.mountPoint.startsWith(prefix));
}

import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { describeError, isCredmountError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';
import { topLevelName, validateVolumeFiles } from './file-path.js';
import type { AtomicWriter, VolumeFile, WriteOptions } from './storage.js';

/**
 * kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go), reimplemented: the layout is the
 * one every Kubernetes user and every config-reloading library already knows.
 *
 *   <dir>/..2026_01_02_15_04_05.AbC123/   one generation of content (real files)
 *   <dir>/..data -> ..2026_01_02_15_04_05.AbC123
 *   <dir>/<name> -> ..data/<name>         one symlink per top-level entry, what the pod opens
 *
 * A new generation is written beside the old one and published by renaming a fresh symlink
 * over `..data`. rename(2) is atomic, so any path resolved through `..data` lands wholly in
 * the old generation or wholly in the new one, and the volume is never empty.
 *
 * A reader that needs several files from one generation should resolve `..data` once
 * (readlink/realpath) and read everything below the directory it names, as kubelet's own
 * consumers do; opening each `<name>` separately may straddle a swap.
 *
 * The writer is not re-entrant for one directory: the caller (the per-volume lock in
 * `volumes/`) serialises writes. Every step tolerates the leftovers of a crash in any other.
 */

/**
 * The file system calls, made directly rather than through libuv's thread pool. The writer only
 * ever works inside a volume's tmpfs — memory, where each call returns in microseconds — and a
 * publish makes some forty of them: as thread-pool round trips they were ~1.3 ms of every
 * publish and most of its CPU (bench/README.md, optimisation log). (Without root the directory
 * mounter writes plain directories on the node's disk instead; those are development setups.)
 * Each is still awaited, so the steps read as before and errors surface as rejections.
 */
const fs = {
  mkdtemp: async (prefix: string) => fsSync.mkdtempSync(prefix),
  mkdir: async (path: string) => void fsSync.mkdirSync(path),
  chown: async (path: string, uid: number, gid: number) => fsSync.chownSync(path, uid, gid),
  chmod: async (path: string, mode: number) => fsSync.chmodSync(path, mode),
  readlink: async (path: string) => fsSync.readlinkSync(path),
  lstat: async (path: string) => fsSync.lstatSync(path),
  /**
   * lstat that answers `undefined` for a missing entry instead of throwing: a first publish finds
   * none of `..data` or the user-visible names, and a thrown ENOENT (an Error with its stack) cost
   * ~40 µs each, six of them per new volume.
   */
  lstatIfExists: async (path: string) => fsSync.lstatSync(path, { throwIfNoEntry: false }),
  readFile: async (path: string) => fsSync.readFileSync(path),
  readdir: (async (path: string, options?: { withFileTypes: true }) =>
    options?.withFileTypes === true ? fsSync.readdirSync(path, { withFileTypes: true }) : fsSync.readdirSync(path)) as {
    (path: string): Promise<string[]>;
    (path: string, options: { withFileTypes: true }): Promise<fsSync.Dirent[]>;
  },
  symlink: async (target: string, path: string) => fsSync.symlinkSync(target, path),
  rename: async (from: string, to: string) => fsSync.renameSync(from, to),
  rm: async (path: string, options: fsSync.RmOptions) => fsSync.rmSync(path, options),
};

/** The symlink that names the current generation. */
export const DATA_LINK_NAME = '..data';
/** Where the next `..data` symlink is built before it is renamed into place. */
export const DATA_LINK_TMP_NAME = '..data_tmp';

/** Directories inside a generation: readable by anyone who may read the files... */
const DIR_MODE = 0o755;
/** ...or, with an fsGroup, by owner and group only (the tmpfs root is 0750 then, too). */
const DIR_MODE_WITH_GROUP = 0o750;
/** fsGroup members must be able to read every file, as kubelet's SetVolumeOwnership ensures. */
const GROUP_READ = 0o040;
/** Largest valid gid (2^32 - 1 is the "no change" value of chown(2)). */
const MAX_GID = 0xfffffffe;

/** A validated payload entry: normalised path and the mode the file will really have on disk. */
interface PreparedFile {
  readonly path: string;
  readonly content: Uint8Array;
  readonly mode: number;
}

export interface AtomicDirectoryWriterOptions {
  /** Clock for generation directory names; injectable so tests are deterministic. */
  readonly now?: () => Date;
  /**
   * How long the previous generation stays after a swap (step 9); 0 removes it at once.
   * Default {@link PREVIOUS_GENERATION_GRACE_MS}.
   */
  readonly previousGenerationGraceMs?: number;
}

/**
 * The previous generation outlives a swap by this long. The writer's calls take microseconds, so
 * without a grace a reader that resolved `..data` just before the swap could find its generation
 * gone before it opened a file (ENOENT through a link the pod uses). kubelet's writer removes it at
 * once, but its steps are slow enough that readers rarely notice; ours are not. A second is ample
 * for a resolve-then-open, and far below the minutes between a volume's refreshes.
 */
export const PREVIOUS_GENERATION_GRACE_MS = 1_000;

export class AtomicDirectoryWriter implements AtomicWriter {
  readonly #now: () => Date;

  readonly #graceMs: number;

  constructor(options: AtomicDirectoryWriterOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#graceMs = options.previousGenerationGraceMs ?? PREVIOUS_GENERATION_GRACE_MS;
  }

  /**
   * Step 9's deferred removal of one named generation. Generation names are unique and never
   * reused, so removing this one later cannot touch a newer write's directory; if the volume was
   * unmounted or rewritten meanwhile, there is nothing left to remove and `force` makes it a no-op.
   */
  #retire(dir: string, generation: string): void {
    const path = join(dir, generation);
    const remove = () => {
      try {
        fsSync.rmSync(path, { recursive: true, force: true });
      } catch {
        // Best effort: the next write's step 3 removes whatever is left.
      }
    };
    if (this.#graceMs <= 0) remove();
    else setTimeout(remove, this.#graceMs).unref();
  }

  async write(dir: string, files: readonly VolumeFile[], options: WriteOptions): Promise<void> {
    // 1. Validate everything (names, set conflicts, modes, gid, total size) before any I/O,
    //    so that bad input changes nothing on disk.
    const payload = preparePayload(files, options);
    const topLevelNames = new Set(payload.map((file) => topLevelName(file.path)));

    try {
      // 2. Find the current generation. A `..data` that is not a symlink, or names a missing
      //    directory, is debris from something else: treat the volume as having no content.
      const currentGeneration = await readDataLink(dir);

      // 3. Remove crash leftovers (orphan generations, a stale `..data_tmp`) first: the tmpfs is
      //    sized for two generations, so space for the new one must not be held by dead ones.
      //    What remains is the top level that steps 4, 7 and 8 work from: the caller's lock keeps
      //    anyone else from writing here meanwhile, and this call adds only `..` entries.
      const present = await removeOrphans(dir, currentGeneration);

      // 4. Idempotent early return: the same paths, bytes, modes and group are already
      //    published. Republish calls land here every minute; they must not churn the tmpfs.
      //    The user-visible links are still reconciled, in case a crash hit between the
      //    `..data` rename and their creation on an earlier call.
      if (currentGeneration !== undefined && (await generationMatches(join(dir, currentGeneration), payload, options.gid))) {
        await linkUserVisibleNames(dir, topLevelNames, present);
        await removeStaleUserVisibleNames(dir, present, topLevelNames);
        return;
      }

      // 5. Write the new generation into its own timestamped directory.
      const newGeneration = await this.#writeGeneration(dir, payload, options.gid);

      // 6. Publish it: build `..data_tmp` -> new generation, rename it over `..data`. From here
      //    on readers see the new content.
      try {
        // Step 3 removed any stale `..data_tmp`; a `..data` step 2 did not read as content may be debris.
        await swapDataLink(dir, newGeneration, currentGeneration === undefined && present.has(DATA_LINK_NAME));
      } catch (error) {
        // Not published: the old generation is intact and still current; drop the new one.
        await fs.rm(join(dir, newGeneration), { recursive: true, force: true });
        await fs.rm(join(dir, DATA_LINK_TMP_NAME), { force: true });
        throw error;
      }

      // 7. Create the user-visible symlinks for top-level names that are new in this generation.
      await linkUserVisibleNames(dir, topLevelNames, present);
      // 8. Remove user-visible names the new generation no longer has.
      await removeStaleUserVisibleNames(dir, present, topLevelNames);
      // 9. Retire the previous generation — the only `..` entry left besides `..data` and the new
      //    one, since step 3 removed the rest. Not at once: a reader on another thread may have
      //    resolved `..data` (or a user-visible link) to it just before the swap and not yet
      //    opened its file. It is removed after a grace period, or by the next write's step 3,
      //    whichever comes first.
      if (currentGeneration !== undefined) this.#retire(dir, currentGeneration);
    } catch (error) {
      if (isCredmountError(error)) throw error;
      throw Errors.internal(`writing the volume content in ${dir} failed: ${describeError(error)}`);
    }
  }

  /** Step 5: a fresh `..<timestamp>.<random>` directory holding every file with its final mode. */
  async #writeGeneration(dir: string, payload: readonly PreparedFile[], gid: number | undefined): Promise<string> {
    const dirMode = gid === undefined ? DIR_MODE : DIR_MODE_WITH_GROUP;
    // mkdtemp adds six random characters: two writes in one second still get distinct names.
    const generationPath = await fs.mkdtemp(join(dir, `..${formatTimestamp(this.#now())}.`));
    try {
      // mkdtemp creates 0700 whatever the umask; set the mode the pod needs explicitly.
      await applyOwnership(generationPath, dirMode, gid);
      const createdDirs = new Set<string>();
      for (const file of payload) {
        await makeParentDirs(generationPath, file.path, dirMode, gid, createdDirs);
        await writeNewFile(join(generationPath, file.path), file, gid);
      }
    } catch (error) {
      await fs.rm(generationPath, { recursive: true, force: true });
      throw error;
    }
    return generationPath.slice(dir.length + 1);
  }
}

/** One file of a new generation, with its final mode (and group). */
async function writeNewFile(path: string, file: PreparedFile, gid: number | undefined): Promise<void> {
  // O_EXCL|O_NOFOLLOW: the directory is brand new, so any existing entry (or symlink)
  // here would mean something else is writing into it: fail rather than follow it.
  const fd = fsSync.openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fsSync.writeFileSync(fd, file.content);
    // chown before chmod, and chmod explicitly: the creation mode was filtered by umask.
    if (gid !== undefined) fsSync.fchownSync(fd, -1, gid);
    fsSync.fchmodSync(fd, file.mode);
    // No fsync: the volume is a tmpfs, which has nothing to flush to.
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * Read the files of the generation `..data` names now, sorted by path, with their on-disk
 * modes; `undefined` when the volume has no published content. Used by tests and by anything
 * that must know what a pod currently sees.
 */
export async function readCurrentFiles(dir: string): Promise<VolumeFile[] | undefined> {
  const generation = await readDataLink(dir);
  if (generation === undefined) return undefined;
  const entries = await readGeneration(join(dir, generation));
  if (entries === undefined) return undefined;
  return [...entries.values()].map((entry) => ({ path: entry.path, content: entry.content, mode: entry.mode })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function preparePayload(files: readonly VolumeFile[], options: WriteOptions): PreparedFile[] {
  const paths = validateVolumeFiles(files, options.maxBytes);
  const gid = options.gid;
  if (gid !== undefined && (!Number.isInteger(gid) || gid < 0 || gid > MAX_GID)) {
    throw Errors.fieldInvalid('volume_mount_group', `must be a group id from 0 to ${MAX_GID}`);
  }
  const prepared = files.map(
    (file, index): PreparedFile => ({ path: paths[index] as string, content: file.content, mode: gid === undefined ? file.mode : file.mode | GROUP_READ }),
  );
  // Parents before children, and a stable order, so that writes are reproducible.
  return prepared.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The generation directory `..data` names, if it is one of ours and exists. */
async function readDataLink(dir: string): Promise<string | undefined> {
  const linkPath = join(dir, DATA_LINK_NAME);
  // A new volume has no `..data`: found out without a thrown ENOENT. A non-symlink is not ours.
  const link = await fs.lstatIfExists(linkPath);
  if (link === undefined || !link.isSymbolicLink()) return undefined;
  let target: string;
  try {
    target = await fs.readlink(linkPath);
  } catch (error) {
    // Gone or replaced since the lstat (nothing else should write here, but never trust that).
    // EINVAL: `..data` exists but is not a symlink. Nothing we wrote; swapDataLink clears it.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EINVAL') return undefined;
    throw error;
  }
  // We only ever write a bare `..<timestamp>` name; anything else is not a generation of ours.
  if (!target.startsWith('..') || target.includes('/') || target === DATA_LINK_NAME || target === DATA_LINK_TMP_NAME) return undefined;
  try {
    const stats = await fs.lstat(join(dir, target));
    return stats.isDirectory() ? target : undefined;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

interface OnDiskFile {
  readonly path: string;
  readonly content: Buffer;
  readonly mode: number;
  readonly gid: number;
}

/** Every regular file below a generation directory; `undefined` if it holds anything else. */
async function readGeneration(generationPath: string): Promise<Map<string, OnDiskFile> | undefined> {
  const files = new Map<string, OnDiskFile>();
  const walk = async (relative: string): Promise<boolean> => {
    const entries = await fs.readdir(join(generationPath, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!(await walk(path))) return false;
      } else if (entry.isFile()) {
        const full = join(generationPath, path);
        const [stats, content] = await Promise.all([fs.lstat(full), fs.readFile(full)]);
        files.set(path, { path, content, mode: stats.mode & 0o7777, gid: stats.gid });
      } else {
        return false;
      }
    }
    return true;
  };
  return (await walk('')) ? files : undefined;
}

/**
 * Whether the generation on disk holds exactly the payload: same paths, bytes, modes and, when an
 * fsGroup is set, group. Without one the group is not compared: files then get whatever group the
 * kernel gives the driver's files, and comparing against a guess would turn every republish into
 * a rewrite. (A volume's fsGroup cannot change between publishes anyway; `volumes/` refuses that.)
 */
async function generationMatches(generationPath: string, payload: readonly PreparedFile[], gid: number | undefined): Promise<boolean> {
  const onDisk = await readGeneration(generationPath);
  if (onDisk === undefined || onDisk.size !== payload.length) return false;
  return payload.every((file) => {
    const existing = onDisk.get(file.path);
    return (
      existing !== undefined &&
      existing.mode === file.mode &&
      (gid === undefined || existing.gid === gid) &&
      Buffer.compare(existing.content, file.content) === 0
    );
  });
}

async function makeParentDirs(root: string, path: string, mode: number, gid: number | undefined, created: Set<string>): Promise<void> {
  const elements = path.split('/').slice(0, -1);
  let relative = '';
  for (const element of elements) {
    relative = relative === '' ? element : `${relative}/${element}`;
    if (created.has(relative)) continue;
    await fs.mkdir(join(root, relative));
    await applyOwnership(join(root, relative), mode, gid);
    created.add(relative);
  }
}

async function applyOwnership(path: string, mode: number, gid: number | undefined): Promise<void> {
  // uid -1: the owner stays the driver (root); only the group becomes the pod's fsGroup.
  if (gid !== undefined) await fs.chown(path, -1, gid);
  await fs.chmod(path, mode);
}

/**
 * Step 6: the one atomic step. No `..data_tmp` is left at this point (a crash between symlink and
 * rename on an earlier call leaves one behind; step 3 removed it). `dataLinkMayBeDebris`: a
 * `..data` exists that readDataLink did not take for our link to a generation.
 */
async function swapDataLink(dir: string, generation: string, dataLinkMayBeDebris: boolean): Promise<void> {
  const tmpLink = join(dir, DATA_LINK_TMP_NAME);
  const dataLink = join(dir, DATA_LINK_NAME);
  // rename(2) cannot put a symlink over a directory: a `..data` that is not our symlink is debris
  // (readDataLink already reported "no content" for it), so clear it.
  if (dataLinkMayBeDebris) {
    const existing = await fs.lstatIfExists(dataLink);
    if (existing !== undefined && !existing.isSymbolicLink()) await fs.rm(dataLink, { recursive: true, force: true });
  }
  // Relative target: the volume stays valid wherever it is mounted (in the pod, in the node).
  await fs.symlink(generation, tmpLink);
  await fs.rename(tmpLink, dataLink);
}

/**
 * Steps 4 and 7: `<name> -> ..data/<name>` for every top-level entry, repaired if wrong. `present`
 * is step 3's listing of the directory: a name it lacks is created without looking first (a new
 * volume's every name: one symlink(2) each instead of a failed lstat and a symlink); should it
 * exist after all, it is looked at and repaired like any other.
 */
async function linkUserVisibleNames(dir: string, names: ReadonlySet<string>, present: ReadonlySet<string>): Promise<void> {
  for (const name of names) {
    const linkPath = join(dir, name);
    const target = `${DATA_LINK_NAME}/${name}`;
    if (!present.has(name) && (await symlinkIfAbsent(target, linkPath))) continue;
    const existing = await fs.lstatIfExists(linkPath);
    if (existing?.isSymbolicLink() === true) {
      if ((await fs.readlink(linkPath)) === target) continue;
      await fs.rm(linkPath, { force: true });
    } else if (existing !== undefined) {
      // Not a link (debris, or content written before a mount): ours to clear at this name.
      await fs.rm(linkPath, { recursive: true, force: true });
    }
    // The link goes through `..data`, never to a generation directly, so it keeps pointing at
    // the current content after every later swap without being touched again.
    await fs.symlink(target, linkPath);
  }
}

/** symlink(2) that answers `false` when the name is taken instead of throwing. */
async function symlinkIfAbsent(target: string, path: string): Promise<boolean> {
  try {
    await fs.symlink(target, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Step 3: every `..`-prefixed entry other than `..data` and the current generation is ours and
 * dead — a previous generation, generations orphaned by a crash, a stale `..data_tmp` — and is
 * removed (the tmpfs is sized for two generations: a write within the grace of the last one
 * removes the retired generation early rather than run out of space). Returns the names left.
 */
async function removeOrphans(dir: string, currentGeneration: string | undefined): Promise<Set<string>> {
  const present = new Set<string>();
  for (const name of await fs.readdir(dir)) {
    const orphan = name.startsWith('..') && name !== DATA_LINK_NAME && name !== currentGeneration;
    if (orphan) await fs.rm(join(dir, name), { recursive: true, force: true });
    else present.add(name);
  }
  return present;
}

/**
 * Steps 4 and 8: top-level entries (not `..`-prefixed) of step 3's listing that the payload lacks.
 * fs.rm does not follow symlinks: a link is removed, never the content it names.
 */
async function removeStaleUserVisibleNames(dir: string, present: ReadonlySet<string>, keep: ReadonlySet<string>): Promise<void> {
  for (const name of present) {
    if (!name.startsWith('..') && !keep.has(name)) await fs.rm(join(dir, name), { recursive: true, force: true });
  }
}

/** kubelet's generation name format, `2006_01_02_15_04_05`, in UTC. */
function formatTimestamp(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getUTCFullYear()}_${pad(date.getUTCMonth() + 1)}_${pad(date.getUTCDate())}_${pad(date.getUTCHours())}_${pad(date.getUTCMinutes())}_${pad(date.getUTCSeconds())}`;
}

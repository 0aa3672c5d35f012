import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';
import { parseMetadata, serializeMetadata } from './metadata-record.js';
import type { MetadataStore, VolumeMetadata } from './storage.js';
import { METADATA_FILE_SUFFIX, metadataFileName } from './volume-file-name.js';

/**
 * Per-volume metadata in `<stateDir>/volumes/<volumeId>.json`, the driver's memory across
 * restarts (cert-manager csi-lib keeps the same kind of record). It is on the node's persistent
 * disk, so it holds no token, secret value or key — the VolumeMetadata type has no field for one.
 *
 * A record is replaced by writing a temp file and renaming it over the old one, so a crash of
 * the driver leaves either the old record or the new one, never a torn file: the page cache
 * outlives the process. There is deliberately no fsync (it was 0.8 ms of every publish): the
 * records only have to outlive the driver process, not the node. A power loss or reboot also
 * empties every tmpfs the records describe; what the lifecycle does then does not depend on the
 * records being durable — a record that survived finds its mount gone and the volume is built
 * again, a lost or torn one is skipped as corrupt and the next publish is a first publish.
 */

/** A record that could not be used; `reason` names the problem, never the content. */
export interface MetadataProblem {
  readonly file: string;
  readonly reason: string;
}

const writeFileCallback = promisify(fsSync.writeFile);
const renameCallback = promisify(fsSync.rename);

export interface MetadataListing {
  readonly volumes: VolumeMetadata[];
  readonly problems: MetadataProblem[];
}

export interface FileMetadataStoreOptions {
  /** Told about every unreadable or corrupt record that load() or list() skipped. */
  readonly onProblem?: (problem: MetadataProblem) => void;
}

export class FileMetadataStore implements MetadataStore {
  readonly directory: string;
  readonly #onProblem: (problem: MetadataProblem) => void;
  #directoryReady: Promise<void> | undefined;
  // Temporary names: random per store, counted per save. A random name per save cost a
  // randomBytes call on every publish; the random part still keeps a restarted driver (in a
  // container, always pid 1) off a temporary file a crash left behind, which 'wx' would refuse.
  readonly #tempPrefix = randomBytes(6).toString('hex');
  #tempCount = 0;

  constructor(stateDir: string, options: FileMetadataStoreOptions = {}) {
    this.directory = join(stateDir, 'volumes');
    this.#onProblem = options.onProblem ?? (() => undefined);
  }

  /**
   * The record of `volumeId`, or `undefined` when there is none. A corrupt record is reported to
   * `onProblem` and treated as absent: failing here would block the volume's republish and
   * unpublish forever, while "no record" lets the lifecycle recover (and overwrite it).
   */
  async load(volumeId: string): Promise<VolumeMetadata | undefined> {
    const file = join(this.directory, metadataFileName(volumeId));
    const result = await this.#read(file);
    if (result === undefined) return undefined;
    if ('reason' in result) {
      this.#onProblem(result);
      return undefined;
    }
    if (result.volumeId !== volumeId) {
      this.#onProblem({ file, reason: 'the record inside belongs to another volume id' });
      return undefined;
    }
    return result;
  }

  async save(metadata: VolumeMetadata): Promise<void> {
    const name = metadataFileName(metadata.volumeId);
    await this.#ensureDirectory();
    const finalPath = join(this.directory, name);
    // A hidden name in the same directory: rename needs one filesystem, and list() skips it.
    const tempPath = join(this.directory, `.${name}.${this.#tempPrefix}-${(this.#tempCount += 1)}.tmp`);
    // Through the thread pool: the volume manager saves a record after kubelet has its answer, so
    // the round trips cost no call any latency, while a synchronous create on the node's disk
    // blocked the event loop — every other call — for 0.1–0.4 ms on the benchmark machine's ext4
    // (bench/README.md, optimisation log). The callback API: fs/promises' FileHandle machinery
    // kept the event loop ~1.7x as long per record (80 vs 45 µs here). 'wx' is O_CREAT|O_EXCL,
    // which never follows a symlink at the name (POSIX open(2)) and fails on anything there.
    try {
      await writeFileCallback(tempPath, serializeMetadata(metadata), { encoding: 'utf8', mode: 0o600, flag: 'wx' });
      await renameCallback(tempPath, finalPath);
    } catch (error) {
      await fs.rm(tempPath, { force: true });
      throw Errors.internal(`saving the metadata of volume ${metadata.volumeId} failed: ${describeError(error)}`);
    }
  }

  async remove(volumeId: string): Promise<void> {
    try {
      fsSync.unlinkSync(join(this.directory, metadataFileName(volumeId)));
    } catch (error) {
      // Idempotent: unpublish retries must not fail on a record that is already gone.
      if (errorCode(error) === 'ENOENT') return;
      throw Errors.internal(`removing the metadata of volume ${volumeId} failed: ${describeError(error)}`);
    }
  }

  /** Every readable record; unusable ones are reported to `onProblem` and skipped. */
  async list(): Promise<VolumeMetadata[]> {
    const { volumes, problems } = await this.listWithProblems();
    for (const problem of problems) this.#onProblem(problem);
    return volumes;
  }

  /**
   * Every readable record, and what was wrong with the others. One bad file must not stop
   * restart recovery of all the other volumes on the node.
   */
  async listWithProblems(): Promise<MetadataListing> {
    let names: string[];
    try {
      names = await fs.readdir(this.directory);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { volumes: [], problems: [] };
      throw Errors.internal(`listing volume metadata failed: ${describeError(error)}`);
    }
    const volumes: VolumeMetadata[] = [];
    const problems: MetadataProblem[] = [];
    for (const name of names.sort()) {
      // Hidden names are temp files of an in-flight (or crashed) save.
      if (name.startsWith('.') || !name.endsWith(METADATA_FILE_SUFFIX)) continue;
      const file = join(this.directory, name);
      const result = await this.#read(file);
      if (result === undefined) continue; // removed since readdir
      if ('reason' in result) problems.push(result);
      else if (metadataFileName(result.volumeId) !== name) problems.push({ file, reason: 'the file name does not match the volume id inside' });
      else volumes.push(result);
    }
    return { volumes, problems };
  }

  async #read(file: string): Promise<VolumeMetadata | MetadataProblem | undefined> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      return { file, reason: `unreadable: ${describeError(error)}` };
    }
    try {
      return parseMetadata(text);
    } catch (error) {
      return { file, reason: `corrupt: ${describeError(error)}` };
    }
  }

  /** `volumes/` at 0700: the records name pods and service accounts; only the driver reads them. */
  #ensureDirectory(): Promise<void> {
    this.#directoryReady ??= (async () => {
      await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
      // mkdir leaves an existing directory's mode alone (and applies the umask): set it.
      await fs.chmod(this.directory, 0o700);
    })().catch((error: unknown) => {
      this.#directoryReady = undefined; // retry on the next save
      throw Errors.internal(`creating the metadata directory ${this.directory} failed: ${describeError(error)}`);
    });
    return this.#directoryReady;
  }
}

/**
 * The storage contract: where a volume's bytes live on the node. Three pieces, each swappable
 * in tests: the mounter (tmpfs at the target path), the atomic writer (kubelet's `..data`
 * algorithm) and the metadata store (per-volume JSON in the driver's state directory).
 */

export interface MountOptions {
  /** tmpfs `size=`; holds two generations of content during a swap. */
  readonly sizeBytes: number;
  /** fsGroup from `volume_mount_group`: the volume root is group-owned by it. */
  readonly gid?: number;
}

export interface UnmountOptions {
  /** The caller knows this volume (it wrote the content): a non-empty directory may be deleted. */
  readonly removeContent?: boolean;
}

export interface Mounter {
  /** `tmpfs` (real mounts, needs root), `directory` (plain dirs, for the demo without root), or a test fake. */
  readonly kind: string;
  /** Create `target` (and only it: kubelet made the parent) and mount a fresh tmpfs on it. */
  mount(target: string, options: MountOptions): Promise<void>;
  /**
   * Unmount our tmpfs if one is there and remove the directory. Idempotent: a missing target is
   * fine. Never follows a symlink at the target, never unmounts anything but a tmpfs, and deletes
   * content recursively only when `removeContent` says the volume is ours.
   */
  unmount(target: string, options?: UnmountOptions): Promise<void>;
  /** Whether a volume of this mounter is at `target` now. */
  isMounted(target: string): Promise<boolean>;
}

/** A file the writer puts in the volume; `path` is relative and validated by the writer. */
export interface VolumeFile {
  readonly path: string;
  readonly content: Uint8Array;
  readonly mode: number;
}

export interface WriteOptions {
  /** fsGroup: files and directories are chowned to this group and made group-readable. */
  readonly gid?: number;
  /** Refuse content larger than this many bytes in total (INVALID_ARGUMENT). */
  readonly maxBytes: number;
}

export interface AtomicWriter {
  /**
   * Make `dir` hold exactly `files`, switching from the previous set in one rename so that a
   * reader sees the old set or the new one, never a mix, never nothing.
   * Validates every path before touching the disk.
   */
  write(dir: string, files: readonly VolumeFile[], options: WriteOptions): Promise<void>;
}

/** What survives a driver restart about one volume. No tokens, no secret values, no keys. */
export interface VolumeMetadata {
  readonly volumeId: string;
  readonly targetPath: string;
  readonly podUid: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly serviceAccountName: string;
  readonly provider: string;
  /** SHA-256 of the canonical provider parameters: detects an incompatible re-publish. */
  readonly parametersDigest: string;
  readonly readOnly: boolean;
  readonly mountGroup: number | undefined;
  /** Which kind of mounter created the target (`tmpfs` or `directory`): for diagnosis only. */
  readonly mounterKind: string;
  readonly versions: Readonly<Record<string, string>>;
  /** ISO timestamps. */
  readonly publishedAt: string;
  readonly refreshedAt: string;
  readonly refreshAt: string;
  readonly expiresAt: string | undefined;
}

export interface MetadataStore {
  load(volumeId: string): Promise<VolumeMetadata | undefined>;
  /** Written atomically (temp file + rename) so a crash leaves the old or the new record. */
  save(metadata: VolumeMetadata): Promise<void>;
  remove(volumeId: string): Promise<void>;
  list(): Promise<VolumeMetadata[]>;
}

export interface VolumeUsage {
  readonly totalBytes: number;
  readonly availableBytes: number;
  readonly usedBytes: number;
  readonly totalInodes: number;
  readonly availableInodes: number;
  readonly usedInodes: number;
}

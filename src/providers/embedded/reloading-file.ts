import { readFile, stat } from 'node:fs/promises';

/**
 * A small configuration file (policy.yaml, a JWKS file) that is re-read when it changes. Checking
 * costs one stat(), done at most once per `intervalMs`, so calling `get()` on every fetch is cheap.
 *
 * A change is recognised by mtime, size and inode (editors that write a new file and rename it
 * change the inode). When the new content does not parse, the error is kept and thrown until the
 * file is fixed: a broken policy must not silently leave the old, possibly looser, one in force.
 */
export interface ReloadingFileOptions<T> {
  readonly path: string;
  /** Turn the file's bytes into a value; throw an Error whose message says what is wrong. */
  readonly parse: (content: Buffer) => T;
  /** The value when the file does not exist; without it a missing file is an error. */
  readonly whenMissing?: () => T;
  readonly intervalMs: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now: () => number;
}

/** Why a file could not be loaded; the message is safe to show (it never includes file content). */
export class FileLoadError extends Error {
  override readonly name = 'FileLoadError';
}

type State<T> = { readonly stamp: string; readonly value: T; readonly error?: undefined } | { readonly stamp: string; readonly error: FileLoadError };

export class ReloadingFile<T> {
  private state: State<T> | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<T> | undefined;

  constructor(private readonly options: ReloadingFileOptions<T>) {}

  get path(): string {
    return this.options.path;
  }

  /** The current value; re-checks the file when the interval has passed. Throws FileLoadError. */
  async get(): Promise<T> {
    const state = this.state;
    if (state !== undefined && this.options.now() - this.checkedAt < this.options.intervalMs) return unwrap(state);
    // Concurrent callers share one check.
    this.pending ??= this.check().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async check(): Promise<T> {
    this.checkedAt = this.options.now();
    let stamp: string;
    try {
      const info = await stat(this.options.path);
      if (!info.isFile()) return this.settle('not-a-file', () => fail(`${this.options.path} is not a regular file`));
      stamp = `${info.mtimeMs}-${info.size}-${info.ino}`;
    } catch (error: unknown) {
      if (errorCode(error) !== 'ENOENT') return this.settle(`stat-error`, () => fail(`cannot read ${this.options.path}: ${errorText(error)}`));
      const whenMissing = this.options.whenMissing;
      if (whenMissing === undefined) return this.settle('missing', () => fail(`${this.options.path} does not exist`));
      return this.settle('missing', whenMissing);
    }
    return this.settle(stamp, async () => {
      let content: Buffer;
      try {
        content = await readFile(this.options.path);
      } catch (error: unknown) {
        return fail(`cannot read ${this.options.path}: ${errorText(error)}`);
      }
      try {
        return this.options.parse(content);
      } catch (error: unknown) {
        return fail(`${this.options.path}: ${errorText(error)}`);
      }
    });
  }

  /** Keep the current state when the stamp is unchanged, otherwise load and remember the outcome. */
  private async settle(stamp: string, load: () => T | Promise<T>): Promise<T> {
    if (this.state !== undefined && this.state.stamp === stamp && stamp !== 'stat-error') return unwrap(this.state);
    try {
      const value = await load();
      this.state = { stamp, value };
      return value;
    } catch (error: unknown) {
      const loadError = error instanceof FileLoadError ? error : new FileLoadError(errorText(error));
      this.state = { stamp, error: loadError };
      throw loadError;
    }
  }
}

function unwrap<T>(state: State<T>): T {
  if (state.error !== undefined) throw state.error;
  return state.value;
}

function fail(message: string): never {
  throw new FileLoadError(message);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { Errors } from '../../src/errors/catalogue.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, Provider } from '../../src/providers/provider.js';

/**
 * A provider whose backend is a script the test controls: the test sets what the "backend"
 * holds (`files`, `version`), makes it fail or stall, and counts fetches. It stands in for a
 * backend, behind the real Provider interface; volumes/ and everything above it run for real.
 */
export interface ScriptedParameters {
  readonly objects: string;
  readonly audience: string;
}

export class ScriptedProvider implements Provider<ScriptedParameters> {
  readonly name: string;
  fetches = 0;
  files: { path: string; content: string; mode?: number }[] = [{ path: 'secret.txt', content: 'v1' }];
  version = '1';
  /** Time until the content must be refreshed. */
  refreshInMs = 60_000;
  /** Time until the content expires (undefined: never). */
  expiresInMs: number | undefined = undefined;
  /** When set, the next fetches throw it. */
  failWith: Error | undefined = undefined;
  /** When set, fetches wait for this promise first. */
  gate: Promise<void> | undefined = undefined;
  scope: 'serviceAccount' | 'pod' = 'serviceAccount';
  /** The group the backend asks the files to belong to (FetchResult.fileGroup). */
  fileGroup: number | undefined = undefined;
  lastRequest: FetchRequest<ScriptedParameters> | undefined;

  constructor(name = 'scripted') {
    this.name = name;
  }

  parse(parameters: Readonly<Record<string, string>>, _identity: PodIdentity): ParsedParameters<ScriptedParameters> {
    for (const key of Object.keys(parameters)) {
      if (key !== 'objects' && key !== 'audience') throw Errors.parameterInvalid(key, 'unknown parameter');
    }
    const objects = parameters['objects'] ?? '';
    if (objects === 'bad') throw Errors.parameterInvalid('objects', 'not valid');
    const audience = parameters['audience'] ?? 'scripted';
    return { value: { objects, audience }, audiences: [audience], scope: this.scope };
  }

  async fetch(request: FetchRequest<ScriptedParameters>): Promise<FetchResult> {
    this.fetches += 1;
    this.lastRequest = request;
    if (this.gate !== undefined) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    const now = request.now.getTime();
    return {
      files: this.files.map((f) => ({ path: f.path, content: Buffer.from(f.content), ...(f.mode === undefined ? {} : { mode: f.mode }) })),
      versions: { secret: this.version },
      refreshAt: new Date(now + this.refreshInMs),
      ...(this.expiresInMs === undefined ? {} : { expiresAt: new Date(now + this.expiresInMs) }),
      ...(this.fileGroup === undefined ? {} : { fileGroup: this.fileGroup }),
    };
  }
}

/** A promise the test opens when it wants stalled fetches to continue. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * A reader of a volume in its own thread, as a pod's process reads it: it runs truly in parallel
 * with the writer (whose steps are synchronous calls on the main thread), until the main thread
 * sets `stop[0]`. `kind: 'snapshot'` resolves `..data` once and reads every file below it;
 * `kind: 'links'` reads each file through its user-visible name. Posts a summary, or the
 * assertion that failed.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { generationOf, NAMES } from './generations.js';

const { dir, kind, stop } = workerData as { dir: string; kind: 'snapshot' | 'links'; stop: Int32Array };
const DATA_LINK_NAME = '..data';

function snapshots() {
  let last = 0;
  let count = 0;
  let retries = 0;
  while (Atomics.load(stop, 0) === 0) {
    const generationDir = readlinkSync(join(dir, DATA_LINK_NAME));
    let datas: Buffer[];
    try {
      datas = NAMES.map((name) => readFileSync(join(dir, generationDir, name)));
    } catch (error) {
      // The writer deleted the old generation mid-read: `..data` must already name a newer one.
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      if (readlinkSync(join(dir, DATA_LINK_NAME)) === generationDir) throw new Error('ENOENT although ..data still names that generation', { cause: error });
      retries++;
      continue;
    }
    const generations = new Set(NAMES.map((name, i) => generationOf(name, datas[i] as Buffer)));
    if (generations.size !== 1) throw new Error(`a snapshot mixed generations ${[...generations].join(', ')}`);
    const g = [...generations][0] as number;
    if (g < last) throw new Error(`went back from generation ${last} to ${g}`);
    last = g;
    count++;
  }
  return { snapshots: count, retries, last };
}

function links() {
  const last = new Map<string, number>();
  const seen = new Set<number>();
  let reads = 0;
  while (Atomics.load(stop, 0) === 0) {
    for (const name of NAMES) {
      const g = generationOf(name, readFileSync(join(dir, name)));
      if (g < (last.get(name) ?? 0)) throw new Error(`${name} went back in time`);
      last.set(name, g);
      seen.add(g);
      reads++;
    }
  }
  return { reads, distinct: seen.size };
}

try {
  parentPort?.postMessage({ ok: true, result: kind === 'snapshot' ? snapshots() : links() });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
}

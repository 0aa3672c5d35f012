import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The name of a run's results file in `dir`: `<date>.json`, or `<date>-2.json`, `-3`, … when runs
 * of that day are already there. A day's later run never overwrites an earlier one, which the
 * optimisation log in bench/README.md may cite.
 */
export function freeResultName(dir: string, date: string): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? `${date}.json` : `${date}-${n}.json`;
    if (!existsSync(join(dir, name))) return name;
  }
}

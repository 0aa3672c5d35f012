import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { DRIVER_MAIN } from '../test/support/child-driver.js';

/**
 * `--compare MAIN`: the selected measurements for this build and for another build's
 * `cli/main.js`, alternately, `rounds` times each (A B A B ...), and a table of the figures side
 * by side. Why: on a shared VM the speed of the machine moves by tens of percent within an hour
 * (bench/README.md, session 4), so a before/after taken from runs an hour apart measures the
 * machine; interleaved runs see the same machine.
 *
 * `--compare-flags FLAGS`: the same, for this build as shipped and this build with more Node.js
 * flags for the driver and the reference servers (after the image's, so a flag the image sets is
 * overridden: `--max-semi-space-size=4`) — trying a runtime flag without a second build.
 *
 * Each run is this runner again in a child process (`--only`, the other build through
 * CREDMOUNT_BENCH_DRIVER_MAIN, the flags through CREDMOUNT_BENCH_DRIVER_NODE_FLAGS), so nothing
 * of one run stays in memory for the next.
 */

/** What the other column runs: another build, or this one with more Node.js flags. */
export type CompareOther = { readonly main: string } | { readonly flags: string };

export interface CompareOptions {
  readonly names: readonly string[];
  /** Another build's entry point (a copy of dist/bundle kept inside the repository), or flags. */
  readonly other: CompareOther;
  readonly rounds: number;
  readonly smoke: boolean;
  readonly runner: string;
}

/** One column of the table: which build, which round, its raw `--only` output. */
export interface CompareRun {
  readonly build: 'this' | 'other';
  readonly round: number;
  readonly results: Record<string, unknown>;
}

/** The figures worth comparing, by their path in `--only` output (the rest is detail). */
const FIGURES = /(^|\.)(latency\.(p50|p99)|readyMs\.p50|wallMsMedian|driverHandlerMeanMs|unpublish\.p50|volumeStats\.(p50|p99)|(setUp|latencyOneConnection|volumeStatsSetUp|roundTripOneConnection)\.(p50|p99)|stolenCpuPercent\.[^.]+|cpuSecondsPer1000|rssPeakMiB|rssSettledMiB|rssAnonSettledMiB|rssMiB|rssAnonMiB)$/;

export async function runCompare(options: CompareOptions): Promise<{ runs: CompareRun[]; table: string }> {
  if (options.rounds < 1 || !Number.isInteger(options.rounds)) throw new Error(`--rounds must be a whole number from 1, not ${options.rounds}`);
  const thisMain = process.env['CREDMOUNT_BENCH_DRIVER_MAIN'] ?? DRIVER_MAIN;
  const thisFlags = process.env['CREDMOUNT_BENCH_DRIVER_NODE_FLAGS'] ?? '';
  let other: Readonly<Record<string, string>>;
  if ('main' in options.other) {
    const otherMain = options.other.main;
    await access(otherMain).catch(() => {
      throw new Error(`--compare: no build at ${otherMain} (a copy of dist/bundle must stay inside the repository, where its packages resolve)`);
    });
    other = { CREDMOUNT_BENCH_DRIVER_MAIN: otherMain };
  } else {
    if (options.other.flags.trim() === '') throw new Error('--compare-flags: no flags given');
    other = { CREDMOUNT_BENCH_DRIVER_MAIN: thisMain, CREDMOUNT_BENCH_DRIVER_NODE_FLAGS: `${thisFlags} ${options.other.flags}`.trim() };
  }
  const runs: CompareRun[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const [build, env] of [['this', { CREDMOUNT_BENCH_DRIVER_MAIN: thisMain }], ['other', other]] as const) {
      process.stderr.write(`bench: compare round ${round}, ${build} build…\n`);
      runs.push({ build, round, results: await runOnce(options, env) });
    }
  }
  return { runs, table: compareTable(runs) };
}

function runOnce(options: CompareOptions, env: Readonly<Record<string, string>>): Promise<Record<string, unknown>> {
  const args = [options.runner, '--only', options.names.join(','), ...(options.smoke ? ['--smoke'] : [])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`a compare run failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

/** Numeric leaves of a result, by dotted path. */
export function figuresOf(results: Record<string, unknown>): Map<string, number> {
  const figures = new Map<string, number>();
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'number' && FIGURES.test(path)) figures.set(path, value);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`);
    }
  };
  walk(results, '');
  return figures;
}

/** A Markdown table: one row per figure, one column per run, in the order they ran. */
export function compareTable(runs: readonly CompareRun[]): string {
  const columns = runs.map((run) => ({ name: `${run.build} #${run.round}`, figures: figuresOf(run.results) }));
  const paths = [...new Set(columns.flatMap((column) => [...column.figures.keys()]))];
  const lines = [`| figure | ${columns.map((column) => column.name).join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`];
  for (const path of paths) lines.push(`| ${path} | ${columns.map((column) => String(column.figures.get(path) ?? '—')).join(' | ')} |`);
  return lines.join('\n');
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compareTable, figuresOf } from '../../bench/compare.js';
import { DRIVER_MAIN } from '../support/child-driver.js';

/** dist/test/bench → dist/bench/run.js */
const RUNNER = resolve(fileURLToPath(import.meta.url), '../../../bench/run.js');

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [RUNNER, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolveRun({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('benchmark runner, --compare', () => {
  test('figuresOf keeps the figures worth comparing and drops the detail', () => {
    const figures = figuresOf({ 'first-publish': { latency: { count: 5, p50: 4.2, p90: 6, p99: 9.5 }, driverHandlerMeanMs: 2.5, errors: 0 }, burst: { wallMs: [800, 900], wallMsMedian: 850 } });
    assert.deepEqual(Object.fromEntries(figures), { 'first-publish.latency.p50': 4.2, 'first-publish.latency.p99': 9.5, 'first-publish.driverHandlerMeanMs': 2.5, 'burst.wallMsMedian': 850 });
  });

  test('compareTable puts the runs side by side in the order they ran, a dash where one lacks a figure', () => {
    const table = compareTable([
      { build: 'this', round: 1, results: { burst: { wallMsMedian: 850 } } },
      { build: 'other', round: 1, results: { burst: { wallMsMedian: 990 }, 'cold-start': { readyMs: { p50: 400 } } } },
    ]);
    assert.equal(table, ['| figure | this #1 | other #1 |', '|---|---|---|', '| burst.wallMsMedian | 850 | 990 |', '| cold-start.readyMs.p50 | — | 400 |'].join('\n'));
  });

  test('runs both builds alternately and prints the table (the build against itself, smoke sizes)', { timeout: 150_000 }, async () => {
    const { code, stdout, stderr } = await run(['--only', 'cold-start', '--smoke', '--compare', DRIVER_MAIN, '--rounds', '1']);
    assert.equal(code, 0, stderr);
    const order = [...stderr.matchAll(/compare round (\d+), (this|other) build/g)].map((m) => `${m[2]} #${m[1]}`);
    assert.deepEqual(order, ['this #1', 'other #1']);
    const row = stdout.split('\n').find((line) => line.startsWith('| cold-start.readyMs.p50 |'));
    assert.ok(row !== undefined, stdout);
    const values = row.split('|').slice(2, -1).map((cell) => Number(cell.trim()));
    assert.equal(values.length, 2);
    for (const value of values) assert.ok(Number.isFinite(value) && value > 0 && value < 20_000, row);
  });

  test('--compare-flags runs this build without, then with, the flags after the image\'s', { timeout: 150_000 }, async () => {
    // A Node.js that notes each start, so the test sees the flags every driver got.
    const dir = await mkdtemp(join(tmpdir(), 'credmount-compare-flags-'));
    try {
      const calls = join(dir, 'calls.log');
      const wrapper = join(dir, 'node');
      await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' "$@"\n`);
      await chmod(wrapper, 0o755);
      const { code, stdout, stderr } = await run(['--only', 'cold-start', '--smoke', '--driver-node', wrapper, '--compare-flags=--max-semi-space-size=2', '--rounds', '1']);
      assert.equal(code, 0, stderr);
      const order = [...stderr.matchAll(/compare round (\d+), (this|other) build/g)].map((m) => `${m[2]} #${m[1]}`);
      assert.deepEqual(order, ['this #1', 'other #1']);
      const runs = (JSON.parse(stdout.slice(0, stdout.indexOf('\n| figure |'))) as { results: { 'cold-start': { runs: number } } }[]).map((r) => r.results['cold-start'].runs);
      const drivers = (await readFile(calls, 'utf8')).split('\n').filter((line) => / driver --endpoint /.test(line));
      assert.equal(drivers.length, (runs[0] ?? 0) + (runs[1] ?? 0), drivers.join('\n'));
      const flagged = (line: string) => /^--max-semi-space-size=1 .* --max-semi-space-size=2 /.test(line);
      assert.deepEqual(drivers.map(flagged), [...Array<boolean>(runs[0] ?? 0).fill(false), ...Array<boolean>(runs[1] ?? 0).fill(true)], drivers.join('\n'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses --compare without --only, a missing build and a bad --rounds, before running anything', async () => {
    assert.match((await run(['--compare', DRIVER_MAIN])).stderr, /--compare needs --only/);
    assert.match((await run(['--only', 'burst', '--compare', '/nonexistent/main.js'])).stderr, /no build at \/nonexistent\/main\.js/);
    assert.match((await run(['--only', 'burst', '--compare', DRIVER_MAIN, '--rounds', '0'])).stderr, /--rounds must be a whole number/);
    assert.match((await run(['--only', 'nope', '--compare', DRIVER_MAIN])).stderr, /unknown measurement\(s\) nope/);
    assert.match((await run(['--compare-flags=--max-semi-space-size=2'])).stderr, /--compare-flags needs --only/);
    assert.match((await run(['--only', 'burst', '--compare-flags='])).stderr, /--compare-flags: no flags given/);
    assert.match((await run(['--only', 'burst', '--compare', DRIVER_MAIN, '--compare-flags=--max-semi-space-size=2'])).stderr, /one at a time/);
  });
});

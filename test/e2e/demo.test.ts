import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DRIVER_MAIN } from '../support/child-driver.js';

/** What `npm run demo` runs (dist/src/cli/main.js), beside the bundle the image runs. */
const UNBUNDLED_MAIN = resolve(fileURLToPath(import.meta.url), '../../../src/cli/main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function demo(main: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolveRun) => {
    // The timeout is the test's own: a demo that cannot stop would otherwise hang the suite.
    execFile(process.execPath, [main, 'demo', ...args], { timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** The mount table's lines under `dir`: the demo leaves none. */
async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.split(' ')[4]?.startsWith(dir) === true);
}

describe('credmount demo', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-demo-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, main] of [
    ['the bundle the image runs', DRIVER_MAIN],
    ["npm run demo's build", UNBUNDLED_MAIN],
  ] as const) {
    test(`${name}: publishes, republishes, unpublishes and exits 0, leaving no mount`, { timeout: 90_000 }, async () => {
      const workdir = join(dir, name.replace(/\W+/g, '-'));
      const run = await demo(main, ['--duration', '2s', '--republish-every', '500ms', '--dir', workdir]);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /driver up on unix:\/\//);
      assert.match(run.stdout, /published demo\/app-\S+ in [\d.]+ ms/);
      assert.match(run.stdout, /republish \([\d.]+ ms\): /);
      assert.match(run.stdout, /unpublished \(OK\); target removed/);
      assert.deepEqual(await mountsUnder(workdir), []);
      // The driver's log went to its file, not to the terminal.
      assert.match(await readFile(join(workdir, 'driver.log'), 'utf8'), /"msg":"credmount driver ready"/);
      assert.doesNotMatch(run.stdout, /"level":/);
    });
  }

  test('a driver that cannot start: the demo says why and exits 1 instead of hanging on what it started', { timeout: 90_000 }, async () => {
    // The driver's state directory is a file: the driver refuses to start after the simulator did.
    const workdir = join(dir, 'broken');
    await mkdir(workdir, { recursive: true });
    await writeFile(join(workdir, 'state'), 'not a directory\n');
    const run = await demo(DRIVER_MAIN, ['--duration', '2s', '--dir', workdir]);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /^credmount: /m);
    assert.deepEqual(await mountsUnder(workdir), []);
  });
});

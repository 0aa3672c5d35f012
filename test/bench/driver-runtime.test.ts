import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runtimeAt } from '../../bench/driver-runtime.js';
import { DRIVER_NODE_FLAGS, nodeFlagsFor } from '../../src/cli/runtime-flags.js';

/** dist/test/bench → dist/bench/run.js */
const RUNNER = resolve(fileURLToPath(import.meta.url), '../../../bench/run.js');

describe('the drivers\' runtime (--driver-node)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-driver-node-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("is this process's Node.js and flags when none is given", () => {
    for (const unset of [undefined, '']) assert.deepEqual(runtimeAt(unset), { execPath: process.execPath, version: process.version, flags: DRIVER_NODE_FLAGS });
  });

  test("another runtime is asked for its versions, and gets the flags for its own V8", () => {
    const runtime = runtimeAt(process.execPath);
    assert.equal(runtime.version, process.version);
    assert.deepEqual(runtime.flags, nodeFlagsFor(process.versions.v8));
  });

  test('a path that is not a Node.js is refused, naming the option and the path', async () => {
    assert.throws(() => runtimeAt(join(dir, 'no-such-node')), (error: Error) => error.message.startsWith(`--driver-node (CREDMOUNT_BENCH_DRIVER_NODE): ${join(dir, 'no-such-node')} does not run as Node.js`));
    const notNode = join(dir, 'not-node');
    await writeFile(notNode, '#!/bin/sh\necho hello\n');
    await chmod(notNode, 0o755);
    assert.throws(() => runtimeAt(notNode), /does not run as Node\.js/);
  });

  test('the runner starts every driver (and the node -e "" floor) on it, with its flags', { timeout: 120_000 }, async () => {
    // A Node.js that notes each start: the runner must go through it for every process it measures.
    const calls = join(dir, 'calls.log');
    const wrapper = join(dir, 'node');
    await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const stdout = await new Promise<string>((resolveRun, reject) => {
      execFile(process.execPath, [RUNNER, '--smoke', '--only', 'cold-start', '--driver-node', wrapper], { timeout: 110_000 }, (error, out, stderr) => {
        if (error !== null) reject(new Error(`the runner failed: ${error.message}\n${stderr}`));
        else resolveRun(out);
      });
    });
    const results = JSON.parse(stdout) as { driverNode: string; 'cold-start': { runs: number } };
    assert.equal(results.driverNode, process.version);
    const lines = (await readFile(calls, 'utf8')).split('\n').filter((line) => line !== '');
    const drivers = lines.filter((line) => / driver --endpoint /.test(line));
    assert.equal(drivers.length, results['cold-start'].runs, lines.join('\n'));
    for (const line of drivers) assert.ok(line.startsWith(`${nodeFlagsFor(process.versions.v8).join(' ')} `), line);
    assert.equal(lines.filter((line) => line === '-e ').length, results['cold-start'].runs, `the node -e "" floor ran on it too:\n${lines.join('\n')}`);
  });
});

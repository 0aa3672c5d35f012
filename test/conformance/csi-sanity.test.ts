import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { E2eWorld } from '../support/e2e-world.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

/**
 * csi-sanity (kubernetes-csi/csi-test v5) against the real driver process. The skip list and
 * the reason for each entry live in test/conformance/run-csi-sanity.sh and docs/csi-sanity.md:
 * only specs that need a Controller service (CreateVolume) are skipped.
 */
describe('csi-sanity conformance', () => {
  let world: E2eWorld;
  before(async () => {
    world = await E2eWorld.start();
  });
  after(async () => {
    await world.stop();
  });

  test('every node and identity spec that does not need a controller passes', { timeout: 600_000 }, async () => {
    const output: Buffer[] = [];
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn('bash', [resolve(repoRoot, 'test/conformance/run-csi-sanity.sh'), world.driver.endpoint], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
      child.once('error', fail);
      child.once('exit', done);
    });
    const text = Buffer.concat(output).toString('utf8');
    const summary = /Ran (\d+) of (\d+) Specs/.exec(text);
    const counts = /(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(text);
    assert.equal(code, 0, text.slice(-4000));
    assert.ok(summary !== null && counts !== null, `csi-sanity printed no summary:\n${text.slice(-2000)}`);
    assert.equal(Number(counts[2]), 0, 'no spec failed');
    assert.ok(Number(counts[1]) >= 12, `at least 12 specs ran and passed (got ${counts[1]})`);
  });
});

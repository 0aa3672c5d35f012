import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DRIVER_NODE_FLAGS, nodeFlagsFor } from '../../../src/cli/runtime-flags.js';

void describe('nodeFlagsFor', () => {
  void it("adds Maglev's flag from V8 12 on (Node.js 22, 24), not for Node.js 20's V8 11.3, which refuses it", () => {
    const maglev = '--no-maglev-destroy-on-background';
    assert.ok(!nodeFlagsFor('11.3.244.8-node.33').includes(maglev));
    assert.ok(nodeFlagsFor('12.4.254.21-node.57').includes(maglev));
    assert.ok(nodeFlagsFor('13.6.233.17-node.33').includes(maglev));
    // The rest is the same everywhere.
    assert.deepEqual(nodeFlagsFor('13.6.233.17-node.33').filter((flag) => flag !== maglev), [...nodeFlagsFor('11.3.244.8-node.33')]);
  });

  void it('gives this runtime flags it accepts (a refused V8 flag stops node before it runs anything)', async () => {
    assert.deepEqual(DRIVER_NODE_FLAGS, nodeFlagsFor(process.versions.v8));
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...DRIVER_NODE_FLAGS, '-e', 'console.log("ran")']);
    assert.equal(stdout.trim(), 'ran');
    assert.equal(stderr, '');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMachineCpu, sampleMachineCpu, stolenPercent } from '../../bench/cpu-steal.js';

describe('CPU time stolen by the hypervisor (/proc/stat)', () => {
  test('reads the cpu line (not cpu0) and adds every kind of time but guest time', () => {
    const stat = 'cpu  5187387 18429 549189 8836237 16383 0 55823 46273 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n';
    assert.deepEqual(parseMachineCpu(stat), { steal: 46273, total: 5187387 + 18429 + 549189 + 8836237 + 16383 + 0 + 55823 + 46273 });
    assert.deepEqual(parseMachineCpu('cpu  10 0 5 85\n'), { steal: 0, total: 100 }, 'an old kernel without steal');
    assert.throws(() => parseMachineCpu('intr 1\n'), /no "cpu" line/);
  });

  test('the stolen share between two samples, in percent', () => {
    assert.equal(stolenPercent({ steal: 100, total: 1000 }, { steal: 150, total: 1200 }), 25);
    assert.equal(stolenPercent({ steal: 100, total: 1000 }, { steal: 100, total: 1000 }), 0, 'no time passed');
    assert.equal(stolenPercent(undefined, { steal: 1, total: 2 }), undefined);
  });

  test('this machine has the counters, and they only grow', () => {
    const before = sampleMachineCpu();
    const after = sampleMachineCpu();
    assert.ok(before !== undefined && after !== undefined);
    assert.ok(after.total >= before.total && after.steal >= before.steal);
    const share = stolenPercent(before, after);
    assert.ok(share !== undefined && share >= 0 && share <= 100);
  });
});

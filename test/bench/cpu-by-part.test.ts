import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuPer1000ByPart } from '../../bench/cpu-by-part.js';

test('cpuPer1000ByPart gives each stretch its own CPU per 1,000 republishes', () => {
  // 7 points, 3 stretches of 2 intervals: 1,000 republishes each, 0.5 s, 0.7 s and 0.6 s of CPU.
  const points = [
    { cpuSeconds: 10, republishes: 0 },
    { cpuSeconds: 10.25, republishes: 500 },
    { cpuSeconds: 10.5, republishes: 1_000 },
    { cpuSeconds: 10.9, republishes: 1_500 },
    { cpuSeconds: 11.2, republishes: 2_000 },
    { cpuSeconds: 11.5, republishes: 2_500 },
    { cpuSeconds: 11.8, republishes: 3_000 },
  ];
  assert.deepEqual(cpuPer1000ByPart(points), [0.5, 0.7, 0.6]);
  assert.deepEqual(cpuPer1000ByPart(points, 2), [0.6, 0.6]);
});

test('cpuPer1000ByPart: too few points give nothing, a stretch without republishes gives 0', () => {
  assert.deepEqual(cpuPer1000ByPart([{ cpuSeconds: 1, republishes: 0 }, { cpuSeconds: 2, republishes: 10 }]), []);
  const idle = [0, 1, 2, 3].map((i) => ({ cpuSeconds: i * 0.01, republishes: 0 }));
  assert.deepEqual(cpuPer1000ByPart(idle), [0, 0, 0]);
});

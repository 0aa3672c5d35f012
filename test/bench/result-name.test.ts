import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freeResultName } from '../../bench/result-name.js';

test("a day's later runs get their own results file; an earlier one is never overwritten", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'credmount-result-name-'));
  try {
    assert.equal(freeResultName(dir, '2026-11-29'), '2026-11-29.json');
    await writeFile(join(dir, '2026-11-29.json'), '{}');
    assert.equal(freeResultName(dir, '2026-11-29'), '2026-11-29-2.json');
    await writeFile(join(dir, '2026-11-29-2.json'), '{}');
    assert.equal(freeResultName(dir, '2026-11-29'), '2026-11-29-3.json');
    assert.equal(freeResultName(dir, '2026-11-30'), '2026-11-30.json');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

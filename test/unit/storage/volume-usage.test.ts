import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertRejectsWithCode, makeTempDir } from './storage-test-helpers.js';

void describe('readVolumeUsage', () => {
  void it('reports consistent byte and inode counts for an existing directory', async () => {
    const dir = await makeTempDir();
    try {
      const usage = await readVolumeUsage(dir);
      assert.ok(usage.totalBytes > 0);
      assert.ok(usage.usedBytes >= 0 && usage.usedBytes <= usage.totalBytes);
      assert.ok(usage.availableBytes >= 0 && usage.availableBytes <= usage.totalBytes - usage.usedBytes);
      assert.ok(usage.totalInodes >= usage.usedInodes);
      assert.equal(usage.availableInodes + usage.usedInodes, usage.totalInodes);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  void it('answers CM_VOLUME_PATH_NOT_FOUND (NOT_FOUND) for a missing path', async () => {
    const dir = await makeTempDir();
    await fs.rm(dir, { recursive: true });
    await assertRejectsWithCode(() => readVolumeUsage(join(dir, 'gone')), Errors.volumePathNotFound.code, 'NOT_FOUND');
  });
});

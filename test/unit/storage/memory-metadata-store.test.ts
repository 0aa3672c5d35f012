import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryMetadataStore } from '../../../src/storage/memory-metadata-store.js';
import type { VolumeMetadata } from '../../../src/storage/storage.js';
import { sampleMetadata } from './storage-test-helpers.js';

void describe('MemoryMetadataStore', () => {
  void it('round-trips, lists sorted by volume id, and removes idempotently', async () => {
    const store = new MemoryMetadataStore([sampleMetadata('csi-b')]);
    await store.save(sampleMetadata('csi-a'));
    assert.deepEqual(await store.load('csi-a'), sampleMetadata('csi-a'));
    assert.deepEqual((await store.list()).map((m) => m.volumeId), ['csi-a', 'csi-b']);
    await store.remove('csi-a');
    await store.remove('csi-a');
    assert.equal(await store.load('csi-a'), undefined);
    assert.deepEqual((await store.list()).map((m) => m.volumeId), ['csi-b']);
  });

  void it('hands out copies, so mutating a loaded or saved object does not change the store', async () => {
    const store = new MemoryMetadataStore();
    const saved = sampleMetadata('csi-a');
    await store.save(saved);
    (saved as { podName: string }).podName = 'mutated-after-save';
    const loaded = (await store.load('csi-a')) as VolumeMetadata;
    (loaded.versions as Record<string, string>)['x'] = 'mutated-after-load';
    assert.deepEqual(await store.load('csi-a'), sampleMetadata('csi-a'));
  });
});

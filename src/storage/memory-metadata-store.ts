import { Errors } from '../errors/catalogue.js';
import type { MetadataStore, VolumeMetadata } from './storage.js';

/**
 * A MetadataStore in a Map, for tests of the layers above. Records are copied in and out so that
 * a test cannot pass by mutating an object the store still holds — the file store could not
 * behave that way either.
 */
export class MemoryMetadataStore implements MetadataStore {
  readonly #records = new Map<string, VolumeMetadata>();

  constructor(initial: readonly VolumeMetadata[] = []) {
    for (const metadata of initial) this.#records.set(metadata.volumeId, structuredClone(metadata));
  }

  async load(volumeId: string): Promise<VolumeMetadata | undefined> {
    if (volumeId.length === 0) throw Errors.fieldMissing('volume_id');
    const found = this.#records.get(volumeId);
    return found === undefined ? undefined : structuredClone(found);
  }

  async save(metadata: VolumeMetadata): Promise<void> {
    if (metadata.volumeId.length === 0) throw Errors.fieldMissing('volume_id');
    this.#records.set(metadata.volumeId, structuredClone(metadata));
  }

  async remove(volumeId: string): Promise<void> {
    this.#records.delete(volumeId);
  }

  async list(): Promise<VolumeMetadata[]> {
    return [...this.#records.values()].map((metadata) => structuredClone(metadata)).sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
  }
}

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/observability/logger.js';
import { DriverMetrics } from '../../src/observability/metrics.js';
import type { PodIdentity, ServiceAccountToken } from '../../src/providers/provider.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { AtomicDirectoryWriter } from '../../src/storage/atomic-writer.js';
import { DirectoryMounter } from '../../src/storage/directory-mounter.js';
import { MemoryMetadataStore } from '../../src/storage/memory-metadata-store.js';
import type { MetadataStore, Mounter } from '../../src/storage/storage.js';
import { ManualClock } from '../../src/volumes/clock.js';
import type { PublishRequest } from '../../src/volumes/publish-request.js';
import { VolumeManager, type VolumeManagerOptions } from '../../src/volumes/volume-manager.js';
import { ScriptedProvider } from './scripted-provider.js';

/** A VolumeManager over real directories and the real atomic writer, with a manual clock. */
export class VolumeHarness {
  readonly clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
  readonly provider = new ScriptedProvider();
  readonly metrics = new DriverMetrics();
  readonly metadata: MetadataStore;
  readonly mounter: Mounter;
  manager: VolumeManager;

  private constructor(readonly root: string, metadata: MetadataStore, mounter: Mounter) {
    this.metadata = metadata;
    this.mounter = mounter;
    this.manager = this.newManager();
  }

  static async create(options: { mounter?: Mounter; metadata?: MetadataStore } = {}): Promise<VolumeHarness> {
    const root = await mkdtemp(join(tmpdir(), 'credmount-volumes-'));
    return new VolumeHarness(root, options.metadata ?? new MemoryMetadataStore(), options.mounter ?? new DirectoryMounter());
  }

  /** A new manager over the same disk and metadata: what a driver restart looks like. */
  newManager(extra: Partial<VolumeManagerOptions> = {}): VolumeManager {
    return new VolumeManager({
      registry: new ProviderRegistry([this.provider]),
      mounter: this.mounter,
      writer: new AtomicDirectoryWriter(),
      metadata: this.metadata,
      logger: silentLogger(),
      metrics: this.metrics,
      maxContentBytes: 64 * 1024,
      fetchTimeoutMs: 2_000,
      clock: this.clock,
      random: () => 0, // no jitter: refresh exactly when the provider says
      ...extra,
    });
  }

  async request(name: string, overrides: Partial<PublishRequest> & { podUid?: string; serviceAccountName?: string } = {}): Promise<PublishRequest> {
    const { podUid: uidOverride, serviceAccountName, ...rest } = overrides;
    const podUid = uidOverride ?? `uid-${name}`;
    const identity: PodIdentity = { namespace: 'payments', podName: `pod-${name}`, podUid, serviceAccountName: serviceAccountName ?? 'billing' };
    const parent = join(this.root, 'pods', podUid, 'volumes', 'kubernetes.io~csi', name);
    await mkdir(parent, { recursive: true });
    const token: ServiceAccountToken = { audience: 'scripted', token: 'header.payload.signature', expiresAt: new Date(this.clock.now() + 3_600_000), serviceAccountUid: '' };
    return {
      volumeId: `csi-${name}`,
      targetPath: join(parent, 'mount'),
      readOnly: true,
      mountGroup: undefined,
      identity,
      tokens: new Map([['scripted', token]]),
      providerName: this.provider.name,
      parameters: { objects: 'a' },
      ...rest,
    };
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

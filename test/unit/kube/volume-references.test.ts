import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import type { ResolvedClass, SecretProviderClassSource } from '../../../src/kube/secret-provider-class.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { DriverMetrics } from '../../../src/observability/metrics.js';
import type { PodWarning } from '../../../src/observability/pod-events.js';
import { ProviderRegistry } from '../../../src/providers/registry.js';
import { AtomicDirectoryWriter } from '../../../src/storage/atomic-writer.js';
import { VolumeManager } from '../../../src/volumes/volume-manager.js';
import { ScriptedProvider } from '../../support/scripted-provider.js';
import { VolumeHarness } from '../../support/volume-harness.js';

/** Classes held in memory, counting lookups (the Kubernetes API path is tested in class-cache.test.ts). */
class MemoryClasses implements SecretProviderClassSource {
  readonly classes = new Map<string, { provider: string; parameters: Record<string, string> }>();
  lookups = 0;
  async get(namespace: string, name: string): Promise<ResolvedClass> {
    this.lookups += 1;
    const found = this.classes.get(`${namespace}/${name}`);
    if (found === undefined) throw Errors.classNotFound(namespace, name);
    return { namespace, name, provider: found.provider, parameters: found.parameters, resourceVersion: '1', hasSecretObjects: false };
  }
}

class ReleasingProvider extends ScriptedProvider {
  released: string[] = [];
  release(volumeId: string): void {
    this.released.push(volumeId);
  }
}

/** VolumeManager with class references: the rules of docs/secret-provider-class.md, with a manual clock. */
describe('VolumeManager with secretProviderClass references', () => {
  let harness: VolumeHarness;
  const alpha = new ReleasingProvider('alpha');
  const beta = new ReleasingProvider('beta');
  const classes = new MemoryClasses();
  const warnings: PodWarning[] = [];
  const manager = () =>
    new VolumeManager({
      registry: new ProviderRegistry([alpha, beta]),
      mounter: harness.mounter,
      writer: new AtomicDirectoryWriter(),
      metadata: harness.metadata,
      logger: silentLogger(),
      metrics: new DriverMetrics(),
      maxContentBytes: 64 * 1024,
      clock: harness.clock,
      random: () => 0,
      classes,
      events: { warn: (w) => void warnings.push(w) },
    });
  const byReference = (name: string, className: string) => harness.request(name, { providerName: '', parameters: {}, secretProviderClass: className });

  before(async () => {
    harness = await VolumeHarness.create();
  });
  after(async () => {
    await harness.cleanup();
  });

  test('first publish reads the class; fresh republishes read nothing; a due refresh reads it again', async () => {
    classes.classes.set('payments/c1', { provider: 'alpha', parameters: { objects: 'a' } });
    const volumes = manager();
    const request = await byReference('fresh', 'c1');
    classes.lookups = 0;
    assert.equal(await volumes.publish(request), 'mounted');
    assert.equal(classes.lookups, 1);
    for (let i = 0; i < 5; i++) {
      harness.clock.advance(10_000);
      assert.equal(await volumes.publish(request), 'fresh');
    }
    assert.equal(classes.lookups, 1, 'no lookup on the fresh path');
    harness.clock.advance(15_000);
    assert.equal(await volumes.publish(request), 'unchanged');
    assert.equal(classes.lookups, 2);
  });

  test("a class whose provider changes: the next refresh uses the new provider and releases the old one's state", async () => {
    classes.classes.set('payments/switch', { provider: 'alpha', parameters: { objects: 'a' } });
    const volumes = manager();
    const request = await byReference('switch', 'switch');
    assert.equal(await volumes.publish(request), 'mounted');
    beta.files = [{ path: 'from-beta.txt', content: 'b' }];
    classes.classes.set('payments/switch', { provider: 'beta', parameters: { objects: 'b' } });
    harness.clock.advance(61_000);
    assert.equal(await volumes.publish(request), 'refreshed');
    assert.equal(await readFile(join(request.targetPath, 'from-beta.txt'), 'utf8'), 'b');
    assert.deepEqual(alpha.released, [request.volumeId]);
    assert.equal(volumes.describe(request.volumeId)?.provider, 'beta');
  });

  test('after a restart the reference is still the same volume; another class name is a conflict', async () => {
    classes.classes.set('payments/restart', { provider: 'alpha', parameters: { objects: 'a' } });
    const request = await byReference('restart', 'restart');
    assert.equal(await manager().publish(request), 'mounted');
    const restarted = manager();
    await restarted.recover();
    assert.equal(await restarted.publish(request), 'fresh');
    await assert.rejects(restarted.publish({ ...request, secretProviderClass: 'other' }), (e: unknown) => isCredmountError(e) && e.status === 'ALREADY_EXISTS');
    await assert.rejects(restarted.publish({ ...request, secretProviderClass: undefined, providerName: 'alpha', parameters: { objects: 'a' } }), (e: unknown) => isCredmountError(e) && e.status === 'ALREADY_EXISTS');
  });

  test('a class edited into bad parameters: the refresh keeps the content, and the pod gets an event naming the class field', async () => {
    classes.classes.set('payments/edit', { provider: 'alpha', parameters: { objects: 'a' } });
    const volumes = manager();
    const request = await byReference('edit', 'edit');
    alpha.files = [{ path: 'secret.txt', content: 'good' }];
    assert.equal(await volumes.publish(request), 'mounted');
    warnings.length = 0;
    classes.classes.set('payments/edit', { provider: 'alpha', parameters: { objects: 'bad' } });
    harness.clock.advance(61_000);
    assert.equal(await volumes.publish(request), 'kept');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'good');
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]?.pod, { namespace: 'payments', name: 'pod-edit', uid: 'uid-edit' });
    assert.equal(warnings[0]?.reason, 'CredentialRefreshFailed');
    assert.equal(warnings[0]?.code, 'CM_PARAMETER_INVALID');
    assert.match(warnings[0]?.message ?? '', /SecretProviderClass payments\/edit: spec\.parameters\.objects: not valid/);
  });

  test('a first publish whose class is missing, or names an unloaded provider, changes nothing', async () => {
    const volumes = manager();
    const missing = await byReference('missing', 'nope');
    await assert.rejects(volumes.publish(missing), (e: unknown) => isCredmountError(e) && e.code === 'CM_CLASS_NOT_FOUND' && e.status === 'FAILED_PRECONDITION');
    assert.equal(volumes.describe(missing.volumeId), undefined);
    classes.classes.set('payments/gcp', { provider: 'gcp', parameters: {} });
    await assert.rejects(volumes.publish(await byReference('gcp', 'gcp')), (e: unknown) => isCredmountError(e) && e.code === 'CM_CLASS_UNKNOWN_PROVIDER' && /this driver has: alpha, beta/.test(e.message));
    assert.equal(warnings.filter((w) => w.pod.uid === 'uid-missing').length, 0, 'first-publish failures are kubelet\'s to report (FailedMount)');
  });

  test('without a class source, a reference is refused clearly', async () => {
    const volumes = new VolumeManager({
      registry: new ProviderRegistry([new ScriptedProvider()]),
      mounter: harness.mounter,
      writer: new AtomicDirectoryWriter(),
      metadata: harness.metadata,
      logger: silentLogger(),
      metrics: new DriverMetrics(),
      maxContentBytes: 64 * 1024,
      clock: harness.clock,
    });
    await assert.rejects(volumes.publish(await byReference('no-source', 'c1')), (e: unknown) => isCredmountError(e) && e.code === 'CM_KUBE_CONFIG_INVALID');
  });
});

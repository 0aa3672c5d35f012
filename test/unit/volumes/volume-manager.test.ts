import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Errors, withRetryAfter } from '../../../src/errors/catalogue.js';
import { CredmountError } from '../../../src/errors/credmount-error.js';
import { latch } from '../../support/scripted-provider.js';
import type { PublishRequest } from '../../../src/volumes/publish-request.js';
import { VolumeHarness } from '../../support/volume-harness.js';
import { exists } from '../../support/fs-probes.js';


describe('VolumeManager', () => {
  let h: VolumeHarness;
  beforeEach(async () => {
    h = await VolumeHarness.create();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  test('first publish mounts, writes the files and records metadata without content', async () => {
    const request = await h.request('a');
    assert.equal(await h.manager.publish(request), 'mounted');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
    const metadata = await h.metadata.load(request.volumeId);
    assert.ok(metadata);
    assert.equal(metadata.podUid, request.identity.podUid);
    assert.deepEqual(metadata.versions, { secret: '1' });
    assert.ok(!JSON.stringify(metadata).includes('header.payload.signature'), 'no token in metadata');
  });

  test('republish before the refresh time does no backend I/O', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(10_000);
      assert.equal(await h.manager.publish(request), 'fresh');
    }
    assert.equal(h.provider.fetches, 1);
  });

  test('republish after the refresh time fetches and swaps; same version leaves the files alone', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'unchanged');
    assert.equal(h.provider.fetches, 2);
    const dataDirBefore = await readdir(request.targetPath);

    h.provider.files = [{ path: 'secret.txt', content: 'v2' }];
    h.provider.version = '2';
    h.clock.advance(30_000);
    assert.equal(await h.manager.publish(request), 'fresh', 'the unchanged fetch rescheduled the refresh');
    h.clock.advance(30_000);
    assert.equal(await h.manager.publish(request), 'refreshed');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v2');
    assert.notDeepEqual(await readdir(request.targetPath), dataDirBefore, 'a new timestamped directory replaced the old one');
    assert.deepEqual((await h.metadata.load(request.volumeId))?.versions, { secret: '2' });
  });

  test('a failed refresh keeps the old content byte for byte, backs off, then retries', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const before = await readFile(join(request.targetPath, 'secret.txt'));
    h.provider.failWith = Errors.backendUnavailable('scripted', 'HTTP 503');
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'kept');
    assert.deepEqual(await readFile(join(request.targetPath, 'secret.txt')), before);
    assert.equal(h.provider.fetches, 2);

    // Within the backoff window (first failure: 0.5–1 s; random() = 0 gives 0.5 s) no fetch happens.
    h.clock.advance(400);
    assert.equal(await h.manager.publish(request), 'kept');
    assert.equal(h.provider.fetches, 2);
    h.clock.advance(200);
    assert.equal(await h.manager.publish(request), 'kept');
    assert.equal(h.provider.fetches, 3);

    // Recovery: the next due attempt succeeds and the new content lands.
    h.provider.failWith = undefined;
    h.provider.files = [{ path: 'secret.txt', content: 'v2' }];
    h.provider.version = '2';
    h.clock.advance(5_000);
    assert.equal(await h.manager.publish(request), 'refreshed');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v2');
    const failures = await h.metrics.registry.getSingleMetricAsString('credmount_refresh_failures_total');
    assert.match(failures, /credmount_refresh_failures_total\{provider="scripted",code="CM_BACKEND_UNAVAILABLE"\} 2/);
  });

  test("a backend's Retry-After longer than our backoff is honoured", async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.provider.failWith = withRetryAfter(Errors.backendUnavailable('scripted', 'HTTP 429'), 30_000);
    h.clock.advance(60_000);
    await h.manager.publish(request);
    h.clock.advance(29_000);
    await h.manager.publish(request);
    assert.equal(h.provider.fetches, 2, 'no retry before Retry-After');
    h.clock.advance(1_001);
    await h.manager.publish(request);
    assert.equal(h.provider.fetches, 3);
  });

  test('content past its expiry with a failing backend is UNAVAILABLE, and still not removed', async () => {
    h.provider.expiresInMs = 90_000;
    const request = await h.request('a');
    await h.manager.publish(request);
    h.provider.failWith = Errors.backendUnavailable('scripted', 'down');
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'kept');
    h.clock.advance(40_000);
    await assert.rejects(h.manager.publish(request), (error: CredmountError) => {
      assert.equal(error.code, 'CM_CONTENT_EXPIRED');
      assert.equal(error.status, 'UNAVAILABLE');
      assert.match(error.message, /down/);
      return true;
    });
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
    assert.match(await h.metrics.registry.metrics(), /^credmount_volumes_expired 1$/m);
  });

  test('a refused first publish leaves nothing mounted and nothing recorded', async () => {
    h.provider.failWith = Errors.accessDenied('secret payments/db', 'not allowed by policy');
    const request = await h.request('a');
    await assert.rejects(h.manager.publish(request), { code: 'CM_ACCESS_DENIED', status: 'PERMISSION_DENIED' });
    assert.equal(await exists(request.targetPath), false);
    assert.deepEqual(await h.metadata.list(), []);
  });

  test('bad file names or oversized content from a provider are refused before mounting', async () => {
    h.provider.files = [{ path: '../escape', content: 'x' }];
    const bad = await h.request('a');
    await assert.rejects(h.manager.publish(bad), { code: 'CM_FILE_PATH_INVALID', status: 'INVALID_ARGUMENT' });
    assert.equal(await exists(bad.targetPath), false);

    h.provider.files = [{ path: 'big', content: 'x'.repeat(65 * 1024) }];
    const big = await h.request('b');
    await assert.rejects(h.manager.publish(big), { code: 'CM_CONTENT_TOO_LARGE', status: 'INVALID_ARGUMENT' });
    assert.equal(await exists(big.targetPath), false);
    assert.deepEqual(await h.metadata.list(), []);
  });

  test('a refresh that returns a bad file name keeps the old content and backs off like any failure', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.provider.files = [{ path: '/etc/passwd', content: 'x' }];
    h.provider.version = '2';
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'kept');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
    assert.equal(h.provider.fetches, 2);
    for (let i = 0; i < 5; i++) assert.equal(await h.manager.publish(request), 'kept');
    assert.equal(h.provider.fetches, 2, "kubelet's retries do not reach the backend during backoff");
    assert.match(await h.metrics.registry.metrics(), /credmount_refresh_failures_total\{provider="scripted",code="CM_FILE_PATH_INVALID"\} 1/);
  });

  test('a failed metadata save after a successful refresh keeps serving the new content', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const save = h.metadata.save.bind(h.metadata);
    h.metadata.save = async () => {
      throw new Error('disk full');
    };
    h.provider.files = [{ path: 'secret.txt', content: 'v2' }];
    h.provider.version = '2';
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'refreshed');
    h.metadata.save = save;
    h.clock.advance(1_000);
    assert.equal(await h.manager.publish(request), 'fresh');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v2');
  });

  test('with afterAnswer, the record is written after the call returns, and settle() waits for it', async () => {
    const queued: (() => void)[] = [];
    h.manager = h.newManager({ afterAnswer: (work) => queued.push(work) });
    const request = await h.request('a');
    assert.equal(await h.manager.publish(request), 'mounted');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
    assert.equal(await h.metadata.load(request.volumeId), undefined, 'not written before the answer is out');
    assert.equal(queued.length, 1);
    let settled = false;
    const settling = h.manager.settle().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'settle() waits for the queued record');
    queued.shift()?.();
    await settling;
    assert.equal((await h.metadata.load(request.volumeId))?.podUid, request.identity.podUid);
  });

  test('with afterAnswer, a later call on the volume waits for its queued record: unpublish cannot be overtaken', async () => {
    const queued: (() => void)[] = [];
    h.manager = h.newManager({ afterAnswer: (work) => queued.push(work) });
    const request = await h.request('a');
    await h.manager.publish(request);
    let unpublished = false;
    const unpublishing = h.manager.unpublish(request.volumeId, request.targetPath).then(() => (unpublished = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(unpublished, false);
    assert.ok(await exists(request.targetPath), 'still published while its record waits');
    queued.shift()?.();
    await unpublishing;
    assert.equal(await h.metadata.load(request.volumeId), undefined, 'the record written first is removed, not left behind');
    assert.equal(await exists(request.targetPath), false);
  });

  test('unpublish never touches a path the volume does not live at, nor a foreign non-empty directory', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const elsewhere = await h.request('other');
    await mkdir(elsewhere.targetPath);
    await writeFile(join(elsewhere.targetPath, 'keep'), 'x');
    await h.manager.unpublish(request.volumeId, elsewhere.targetPath);
    assert.equal(await readFile(join(elsewhere.targetPath, 'keep'), 'utf8'), 'x');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1', 'the real volume is untouched too');
    await assert.rejects(h.manager.unpublish('csi-unknown', elsewhere.targetPath), /not empty and not a volume this driver knows/);
    assert.equal(await readFile(join(elsewhere.targetPath, 'keep'), 'utf8'), 'x');
  });

  test('unpublish of a target that is a symlink removes the link, not what it points to', async () => {
    const victim = await h.request('victim');
    await mkdir(victim.targetPath);
    await writeFile(join(victim.targetPath, 'precious'), 'x');
    const request = await h.request('a');
    await symlink(victim.targetPath, request.targetPath);
    await h.manager.unpublish(request.volumeId, request.targetPath);
    assert.equal(await exists(request.targetPath), false);
    assert.equal(await readFile(join(victim.targetPath, 'precious'), 'utf8'), 'x');
  });

  test('pure checks fail before anything happens: unknown provider, bad parameters, missing audience', async () => {
    const unknown = await h.request('a', { providerName: 'nope' });
    await assert.rejects(h.manager.publish(unknown), (e: CredmountError) => e.code === 'CM_UNKNOWN_PROVIDER' && /scripted/.test(e.message));
    const badParams = await h.request('b', { parameters: { objects: 'bad' } });
    await assert.rejects(h.manager.publish(badParams), { code: 'CM_PARAMETER_INVALID', field: 'volume_context.objects' });
    const noToken = await h.request('c', { tokens: new Map() });
    await assert.rejects(h.manager.publish(noToken), { code: 'CM_TOKENS_MISSING' });
    const otherAudience = await h.request('d', { tokens: new Map([['vault', { audience: 'vault', token: 'x.y.z', expiresAt: new Date(h.clock.now() + 600_000), serviceAccountUid: '' }]]) });
    await assert.rejects(h.manager.publish(otherAudience), { code: 'CM_TOKEN_AUDIENCE_MISSING', message: /kubelet sent "vault"/ });
    assert.equal(h.provider.fetches, 0);
    for (const r of [unknown, badParams, noToken, otherAudience]) assert.equal(await exists(r.targetPath), false);
  });

  test('a republish with different arguments is ALREADY_EXISTS and changes nothing', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const cases = [
      { ...request, parameters: { objects: 'b' } },
      { ...request, readOnly: false },
      { ...request, mountGroup: 2000 },
      { ...request, targetPath: `${request.targetPath}2` },
      { ...request, identity: { ...request.identity, podUid: 'other' } },
    ];
    for (const changed of cases) {
      await assert.rejects(h.manager.publish(changed), { code: 'CM_VOLUME_CONFLICT', status: 'ALREADY_EXISTS' });
    }
    assert.equal(h.provider.fetches, 1);
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
  });

  test('after republishes with the same attributes, any change to them is still ALREADY_EXISTS', async () => {
    const request = await h.request('a', { parameters: { objects: 'a', audience: 'scripted' } });
    await h.manager.publish(request);
    // Same attributes in new objects, as kubelet sends them: fresh, no conflict.
    assert.equal(await h.manager.publish({ ...request, parameters: { audience: 'scripted', objects: 'a' } }), 'fresh');
    const cases: PublishRequest[] = [
      { ...request, parameters: { objects: 'a', audience: 'two' } },
      { ...request, parameters: { objects: 'a' } },
      { ...request, parameters: { objects: 'a', audience: 'scripted', more: 'x' } },
      { ...request, parameters: { objects: 'b', audience: 'scripted' } },
      { ...request, parameters: {}, providerName: '', secretProviderClass: 'some-class' },
    ];
    for (const changed of cases) {
      await assert.rejects(h.manager.publish(changed), { code: 'CM_VOLUME_CONFLICT', status: 'ALREADY_EXISTS' }, JSON.stringify(changed.parameters));
    }
    assert.equal(await h.manager.publish(request), 'fresh');
    assert.equal(h.provider.fetches, 1);
  });

  test('a new token alone is not a conflict', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const renewed = { ...request, tokens: new Map([['scripted', { audience: 'scripted', token: 'new.token.value', expiresAt: new Date(h.clock.now() + 7_200_000), serviceAccountUid: '' }]]) };
    assert.equal(await h.manager.publish(renewed), 'fresh');
  });

  test('concurrent identical fetches for one service account are made once', async () => {
    const gate = latch();
    h.provider.gate = gate.promise;
    const requests = await Promise.all(['a', 'b', 'c'].map((n) => h.request(n)));
    const publishing = requests.map((r) => h.manager.publish(r));
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    assert.deepEqual(await Promise.all(publishing), ['mounted', 'mounted', 'mounted']);
    assert.equal(h.provider.fetches, 1);
  });

  test('per-pod content (private keys) is never shared between pods', async () => {
    h.provider.scope = 'pod';
    const gate = latch();
    h.provider.gate = gate.promise;
    const requests = await Promise.all(['a', 'b'].map((n) => h.request(n)));
    const publishing = requests.map((r) => h.manager.publish(r));
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    await Promise.all(publishing);
    assert.equal(h.provider.fetches, 2);
  });

  test('per-pod content is not shared between two volumes of one pod either (each gets its own key)', async () => {
    h.provider.scope = 'pod';
    const gate = latch();
    h.provider.gate = gate.promise;
    // kubelet mounts a pod's volumes in parallel; identical attributes must still mean two keys.
    const requests = await Promise.all(['a', 'b'].map((n) => h.request(n, { podUid: 'one-pod' })));
    const publishing = requests.map((r) => h.manager.publish(r));
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    assert.deepEqual(await Promise.all(publishing), ['mounted', 'mounted']);
    assert.equal(h.provider.fetches, 2);
  });

  test('different service accounts never share a fetch', async () => {
    const gate = latch();
    h.provider.gate = gate.promise;
    const a = await h.request('a', { serviceAccountName: 'billing' });
    const b = await h.request('b', { serviceAccountName: 'reports' });
    const publishing = [h.manager.publish(a), h.manager.publish(b)];
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    await Promise.all(publishing);
    assert.equal(h.provider.fetches, 2);
  });

  test('calls on one volume are serialised: the second finds the first one done', async () => {
    const gate = latch();
    h.provider.gate = gate.promise;
    const request = await h.request('a');
    const first = h.manager.publish(request);
    const second = h.manager.publish(request);
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    assert.deepEqual(await Promise.all([first, second]), ['mounted', 'fresh']);
    assert.equal(h.provider.fetches, 1);
  });

  test('a fetch slower than the timeout counts as a failure and keeps the content', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.provider.gate = new Promise(() => undefined); // never answers
    h.provider.failWith = undefined;
    h.clock.advance(60_000);
    // The provider ignores the abort signal; the manager must not wait forever either way.
    const outcome = await Promise.race([h.manager.publish(request), new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
    assert.equal(h.provider.lastRequest?.signal.aborted, true, 'the provider was told to give up');
    assert.notEqual(outcome, 'hung');
  });

  test("a provider's fileGroup (cert-manager's fs-group) owns the files, before kubelet's volume_mount_group", async () => {
    h.provider.fileGroup = 3000;
    const request = await h.request('a');
    assert.equal(await h.manager.publish(request), 'mounted');
    const file = await stat(join(request.targetPath, 'secret.txt'));
    assert.equal(file.gid, 3000);
    assert.equal(file.mode & 0o040, 0o040, 'group-readable');
    // ...also when kubelet sends a group of its own, and on a refresh that writes new content.
    h.provider.fileGroup = 3001;
    h.provider.version = '2';
    h.provider.files = [{ path: 'secret.txt', content: 'v2' }];
    const withKubeletGroup = { ...(await h.request('b')), mountGroup: 2000 };
    await h.manager.publish(withKubeletGroup);
    assert.equal((await stat(join(withKubeletGroup.targetPath, 'secret.txt'))).gid, 3001);
    h.provider.fileGroup = undefined;
    h.provider.version = '3';
    h.clock.advance(120_000);
    assert.equal(await h.manager.publish(withKubeletGroup), 'refreshed');
    assert.equal((await stat(join(withKubeletGroup.targetPath, 'secret.txt'))).gid, 2000, "without one, kubelet's group");
  });

  test('after recovery, publishing a new volume does not look it up in the state directory', async () => {
    const existing = await h.request('a');
    await h.manager.publish(existing);
    h.manager = h.newManager();
    assert.equal(await h.manager.recover(), 1);
    const loads: string[] = [];
    const load = h.metadata.load.bind(h.metadata);
    h.metadata.load = async (volumeId) => {
      loads.push(volumeId);
      return load(volumeId);
    };
    const fresh = await h.request('b');
    assert.equal(await h.manager.publish(fresh), 'mounted');
    h.clock.advance(10_000);
    assert.equal(await h.manager.publish(existing), 'fresh', 'the recovered volume is known without a disk read');
    assert.deepEqual(loads, []);
    assert.ok(await h.metadata.load(fresh.volumeId), 'the new volume was recorded');
  });

  test('after a restart, republish and unpublish work from the metadata alone', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.manager = h.newManager(); // the old process is gone; memory is empty
    assert.equal(await h.manager.recover(), 1);
    h.clock.advance(10_000);
    assert.equal(await h.manager.publish(request), 'fresh');
    assert.equal(h.provider.fetches, 1);
    h.manager = h.newManager();
    await h.manager.unpublish(request.volumeId, request.targetPath);
    assert.equal(await exists(request.targetPath), false);
    assert.equal(await h.metadata.load(request.volumeId), undefined);
  });

  test('unpublish of a target that is already gone succeeds', async () => {
    const request = await h.request('a');
    await h.manager.unpublish(request.volumeId, request.targetPath);
    await h.manager.publish(request);
    await h.manager.unpublish(request.volumeId, request.targetPath);
    await h.manager.unpublish(request.volumeId, request.targetPath);
    assert.equal(await exists(request.targetPath), false);
  });

  test('a volume whose mount vanished is rebuilt on the next due republish', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    await h.mounter.unmount(request.targetPath, { removeContent: true });
    h.clock.advance(60_000);
    assert.equal(await h.manager.publish(request), 'mounted');
    assert.equal(await readFile(join(request.targetPath, 'secret.txt'), 'utf8'), 'v1');
  });

  test('a recovered volume whose mount vanished (node reboot) is rebuilt on its first republish', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    await h.mounter.unmount(request.targetPath, { removeContent: true });
    h.manager = h.newManager();
    assert.equal(await h.manager.publish(request), 'mounted');
    assert.equal(h.provider.fetches, 2);
  });

  test('the fresh path does not even look at the mount table', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    let checks = 0;
    const original = h.mounter.isMounted.bind(h.mounter);
    h.mounter.isMounted = async (target: string) => {
      checks += 1;
      return original(target);
    };
    for (let i = 0; i < 3; i++) assert.equal(await h.manager.publish(request), 'fresh');
    assert.equal(checks, 0);
    h.clock.advance(60_000);
    await h.manager.publish(request);
    assert.equal(checks, 1, 'checked once the refresh was due');
  });

  test('stats: unknown volume is NOT_FOUND; a known one reports usage; a vanished mount is NOT_FOUND', async () => {
    await assert.rejects(h.manager.stats('csi-unknown', '/nowhere'), { code: 'CM_VOLUME_NOT_FOUND', status: 'NOT_FOUND' });
    const request = await h.request('a');
    await h.manager.publish(request);
    const usage = await h.manager.stats(request.volumeId, request.targetPath);
    assert.ok(usage.totalBytes > 0);
    await assert.rejects(h.manager.stats(request.volumeId, '/elsewhere'), { status: 'NOT_FOUND' });
    await h.mounter.unmount(request.targetPath, { removeContent: true });
    await assert.rejects(h.manager.stats(request.volumeId, request.targetPath), { code: 'CM_VOLUME_PATH_NOT_FOUND' });
  });

  test('stats racing an unpublish does not bring the volume back', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.manager = h.newManager(); // after a restart: the volume is known only on disk
    const racing = h.manager.stats(request.volumeId, request.targetPath).catch(() => undefined);
    await h.manager.unpublish(request.volumeId, request.targetPath);
    await racing;
    assert.match(await h.metrics.registry.metrics(), /^credmount_volumes 0$/m);
  });

  test('each stage of a publish and a refresh is timed', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    h.provider.version = '2';
    h.clock.advance(60_000);
    await h.manager.publish(request);
    const text = await h.metrics.registry.getSingleMetricAsString('credmount_publish_stage_seconds');
    const count = (stage: string) => Number(new RegExp(`credmount_publish_stage_seconds_count\\{stage="${stage}",provider="scripted"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    assert.deepEqual(['fetch', 'mount', 'write', 'metadata'].map(count), [2, 1, 2, 2]);
  });

  test('gauges report managed volumes and the earliest expiry', async () => {
    h.provider.expiresInMs = 120_000;
    await h.manager.publish(await h.request('a'));
    const text = await h.metrics.registry.metrics();
    assert.match(text, /^credmount_volumes 1$/m);
    assert.match(text, /^credmount_earliest_expiry_seconds 120$/m);
  });

  test('an uncoded provider exception becomes a coded UNAVAILABLE error that does not repeat its text', async () => {
    let leaked: unknown;
    try {
      JSON.parse('hunter2');
    } catch (error) {
      leaked = error;
    }
    h.provider.failWith = leaked as Error;
    await assert.rejects(h.manager.publish(await h.request('a')), (e: unknown) => {
      assert.ok(e instanceof CredmountError);
      assert.equal(e.code, 'CM_BACKEND_UNAVAILABLE');
      assert.match(e.message, /unexpected error \(SyntaxError\)/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
  });

  test('a shared fetch is counted once as backend work', async () => {
    const gate = latch();
    h.provider.gate = gate.promise;
    const requests = await Promise.all(['a', 'b', 'c'].map((n) => h.request(n)));
    const publishing = requests.map((r) => h.manager.publish(r));
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    await Promise.all(publishing);
    assert.match(await h.metrics.registry.metrics(), /credmount_backend_fetches_total\{provider="scripted",result="ok"\} 1/);
  });

  test('pods with different tokens never join one fetch: each token reaches the backend', async () => {
    const gate = latch();
    h.provider.gate = gate.promise;
    const a = await h.request('a');
    const b = await h.request('b', { tokens: new Map([['scripted', { audience: 'scripted', token: 'other.pod.token', expiresAt: new Date(h.clock.now() + 3_600_000), serviceAccountUid: '' }]]) });
    const publishing = [h.manager.publish(a), h.manager.publish(b)];
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    await Promise.all(publishing);
    assert.equal(h.provider.fetches, 2);
  });

  test('content that expires before the provider\'s refresh time is refreshed before it expires', async () => {
    h.provider.refreshInMs = 3_600_000;
    h.provider.expiresInMs = 100_000;
    const request = await h.request('a');
    await h.manager.publish(request);
    h.clock.advance(91_000);
    assert.equal(await h.manager.publish(request), 'unchanged');
    assert.equal(h.provider.fetches, 2);
  });
});

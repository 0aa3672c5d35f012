import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildNodePublishVolumeRequest,
  buildNodeUnpublishVolumeRequest,
  cleanUpAfterUnpublish,
  inlineTargetPath,
  inlineVolumeId,
  prepareTargetParent,
  serializeTokens,
  ServiceAccountTokenIssuer,
  type SimulatedPod,
  TokenCache,
} from '../../../src/cli/kubelet-sim/index.js';
import { parseKubeletPublish } from '../../../src/kubelet/index.js';
import { FIXTURE_POD, fixtureTokens, loadFixture, type NodePublishVolumeJson, TOKENS_KEY, toKubeletPublishInput } from '../kubelet/fixtures.js';

/** Object keys, recursively (arrays by their elements). */
function keyShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyShape);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, keyShape((value as Record<string, unknown>)[key])]));
  }
  return typeof value;
}

/** The fixture's pod, as the simulator models it. */
function fixturePod(overrides: Partial<SimulatedPod> = {}): SimulatedPod {
  const context = loadFixture('publish-tokens-in-volume-context').volume_context;
  return {
    namespace: FIXTURE_POD.namespace,
    name: FIXTURE_POD.podName,
    uid: FIXTURE_POD.podUid,
    serviceAccountName: FIXTURE_POD.serviceAccountName,
    volumeName: FIXTURE_POD.volumeName,
    attributes: { objects: context['objects'] ?? '', provider: 'vault', roleName: 'billing' },
    audiences: ['vault', ''],
    ...overrides,
  };
}

/** The fixture with its tokens JSON replaced by the tokens' key structure, for comparison. */
function withoutTokenValues(request: NodePublishVolumeJson): unknown {
  const copy = structuredClone(request);
  for (const map of [copy.secrets, copy.volume_context]) {
    if (map[TOKENS_KEY] !== undefined) map[TOKENS_KEY] = JSON.stringify(keyShape(JSON.parse(map[TOKENS_KEY])));
  }
  return copy;
}

describe('kubelet request builder', () => {
  let issuer: ServiceAccountTokenIssuer;
  const now = new Date('2026-11-28T13:17:22Z');

  before(async () => {
    issuer = await ServiceAccountTokenIssuer.create();
  });

  it('computes volume_id as kubelet does: csi- + sha256(pod UID + volume name)', () => {
    const fixture = loadFixture('publish-tokens-in-volume-context');
    const expected = `csi-${createHash('sha256').update(`${FIXTURE_POD.podUid}${FIXTURE_POD.volumeName}`).digest('hex')}`;
    assert.equal(expected, fixture.volume_id);
    assert.equal(inlineVolumeId(FIXTURE_POD.podUid, FIXTURE_POD.volumeName), fixture.volume_id);
    assert.equal(inlineTargetPath({ uid: FIXTURE_POD.podUid, volumeName: 'creds' }), fixture.target_path);
  });

  for (const [fixtureName, options, fsGroup] of [
    ['publish-tokens-in-volume-context', {}, undefined],
    ['publish-tokens-in-secrets', { tokensInSecrets: true }, 2000],
  ] as const) {
    it(`builds the request of ${fixtureName}`, async () => {
      const fixture = loadFixture(fixtureName);
      const pod = fixturePod({ fsGroup });
      const cache = new TokenCache(issuer, { now: () => now });
      const built = buildNodePublishVolumeRequest(pod, await cache.tokensFor(pod), options);

      // Same structure, key for key, down to the tokens JSON entries.
      assert.deepEqual(keyShape(built), keyShape(fixture));
      // Same values, apart from the tokens themselves.
      assert.deepEqual(withoutTokenValues(built as NodePublishVolumeJson), withoutTokenValues(fixture));
      // Same key order as kubelet's JSON (Go sorts map keys), tokens JSON included.
      assert.deepEqual(Object.keys(built.volume_context), Object.keys(fixture.volume_context));
      const tokensJson = built.secrets[TOKENS_KEY] ?? built.volume_context[TOKENS_KEY] ?? '';
      assert.deepEqual(Object.keys(JSON.parse(tokensJson) as object), Object.keys(fixtureTokens(fixture)));
    });
  }

  it('round-trips through parseKubeletPublish', async () => {
    for (const tokensInSecrets of [false, true]) {
      const pod = fixturePod({ fsGroup: 3000 });
      const cache = new TokenCache(issuer, { now: () => now });
      const built = buildNodePublishVolumeRequest(pod, await cache.tokensFor(pod), { tokensInSecrets });
      const parsed = parseKubeletPublish(toKubeletPublishInput(built), { now: new Date(now.getTime() + 1000), defaultProvider: 'none' });
      assert.deepEqual(parsed.identity, { namespace: pod.namespace, podName: pod.name, podUid: pod.uid, serviceAccountName: pod.serviceAccountName });
      assert.deepEqual([...parsed.tokens.keys()].sort(), ['', 'vault']);
      assert.equal(parsed.mountGroup, 3000);
      assert.equal(parsed.providerName, 'vault');
      assert.deepEqual(Object.keys(parsed.parameters).sort(), ['objects', 'roleName']);
    }
  });

  it('sends no tokens without tokenRequests, and no fsGroup without VOLUME_MOUNT_GROUP', () => {
    const built = buildNodePublishVolumeRequest(fixturePod({ audiences: [], fsGroup: 2000 }), new Map(), { volumeMountGroup: false, readOnly: false });
    assert.equal(TOKENS_KEY in built.volume_context, false);
    assert.deepEqual(built.secrets, {});
    assert.equal(built.volume_capability.mount.volume_mount_group, '');
    assert.equal(built.readonly, false);
  });

  it("lets kubelet's keys win over the pod's attributes", () => {
    const pod = fixturePod({ audiences: [], attributes: { 'csi.storage.k8s.io/pod.name': 'spoofed', provider: 'vault' } });
    assert.equal(buildNodePublishVolumeRequest(pod, new Map()).volume_context['csi.storage.k8s.io/pod.name'], FIXTURE_POD.podName);
  });

  it('refuses to build a call without a token for every audience', () => {
    assert.throws(() => buildNodePublishVolumeRequest(fixturePod(), new Map()), /no token for audience/);
  });

  it('serializes tokens like json.Marshal of a Go map', () => {
    const json = serializeTokens(
      new Map([
        ['vault', { token: 'b', expirationTimestamp: '2026-01-01T00:00:00Z' }],
        ['', { token: 'a', expirationTimestamp: '2026-01-01T00:00:00Z' }],
      ]),
    );
    assert.equal(json, '{"":{"token":"a","expirationTimestamp":"2026-01-01T00:00:00Z"},"vault":{"token":"b","expirationTimestamp":"2026-01-01T00:00:00Z"}}');
  });

  it('builds the NodeUnpublishVolume request', () => {
    const fixture = loadFixture('publish-tokens-in-volume-context');
    assert.deepEqual(buildNodeUnpublishVolumeRequest(fixturePod()), { volume_id: fixture.volume_id, target_path: fixture.target_path });
  });
});

describe('kubelet on-disk steps', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'credmount-kubelet-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates only the parent of the target (mode 0750) and vol_data.json, and cleans up after unpublish', async () => {
    const pod = fixturePod({ audiences: [] });
    const request = buildNodePublishVolumeRequest(pod, new Map(), { kubeletRoot: root });
    const parent = await prepareTargetParent(request, { driverName: 'credmount.csi.example.com', nodeName: 'node-1' });

    assert.equal(parent, dirname(request.target_path));
    assert.equal((await stat(parent)).mode & 0o777, 0o750 & ~process.umask());
    await assert.rejects(stat(request.target_path), { code: 'ENOENT' });
    const data = JSON.parse(await readFile(join(parent, 'vol_data.json'), 'utf8')) as Record<string, string>;
    assert.match(data['attachmentID'] ?? '', /^csi-[0-9a-f]{64}$/);
    delete data['attachmentID'];
    assert.deepEqual(data, {
      driverName: 'credmount.csi.example.com',
      nodeName: 'node-1',
      specVolID: 'creds',
      volumeHandle: request.volume_id,
      volumeLifecycleMode: 'Ephemeral',
    });

    // The driver creates the target; after unpublish (target gone or empty) kubelet removes the rest.
    await mkdir(request.target_path);
    assert.equal(await cleanUpAfterUnpublish(buildNodeUnpublishVolumeRequest(pod, { kubeletRoot: root })), true);
    await assert.rejects(stat(parent), { code: 'ENOENT' });
    // Idempotent, like kubelet's removeMountDir.
    assert.equal(await cleanUpAfterUnpublish(buildNodeUnpublishVolumeRequest(pod, { kubeletRoot: root })), true);
  });
});

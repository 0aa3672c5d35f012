import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CsiCallError } from '../../src/cli/kubelet-sim/csi-client.js';
import { prepareTargetParent, type NodePublishVolumeRequest } from '../../src/cli/kubelet-sim/kubelet-request-builder.js';
import { ServiceAccountTokenIssuer } from '../../src/cli/kubelet-sim/token-issuer.js';
import { E2eWorld } from '../support/e2e-world.js';

const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';

interface BadCase {
  readonly name: string;
  /** Make the request bad; may be async (minting tokens). */
  readonly mutate: (request: NodePublishVolumeRequest, world: E2eWorld) => Promise<unknown> | unknown;
  readonly code: string;
  readonly errorCode?: string | RegExp;
  readonly message: RegExp;
}

/** Replace the tokens JSON (wherever kubelet put it) with `json`. */
function setTokens(request: NodePublishVolumeRequest, json: string): void {
  request.volume_context[TOKENS_KEY] = json;
}

async function tokensFor(
  world: E2eWorld,
  claims: { namespace?: string; podName?: string; podUid?: string; serviceAccountName?: string },
  request: NodePublishVolumeRequest,
  issuer?: ServiceAccountTokenIssuer,
  ttlSeconds?: number,
  now?: Date,
  audience = 'credmount',
): Promise<string> {
  const context = request.volume_context;
  const minted = await (issuer ?? world.simulator.issuer).mint({
    namespace: claims.namespace ?? (context['csi.storage.k8s.io/pod.namespace'] as string),
    podName: claims.podName ?? (context['csi.storage.k8s.io/pod.name'] as string),
    podUid: claims.podUid ?? (context['csi.storage.k8s.io/pod.uid'] as string),
    serviceAccountName: claims.serviceAccountName ?? (context['csi.storage.k8s.io/serviceAccount.name'] as string),
    audience,
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    ...(now === undefined ? {} : { now }),
  });
  return JSON.stringify({ [audience]: minted });
}

function objectsWith(entry: string): string {
  return `${entry}\n`;
}

const CASES: BadCase[] = [
  { name: 'empty request', mutate: (r) => Object.assign(r, { volume_id: '' }), code: 'INVALID_ARGUMENT', errorCode: 'CM_FIELD_MISSING', message: /volume_id is required/ },
  { name: 'no target_path', mutate: (r) => Object.assign(r, { target_path: '' }), code: 'INVALID_ARGUMENT', errorCode: 'CM_FIELD_MISSING', message: /target_path is required/ },
  { name: 'relative target_path', mutate: (r) => Object.assign(r, { target_path: 'pods/x/mount' }), code: 'INVALID_ARGUMENT', message: /target_path: must be an absolute path/ },
  { name: 'target_path with ..', mutate: (r) => Object.assign(r, { target_path: `${r.target_path}/../../escape` }), code: 'INVALID_ARGUMENT', message: /target_path: must be a normalised path/ },
  { name: 'no volume_capability', mutate: (r) => Object.assign(r, { volume_capability: null }), code: 'INVALID_ARGUMENT', message: /volume_capability is required/ },
  { name: 'block volume', mutate: (r) => Object.assign(r, { volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } }), code: 'INVALID_ARGUMENT', message: /volume_capability\.block/ },
  { name: 'no access mode', mutate: (r) => Object.assign(r.volume_capability, { access_mode: null }), code: 'INVALID_ARGUMENT', message: /volume_capability\.access_mode is required/ },
  { name: 'fs_type ext4', mutate: (r) => Object.assign(r.volume_capability.mount, { fs_type: 'ext4' }), code: 'INVALID_ARGUMENT', message: /fs_type/ },
  { name: 'mount flags', mutate: (r) => Object.assign(r.volume_capability.mount, { mount_flags: ['exec'] }), code: 'INVALID_ARGUMENT', message: /mount_flags/ },
  { name: 'not read-only', mutate: (r) => Object.assign(r, { readonly: false }), code: 'INVALID_ARGUMENT', message: /readonly: credential volumes must be read-only/ },
  { name: 'bad volume_mount_group', mutate: (r) => Object.assign(r.volume_capability.mount, { volume_mount_group: 'wheel' }), code: 'INVALID_ARGUMENT', message: /volume_mount_group/ },
  { name: 'missing pod name', mutate: (r) => delete r.volume_context['csi.storage.k8s.io/pod.name'], code: 'INVALID_ARGUMENT', message: /pod\.name/ },
  { name: 'missing pod uid', mutate: (r) => delete r.volume_context['csi.storage.k8s.io/pod.uid'], code: 'INVALID_ARGUMENT', message: /pod\.uid/ },
  { name: 'not an inline ephemeral volume', mutate: (r) => (r.volume_context['csi.storage.k8s.io/ephemeral'] = 'false'), code: 'INVALID_ARGUMENT', message: /ephemeral/ },
  { name: 'tokens JSON is not JSON', mutate: (r) => setTokens(r, '{not json'), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKENS_MALFORMED', message: /serviceAccount\.tokens/ },
  { name: 'tokens JSON is an array', mutate: (r) => setTokens(r, '[]'), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKENS_MALFORMED', message: /serviceAccount\.tokens/ },
  { name: 'token is not a JWT', mutate: (r) => setTokens(r, JSON.stringify({ credmount: { token: 'not-a-jwt', expirationTimestamp: '2099-01-01T00:00:00Z' } })), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKEN_MALFORMED', message: /audience "credmount" is malformed/ },
  {
    name: 'expired token',
    mutate: async (r, w) => setTokens(r, await tokensFor(w, {}, r, undefined, 600, new Date(Date.now() - 3_600_000))),
    code: 'INVALID_ARGUMENT',
    errorCode: 'CM_TOKEN_EXPIRED',
    message: /expired/,
  },
  { name: 'token for another pod', mutate: async (r, w) => setTokens(r, await tokensFor(w, { podUid: '00000000-0000-4000-8000-000000000000' }, r)), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKEN_IDENTITY_MISMATCH', message: /pod\.uid/ },
  { name: 'token for another namespace', mutate: async (r, w) => setTokens(r, await tokensFor(w, { namespace: 'other' }, r)), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKEN_IDENTITY_MISMATCH', message: /namespace/ },
  { name: 'token for another service account', mutate: async (r, w) => setTokens(r, await tokensFor(w, { serviceAccountName: 'admin' }, r)), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKEN_IDENTITY_MISMATCH', message: /serviceaccount/ },
  { name: 'no tokens at all (CSIDriver without tokenRequests)', mutate: (r) => setTokens(r, '{}'), code: 'INVALID_ARGUMENT', errorCode: 'CM_TOKENS_MISSING', message: /must set tokenRequests/ },
  {
    name: 'no token for the audience the provider needs',
    mutate: async (r, w) => setTokens(r, await tokensFor(w, {}, r, undefined, undefined, undefined, 'vault')),
    code: 'INVALID_ARGUMENT',
    errorCode: 'CM_TOKEN_AUDIENCE_MISSING',
    message: /no service-account token for audience "credmount" \(kubelet sent "vault"\)/,
  },
  { name: 'unknown provider', mutate: (r) => (r.volume_context['provider'] = 'hashicorp'), code: 'INVALID_ARGUMENT', errorCode: 'CM_UNKNOWN_PROVIDER', message: /provider: unknown provider "hashicorp" \(this driver has: embedded\)/ },
  { name: 'objects is not YAML', mutate: (r) => (r.volume_context['objects'] = '- objectName: [unclosed'), code: 'INVALID_ARGUMENT', errorCode: 'CM_PARAMETER_INVALID', message: /volume_context\.objects/ },
  { name: 'unknown parameter', mutate: (r) => (r.volume_context['rolename'] = 'x'), code: 'INVALID_ARGUMENT', errorCode: 'CM_PARAMETER_INVALID', message: /rolename/ },
  {
    name: 'path traversal in objectName',
    mutate: (r, w) => (r.volume_context['objects'] = objectsWith(`- objectName: ../../../etc/cron.d/x\n  secretPath: ${w.store.secretPaths[0]}`)),
    code: 'INVALID_ARGUMENT',
    errorCode: /CM_PARAMETER_INVALID|CM_FILE_PATH_INVALID/,
    message: /\.\./,
  },
  {
    name: 'absolute objectName',
    mutate: (r, w) => (r.volume_context['objects'] = objectsWith(`- objectName: /etc/passwd\n  secretPath: ${w.store.secretPaths[0]}`)),
    code: 'INVALID_ARGUMENT',
    errorCode: /CM_PARAMETER_INVALID|CM_FILE_PATH_INVALID/,
    message: /absolute|\/etc\/passwd/,
  },
  {
    name: 'secretPath escaping the store',
    mutate: (r) => (r.volume_context['objects'] = objectsWith('- objectName: x\n  secretPath: ../policy.yaml')),
    code: 'INVALID_ARGUMENT',
    errorCode: 'CM_PARAMETER_INVALID',
    message: /secretPath/,
  },
  {
    name: 'oversized content',
    mutate: (r, w) => (r.volume_context['objects'] = objectsWith(`- objectName: big\n  secretPath: ${w.store.namespace}/big`)),
    code: 'INVALID_ARGUMENT',
    errorCode: 'CM_CONTENT_TOO_LARGE',
    message: /more than the limit of 65536 bytes/,
  },
  {
    name: 'token signed by a key the backend does not trust',
    mutate: async (r, w) => setTokens(r, await tokensFor(w, {}, r, await ServiceAccountTokenIssuer.create())),
    code: 'UNAUTHENTICATED',
    message: /token/,
  },
  {
    name: 'secret the service account may not read',
    mutate: (r) => (r.volume_context['objects'] = objectsWith('- objectName: x\n  secretPath: payments/db-password')),
    code: 'PERMISSION_DENIED',
    message: /payments\/db-password/,
  },
];

describe('bad input: the right code, a message naming the problem, and nothing mounted or changed', () => {
  let world: E2eWorld;
  before(async () => {
    world = await E2eWorld.start({ driverArgs: ['--max-volume-bytes', String(64 * 1024)] });
    await writeFile(join(world.store.storeDir, 'secrets', world.store.namespace, 'big'), Buffer.alloc(80 * 1024, 'x'));
  });
  after(async () => {
    await world.stop();
  });

  test(`there are at least 20 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 20);
  });

  for (const badCase of CASES) {
    test(badCase.name, async () => {
      const pod = world.pod();
      const request = await world.simulator.buildPublishRequest(pod);
      await prepareTargetParent(request);
      const targetPath = request.target_path;
      const token = JSON.parse(request.volume_context[TOKENS_KEY] ?? '{}') as Record<string, { token: string }>;
      await badCase.mutate(request, world);
      const error = await world.simulator.client.nodeCall('NodePublishVolume', request).then(
        () => assert.fail('the call should have failed'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CsiCallError, String(error));
      assert.equal(error.codeName, badCase.code, error.details);
      if (badCase.errorCode !== undefined) {
        if (typeof badCase.errorCode === 'string') assert.equal(error.errorCode, badCase.errorCode, error.details);
        else assert.match(error.errorCode ?? '', badCase.errorCode, error.details);
      }
      assert.match(error.details, badCase.message);
      // The message never echoes a token.
      for (const entry of Object.values(token)) assert.ok(!error.details.includes(entry.token.split('.')[2] ?? '???'), 'token signature in the message');
      // Nothing was mounted, created or recorded.
      const targetExists = await stat(targetPath).then(
        () => true,
        () => false,
      );
      assert.equal(targetExists, false, 'target path must not exist');
      const recorded = await readdir(join(world.driver.stateDir, 'volumes')).catch(() => []);
      assert.deepEqual(recorded, []);
    });
  }

  test('an incompatible republish is ALREADY_EXISTS and leaves the volume byte for byte', async () => {
    const pod = world.pod();
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const before = await readFile(join(published.targetPath, 'db-password'));
    const changed = { ...pod, attributes: { ...pod.attributes, objects: world.store.objectsParameter.replace('ttl: 10m', 'ttl: 20m') } };
    const event = await world.simulator.publish(changed);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'ALREADY_EXISTS');
    assert.equal(event.errorCode, 'CM_VOLUME_CONFLICT');
    assert.deepEqual(await readFile(join(published.targetPath, 'db-password')), before);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('unpublish and stats check their arguments too', async () => {
    const client = world.simulator.client;
    await assert.rejects(client.nodeCall('NodeUnpublishVolume', { volume_id: '', target_path: '/x' }), { codeName: 'INVALID_ARGUMENT', details: /volume_id is required/ });
    await assert.rejects(client.nodeCall('NodeUnpublishVolume', { volume_id: 'csi-x', target_path: '' }), { codeName: 'INVALID_ARGUMENT', details: /target_path is required/ });
    await assert.rejects(client.nodeCall('NodeGetVolumeStats', { volume_id: 'csi-x', volume_path: '' }), { codeName: 'INVALID_ARGUMENT', details: /volume_path is required/ });
    await assert.rejects(client.nodeCall('NodeGetVolumeStats', { volume_id: 'csi-unknown', volume_path: '/x' }), { codeName: 'NOT_FOUND' });
  });
});

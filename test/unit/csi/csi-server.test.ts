import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CsiCallError, CsiClient } from '../../../src/cli/kubelet-sim/csi-client.js';
import { CsiServer, type CsiServerOptions } from '../../../src/csi/csi-server.js';
import { createLogger, silentLogger } from '../../../src/observability/logger.js';
import { latch } from '../../support/scripted-provider.js';
import { VolumeHarness } from '../../support/volume-harness.js';
import { createStaleSocket } from './stale-socket.js';

const POD = { namespace: 'payments', name: 'billing-0', uid: '9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10', serviceAccount: 'billing' };
const AUDIENCE = 'scripted';

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A token shaped like a bound service-account token of POD. The driver only decodes tokens (the
 * backend verifies signatures), so an unverifiable signature is enough here.
 */
function podToken(expiresAt: Date): string {
  const claims = {
    aud: [AUDIENCE],
    exp: Math.floor(expiresAt.getTime() / 1000),
    iat: Math.floor(Date.UTC(2026, 0, 1) / 1000),
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: `system:serviceaccount:${POD.namespace}:${POD.serviceAccount}`,
    'kubernetes.io': { namespace: POD.namespace, pod: { name: POD.name, uid: POD.uid }, serviceaccount: { name: POD.serviceAccount, uid: 'sa-uid' } },
  };
  return `${base64url({ alg: 'RS256', kid: 'test' })}.${base64url(claims)}.c2lnbmF0dXJl`;
}

/** A NodePublishVolume body as kubelet sends it for an inline volume of POD. */
async function publishBody(root: string, volume: string, objects: string, expiresAt = new Date(Date.UTC(2099, 0, 1))): Promise<Record<string, unknown>> {
  const targetPath = join(root, 'pods', POD.uid, 'volumes', 'kubernetes.io~csi', volume, 'mount');
  await mkdir(dirname(targetPath), { recursive: true });
  return {
    volume_id: `csi-${volume}`,
    target_path: targetPath,
    readonly: true,
    secrets: {},
    volume_context: {
      'csi.storage.k8s.io/ephemeral': 'true',
      'csi.storage.k8s.io/pod.name': POD.name,
      'csi.storage.k8s.io/pod.namespace': POD.namespace,
      'csi.storage.k8s.io/pod.uid': POD.uid,
      'csi.storage.k8s.io/serviceAccount.name': POD.serviceAccount,
      'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({ [AUDIENCE]: { token: podToken(expiresAt), expirationTimestamp: expiresAt.toISOString() } }),
      objects,
    },
    volume_capability: { mount: { fs_type: '', mount_flags: [], volume_mount_group: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
  };
}

async function callError(promise: Promise<unknown>): Promise<CsiCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CsiCallError, `expected a CsiCallError, got ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('CsiServer', () => {
  let dir: string;
  let harness: VolumeHarness;
  let ready = true;
  const servers: CsiServer[] = [];
  const clients: CsiClient[] = [];

  function options(socketPath: string): CsiServerOptions {
    return {
      endpoint: `unix://${socketPath}`,
      driverName: 'csi.credmount.test',
      version: '1.2.3-test',
      isReady: () => ready,
      logger: silentLogger(),
      metrics: harness.metrics,
      providerNames: [harness.provider.name],
      nodeId: 'node-a',
      volumes: harness.manager,
      defaultProvider: harness.provider.name,
      requireReadOnly: true,
      now: () => new Date(harness.clock.now()),
    };
  }

  async function start(name: string): Promise<{ server: CsiServer; client: CsiClient }> {
    const server = await CsiServer.start(options(join(dir, name, 'csi.sock')));
    servers.push(server);
    const client = CsiClient.connect(`unix://${server.socketPath}`);
    clients.push(client);
    return { server, client };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-csi-'));
    harness = await VolumeHarness.create();
  });

  afterEach(async () => {
    ready = true;
    harness.provider.gate = undefined;
    for (const client of clients.splice(0)) client.close();
    for (const server of servers.splice(0)) await server.stop(1_000);
  });

  after(async () => {
    await harness.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('Probe reports ready only while isReady() is true', async () => {
    const { client } = await start('probe');
    ready = false;
    assert.equal((await client.identityCall<{ ready: { value: boolean } | null }>('Probe')).ready?.value, false);
    ready = true;
    assert.equal((await client.identityCall<{ ready: { value: boolean } | null }>('Probe')).ready?.value, true);
    ready = false;
    assert.equal((await client.identityCall<{ ready: { value: boolean } | null }>('Probe')).ready?.value, false);
  });

  test('calls made on a schedule log their success at debug: NodeGetCapabilities, NodeGetVolumeStats, Probe, GetPluginCapabilities', async () => {
    // kubelet asks NodeGetCapabilities twice per publish and republish and once per stats call
    // (docs/kubelet-contract.md §4): at info, a node's log would be mostly these lines.
    const linesAt = async (level: string): Promise<{ op: string; level: string }[]> => {
      const lines: { op: string; level: string }[] = [];
      const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(JSON.parse(line) as { op: string; level: string }) } });
      const server = await CsiServer.start({ ...options(join(dir, `levels-${level}`, 'csi.sock')), logger });
      servers.push(server);
      const client = CsiClient.connect(`unix://${server.socketPath}`);
      clients.push(client);
      const body = await publishBody(join(dir, `levels-${level}`, 'kubelet'), `levels-${level}`, 'a');
      await client.nodeCall('NodePublishVolume', body);
      await client.nodeCall('NodeGetCapabilities');
      await client.nodeCall('NodeGetVolumeStats', { volume_id: body['volume_id'], volume_path: body['target_path'] });
      await client.identityCall('Probe');
      await client.identityCall('GetPluginCapabilities');
      await client.nodeCall('NodeGetInfo');
      await callError(client.nodeCall('NodeGetVolumeStats', { volume_id: 'csi-unknown', volume_path: join(dir, 'nowhere') }));
      await sleep(50); // lines are written once the answer is on the socket (after-answer.ts)
      return lines.filter((line) => line.op !== undefined).map(({ op, level: at }) => ({ op, level: at }));
    };

    assert.deepEqual(await linesAt('info'), [
      { op: 'NodePublishVolume', level: 'info' },
      { op: 'NodeGetInfo', level: 'info' },
      { op: 'NodeGetVolumeStats', level: 'warn' },
    ]);
    assert.deepEqual(
      (await linesAt('debug')).map((line) => `${line.op} ${line.level}`),
      ['NodePublishVolume info', 'NodeGetCapabilities debug', 'NodeGetVolumeStats debug', 'Probe debug', 'GetPluginCapabilities debug', 'NodeGetInfo info', 'NodeGetVolumeStats warn'],
    );
  });

  test('GetPluginInfo reports the driver name and version', async () => {
    const { client } = await start('info');
    const info = await client.identityCall<{ name: string; vendor_version: string }>('GetPluginInfo');
    assert.equal(info.name, 'csi.credmount.test');
    assert.equal(info.vendor_version, '1.2.3-test');
  });

  test('NodeGetInfo reports the node id', async () => {
    const { client } = await start('node-info');
    const info = await client.nodeCall<{ node_id: string }>('NodeGetInfo');
    assert.equal(info.node_id, 'node-a');
  });

  test('NodeStageVolume and NodeExpandVolume answer UNIMPLEMENTED', async () => {
    const { client } = await start('unimplemented');
    for (const method of ['NodeStageVolume', 'NodeUnstageVolume', 'NodeExpandVolume']) {
      const error = await callError(client.nodeCall(method, { volume_id: 'csi-x' }));
      assert.equal(error.grpcCode, status.UNIMPLEMENTED, method);
      assert.equal(error.codeName, 'UNIMPLEMENTED');
    }
  });

  test('a method that is not in the proto at all answers UNIMPLEMENTED', async () => {
    const { server } = await start('unknown-method');
    const raw = new Client(`unix://${server.socketPath}`, credentials.createInsecure());
    try {
      const error = await new Promise<ServiceError | null>((resolve) => {
        raw.makeUnaryRequest(
          '/csi.v1.Node/NodeDoesNotExist',
          () => Buffer.alloc(0),
          (buffer: Buffer) => buffer,
          {},
          (err) => resolve(err),
        );
      });
      assert.equal(error?.code, status.UNIMPLEMENTED);
    } finally {
      raw.close();
    }
  });

  test('a coded error reaches the client with its status and credmount-error-code', async () => {
    const { client } = await start('coded-error');
    const body = await publishBody(dir, 'coded', 'a');
    const error = await callError(client.nodeCall('NodePublishVolume', { ...body, volume_id: '' }));
    assert.equal(error.grpcCode, status.INVALID_ARGUMENT);
    assert.equal(error.errorCode, 'CM_FIELD_MISSING');
    assert.match(error.details, /volume_id/);
  });

  // The node service reuses the parse of a republish equal to the volume's last publish
  // (src/csi/recent-publishes.ts): what depends on the moment or on any field must still be checked.
  test('a republish equal to the last publish is refused once its token has expired', async () => {
    const { client } = await start('republish-expiry');
    const body = await publishBody(dir, 'expiring', 'a', new Date(harness.clock.now() + 10 * 60_000));
    await client.nodeCall('NodePublishVolume', body);
    await client.nodeCall('NodePublishVolume', body);
    harness.clock.advance(10 * 60_000);
    const fetches = harness.provider.fetches;
    const error = await callError(client.nodeCall('NodePublishVolume', body));
    assert.equal(error.grpcCode, status.INVALID_ARGUMENT);
    assert.equal(error.errorCode, 'CM_TOKEN_EXPIRED');
    assert.match(error.details, new RegExp(`audience "${AUDIENCE}" expired at`));
    // Refused before anything was fetched or written: the mounted content is as it was.
    assert.equal(harness.provider.fetches, fetches);
    assert.equal(await readFile(join(String(body['target_path']), 'secret.txt'), 'utf8'), 'v1');
  });

  test('a republish that differs from the last publish in one field is checked in full', async () => {
    const { client } = await start('republish-changed');
    const body = await publishBody(dir, 'changed', 'a');
    await client.nodeCall('NodePublishVolume', body);
    const fetches = harness.provider.fetches;
    const context = body['volume_context'] as Record<string, string>;
    const otherPod = await callError(client.nodeCall('NodePublishVolume', { ...body, volume_context: { ...context, 'csi.storage.k8s.io/pod.name': 'billing-1' } }));
    assert.equal(otherPod.grpcCode, status.INVALID_ARGUMENT);
    assert.equal(otherPod.errorCode, 'CM_TOKEN_IDENTITY_MISMATCH');
    assert.match(otherPod.details, /kubernetes\.io\.pod\.name/);
    const writable = await callError(client.nodeCall('NodePublishVolume', { ...body, readonly: false }));
    assert.equal(writable.grpcCode, status.INVALID_ARGUMENT);
    assert.match(writable.details, /readonly/);
    const dotted = await callError(client.nodeCall('NodePublishVolume', { ...body, target_path: `${String(body['target_path'])}/.` }));
    assert.equal(dotted.grpcCode, status.INVALID_ARGUMENT);
    assert.match(dotted.details, /target_path/);
    // The original request is still accepted, as a fresh republish (no fetch).
    await client.nodeCall('NodePublishVolume', body);
    assert.equal(harness.provider.fetches, fetches);
    assert.equal(await readFile(join(String(body['target_path']), 'secret.txt'), 'utf8'), 'v1');
  });

  test('a stale socket left at the path is replaced on start', async () => {
    const socketPath = join(dir, 'stale', 'csi.sock');
    await mkdir(dirname(socketPath), { recursive: true });
    await createStaleSocket(socketPath);
    assert.ok((await lstat(socketPath)).isSocket());
    const { client } = await start('stale');
    const info = await client.nodeCall<{ node_id: string }>('NodeGetInfo');
    assert.equal(info.node_id, 'node-a');
  });

  test('start refuses to replace a regular file at the socket path', async () => {
    const socketPath = join(dir, 'regular', 'csi.sock');
    await mkdir(dirname(socketPath), { recursive: true });
    await writeFile(socketPath, 'not a socket');
    await assert.rejects(CsiServer.start(options(socketPath)), /not a socket/);
    assert.equal(await readFile(socketPath, 'utf8'), 'not a socket');
  });

  test('stop() removes the socket', async () => {
    const server = await CsiServer.start(options(join(dir, 'stop', 'csi.sock')));
    assert.ok((await lstat(server.socketPath)).isSocket());
    await server.stop(1_000);
    assert.equal(existsSync(server.socketPath), false);
  });

  test('publishes of different volumes run concurrently', async () => {
    const { client } = await start('concurrent');
    const gate = latch();
    harness.provider.gate = gate.promise;
    const fetchesBefore = harness.provider.fetches;
    // Different parameters, so the manager cannot share one fetch between the two volumes.
    const first = client.nodeCall('NodePublishVolume', await publishBody(dir, 'one', 'a'));
    const second = client.nodeCall('NodePublishVolume', await publishBody(dir, 'two', 'b'));
    let reached = 0;
    try {
      // The harness abandons a fetch after 2 s: watch for well under that.
      const deadline = Date.now() + 1_200;
      while (Date.now() < deadline) {
        reached = harness.provider.fetches - fetchesBefore;
        if (reached >= 2) break;
        await sleep(10);
      }
    } finally {
      gate.open();
    }
    const results = await Promise.allSettled([first, second]);
    assert.equal(reached, 2, 'both publishes reached the provider while its gate was closed');
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
      JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
    );
    for (const volume of ['one', 'two']) {
      const target = join(dir, 'pods', POD.uid, 'volumes', 'kubernetes.io~csi', volume, 'mount');
      assert.equal(await readFile(join(target, 'secret.txt'), 'utf8'), 'v1');
    }
  });
});

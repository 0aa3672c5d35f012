import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LeanCsiCaller } from '../../bench/lean-csi-caller.js';
import { CsiCallError, CsiClient, type CsiCaller } from '../../src/cli/kubelet-sim/csi-client.js';
import { loadCsiServices } from '../../src/csi/csi-proto.js';

const REQUEST = {
  volume_id: 'csi-0123',
  target_path: '/var/lib/kubelet/pods/9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10/volumes/kubernetes.io~csi/creds/mount',
  readonly: true,
  secrets: {},
  volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', objects: '- objectName: a\n' },
  volume_capability: { mount: { fs_type: '', mount_flags: [], volume_mount_group: '1000' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
};

/**
 * The benchmarks' lean caller (bench/lean-csi-caller.ts) against a real @grpc/grpc-js server: it
 * must see exactly what CsiClient sees — the request as sent, the response, and errors with
 * their code, message and credmount-error-code — or the benchmarks would time something else.
 */
describe('LeanCsiCaller', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;
  const received: unknown[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-lean-'));
    endpoint = `unix://${join(dir, 'csi.sock')}`;
    const services = loadCsiServices();
    server = new Server();
    server.addService(services.Identity.service, {
      Probe: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, { ready: { value: true } }),
      GetPluginInfo: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, { name: 'lean.test', vendor_version: '1.0.0' }),
    });
    server.addService(services.Node.service, {
      NodePublishVolume: (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
        received.push(call.request);
        if (call.request['volume_id'] === 'refuse') {
          const metadata = new Metadata();
          metadata.set('credmount-error-code', 'CM_FIELD_INVALID');
          callback({ code: status.INVALID_ARGUMENT, details: 'target_path: 100% wrong, «not» ok', metadata }, null);
        } else if (call.request['volume_id'] === 'slow') {
          setTimeout(() => callback(null, {}), 500);
        } else {
          callback(null, {});
        }
      },
      NodeGetInfo: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, { node_id: 'node-a', max_volumes_per_node: '7' }),
    });
    await new Promise<void>((resolveBind, reject) => server.bindAsync(endpoint, ServerCredentials.createInsecure(), (error) => (error === null ? resolveBind() : reject(error))));
  });

  after(async () => {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  async function both<T>(call: (caller: CsiCaller) => Promise<T>): Promise<[T, T]> {
    const lean = LeanCsiCaller.connect(endpoint);
    const grpcJs = CsiClient.connect(endpoint);
    try {
      return [await call(lean), await call(grpcJs)];
    } finally {
      lean.close();
      grpcJs.close();
    }
  }

  async function rejection(promise: Promise<unknown>): Promise<CsiCallError> {
    const error = await promise.then(() => assert.fail('the call succeeded'), (e: unknown) => e);
    assert.ok(error instanceof CsiCallError, String(error));
    return error;
  }

  test('answers, and the request arrives, exactly as through CsiClient', async () => {
    received.length = 0;
    const [lean, grpcJs] = await both((caller) => caller.nodeCall('NodeGetInfo'));
    assert.deepEqual(lean, grpcJs);
    assert.equal(lean['node_id'], 'node-a');
    await both((caller) => caller.nodeCall('NodePublishVolume', REQUEST));
    assert.equal(received.length, 2);
    assert.deepEqual(received[0], received[1]);
    assert.equal((received[0] as { target_path: string }).target_path, REQUEST.target_path);
    const [info] = await both((caller) => caller.identityCall('GetPluginInfo'));
    assert.equal(info['name'], 'lean.test');
  });

  test('an error carries the same code, message and credmount-error-code as through CsiClient', async () => {
    const [lean, grpcJs] = await both((caller) => rejection(caller.nodeCall('NodePublishVolume', { ...REQUEST, volume_id: 'refuse' })));
    assert.equal(lean.grpcCode, status.INVALID_ARGUMENT);
    assert.equal(lean.codeName, 'INVALID_ARGUMENT');
    assert.equal(lean.details, grpcJs.details);
    assert.equal(lean.details, 'target_path: 100% wrong, «not» ok');
    assert.equal(lean.errorCode, 'CM_FIELD_INVALID');
    assert.equal(grpcJs.errorCode, 'CM_FIELD_INVALID');
    const [unimplemented] = await both((caller) => rejection(caller.nodeCall('NodeStageVolume', { volume_id: 'x' })));
    assert.equal(unimplemented.codeName, 'UNIMPLEMENTED');
  });

  test('a call past its deadline fails DEADLINE_EXCEEDED; the connection serves the next call', async () => {
    const caller = LeanCsiCaller.connect(endpoint);
    try {
      const error = await rejection(caller.nodeCall('NodePublishVolume', { ...REQUEST, volume_id: 'slow' }, 100));
      assert.equal(error.codeName, 'DEADLINE_EXCEEDED');
      await caller.waitUntilReady(5_000);
      assert.deepEqual(await caller.nodeCall('NodePublishVolume', REQUEST), {});
    } finally {
      caller.close();
    }
  });

  test('a method the proto does not have is refused before anything is sent', async () => {
    const caller = LeanCsiCaller.connect(endpoint);
    try {
      await assert.rejects(caller.nodeCall('NodeFrobnicate'), /no such CSI method NodeFrobnicate/);
    } finally {
      caller.close();
    }
  });
});

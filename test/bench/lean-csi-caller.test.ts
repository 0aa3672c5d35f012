import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectSocket, createServer as createNetServer, type Server as NetServer } from 'node:net';
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

  test('on the connection it does what grpc-go does: waits for the server\'s SETTINGS, answers data with WINDOW_UPDATE and a BDP PING, closes with GOAWAY', async () => {
    const proxy = await FrameLog.start(join(dir, 'frames.sock'), endpoint.replace('unix://', ''));
    try {
      const caller = LeanCsiCaller.connect(`unix://${proxy.front}`);
      await caller.nodeCall('NodeGetInfo');
      await caller.nodeCall('NodeGetInfo');
      caller.close();
      await proxy.ended();
      const log = proxy.frames;
      const at = (frame: string) => log.indexOf(frame);
      const toServer = log.filter((f) => f.startsWith('C '));
      // The request waits for the server's SETTINGS, which the client acknowledges first.
      assert.ok(at('S SETTINGS') >= 0 && at('S SETTINGS') < at('C HEADERS'), log.join('\n'));
      assert.deepEqual(toServer.slice(0, 4), ['C SETTINGS', 'C SETTINGS ACK', 'C HEADERS', 'C DATA END_STREAM'], log.join('\n'));
      // Each answer's data (both the same size) is given back to the connection window, then pinged for.
      const answerBytes = proxy.dataBytesToClient / 2;
      assert.equal(toServer.filter((f) => f === `C WINDOW_UPDATE stream 0 +${answerBytes}`).length, 2, log.join('\n'));
      assert.equal(toServer.filter((f) => f === 'C PING 2,4,16,16,9,14,7,7').length, 2, log.join('\n'));
      assert.ok(at('C PING 2,4,16,16,9,14,7,7') > at('S DATA'), 'the ping follows the answer');
      assert.equal(toServer.at(-1), 'C GOAWAY NO_ERROR');
      assert.equal(proxy.connections, 1);
    } finally {
      await proxy.close();
    }
  });

  test('no server at the socket: the call fails UNAVAILABLE', async () => {
    const caller = LeanCsiCaller.connect(`unix://${join(dir, 'nobody.sock')}`);
    try {
      const error = await rejection(caller.nodeCall('NodeGetInfo'));
      assert.equal(error.codeName, 'UNAVAILABLE');
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

const FRAME_TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

/**
 * A unix-socket proxy that names the HTTP/2 frames each side sends (RFC 9113 §4.1: a 9-byte
 * header of length, type, flags and stream), `C …` from the client, `S …` from the server.
 */
class FrameLog {
  readonly frames: string[] = [];
  dataBytesToClient = 0;
  connections = 0;
  private endedClient: Promise<void> = Promise.resolve();

  private constructor(
    readonly front: string,
    private readonly server: NetServer,
  ) {}

  static async start(front: string, back: string): Promise<FrameLog> {
    const server = createNetServer();
    const log = new FrameLog(front, server);
    server.on('connection', (client) => {
      log.connections += 1;
      const plugin = connectSocket(back);
      client.on('data', log.parser('C', 24));
      plugin.on('data', log.parser('S', 0));
      client.pipe(plugin);
      plugin.pipe(client);
      client.on('error', () => undefined);
      plugin.on('error', () => undefined);
      log.endedClient = new Promise((resolveEnd) => client.once('close', () => resolveEnd()));
    });
    await new Promise<void>((resolveListen) => server.listen(front, resolveListen));
    return log;
  }

  /** Resolves once the client's side of the last connection has closed. */
  ended(): Promise<void> {
    return this.endedClient;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }

  private parser(side: 'C' | 'S', prefaceBytes: number): (chunk: Buffer) => void {
    let pending = Buffer.alloc(0);
    let skip = prefaceBytes; // the client's connection preface, "PRI * HTTP/2.0…"
    return (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      const skipped = Math.min(skip, pending.length);
      pending = pending.subarray(skipped);
      skip -= skipped;
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        const type = FRAME_TYPES[pending[3] as number] ?? String(pending[3]);
        const flags = pending[4] as number;
        const payload = pending.subarray(9, 9 + length);
        this.frames.push(`${side} ${type}${FrameLog.detail(type, flags, pending.readUInt32BE(5), payload)}`);
        if (side === 'S' && type === 'DATA') this.dataBytesToClient += length;
        pending = pending.subarray(9 + length);
      }
    };
  }

  private static detail(type: string, flags: number, stream: number, payload: Buffer): string {
    const ack = (flags & 1) !== 0;
    switch (type) {
      case 'SETTINGS':
        return ack ? ' ACK' : '';
      case 'DATA':
        return (flags & 1) !== 0 ? ' END_STREAM' : '';
      case 'PING':
        return ack ? ' ACK' : ` ${[...payload].join(',')}`;
      case 'WINDOW_UPDATE':
        return ` stream ${stream} +${payload.readUInt32BE(0)}`;
      case 'GOAWAY':
        return payload.readUInt32BE(4) === 0 ? ' NO_ERROR' : ` error ${payload.readUInt32BE(4)}`;
      default:
        return '';
    }
  }
}

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, connect as connectSocket, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { KubeletSimulator } from '../../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../../src/cli/kubelet-sim/simulated-pod.js';
import { loadCsiServices } from '../../../src/csi/csi-proto.js';
import { LeanCsiCaller } from '../../../bench/lean-csi-caller.js';

/**
 * A CSI node plugin that records what it is asked, with the capabilities a test chooses, behind a
 * unix-socket proxy that counts the connections made to it — so the tests see kubelet's calls and
 * kubelet's connections (csi_client.go dials one per call), not the simulator's own account.
 */
class RecordingPlugin {
  readonly calls: { method: string; request: Record<string, unknown> }[] = [];
  connections = 0;
  capabilities: string[] = ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'];
  failCapabilities = false;
  private readonly open = new Set<Socket>();

  private constructor(
    readonly endpoint: string,
    private readonly server: Server,
    private readonly proxy: NetServer,
  ) {}

  static async start(dir: string): Promise<RecordingPlugin> {
    const backend = join(dir, 'plugin.sock');
    const front = join(dir, 'csi.sock');
    const server = new Server();
    const proxy = createNetServer();
    const plugin = new RecordingPlugin(`unix://${front}`, server, proxy);
    const services = loadCsiServices();
    const record =
      (method: string, answer: () => object) =>
      (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>): void => {
        plugin.calls.push({ method, request: call.request });
        if (method === 'NodeGetCapabilities' && plugin.failCapabilities) return callback({ code: status.UNAVAILABLE, details: 'capabilities down' }, null);
        callback(null, answer());
      };
    server.addService(services.Identity.service, { Probe: record('Probe', () => ({ ready: { value: true } })), GetPluginInfo: record('GetPluginInfo', () => ({ name: 'recording', vendor_version: '1' })), GetPluginCapabilities: record('GetPluginCapabilities', () => ({})) });
    server.addService(services.Node.service, {
      NodeGetCapabilities: record('NodeGetCapabilities', () => ({ capabilities: plugin.capabilities.map((type) => ({ rpc: { type } })) })),
      NodePublishVolume: record('NodePublishVolume', () => ({})),
      NodeUnpublishVolume: record('NodeUnpublishVolume', () => ({})),
      NodeGetVolumeStats: record('NodeGetVolumeStats', () => ({ usage: [{ unit: 'BYTES', total: '1', used: '0', available: '1' }] })),
      NodeGetInfo: record('NodeGetInfo', () => ({ node_id: 'n' })),
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${backend}`, ServerCredentials.createInsecure(), (error) => (error === null ? resolve() : reject(error))));
    proxy.on('connection', (client) => {
      plugin.connections += 1;
      plugin.open.add(client);
      const upstream = connectSocket(backend);
      client.pipe(upstream).pipe(client);
      const close = () => {
        plugin.open.delete(client);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => proxy.listen(front, resolve));
    return plugin;
  }

  /** Connections still open through the proxy. */
  get openConnections(): number {
    return this.open.size;
  }

  reset(): void {
    this.calls.length = 0;
    this.connections = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.proxy.close(() => resolve()));
    this.server.forceShutdown();
  }
}

const pod = (name: string, fsGroup?: number): SimulatedPod => ({
  namespace: 'demo',
  name,
  uid: randomUUID(),
  serviceAccountName: 'app',
  volumeName: 'creds',
  attributes: { provider: 'embedded' },
  audiences: ['credmount'],
  ...(fsGroup === undefined ? {} : { fsGroup }),
});

/** Until the connections the simulator closed are closed at the plugin's end too (the shared client's stays). */
async function settled(plugin: RecordingPlugin, stayOpen: number): Promise<void> {
  for (let i = 0; i < 200 && plugin.openConnections > stayOpen; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

for (const client of ['@grpc/grpc-js (CsiClient)', 'the benchmarks\' LeanCsiCaller'] as const) {
  describe(`KubeletSimulator calls as kubelet does, through ${client}`, () => {
    let dir: string;
    let plugin: RecordingPlugin;
    let simulator: KubeletSimulator;
    const connect = client.startsWith('the') ? { connect: (endpoint: string) => LeanCsiCaller.connect(endpoint) } : {};

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'credmount-sim-calls-'));
      plugin = await RecordingPlugin.start(dir);
      simulator = await KubeletSimulator.start({ endpoint: plugin.endpoint, kubeletRoot: join(dir, 'kubelet'), ...connect });
      // As the e2e tests do: the shared client's connection stays open meanwhile, and kubelet's
      // calls must still get connections of their own (grpc-js would lend them this one from its
      // global subchannel pool).
      await simulator.client.waitUntilReady(10_000);
    });

    after(async () => {
      await simulator.stop();
      await plugin.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('sets a volume up with two NodeGetCapabilities and NodePublishVolume, each on a new connection closed after it', async () => {
      plugin.reset();
      const subject = pod('first-a', 2000);
      const first = await simulator.publish(subject);
      assert.equal(first.ok, true, first.message);
      assert.equal(first.kind, 'publish');
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeGetCapabilities', 'NodeGetCapabilities', 'NodePublishVolume']);
      assert.equal(plugin.connections, 3);
      await settled(plugin, 1);
      assert.equal(plugin.openConnections, 1, 'kubelet closes each connection after its call; the shared client keeps its own');
      assert.ok(first.ms > 0 && first.operationMs >= first.ms, `ms ${first.ms}, operationMs ${first.operationMs}`);

      plugin.reset();
      const again = await simulator.publish(subject);
      assert.equal(again.kind, 'republish');
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeGetCapabilities', 'NodeGetCapabilities', 'NodePublishVolume']);
      assert.equal(plugin.connections, 3);
    });

    it('builds the request from the answers: volume_mount_group only if VOLUME_MOUNT_GROUP is listed, the access mode from SINGLE_NODE_MULTI_WRITER', async () => {
      const capability = (request: Record<string, unknown>) => request['volume_capability'] as { mount: { volume_mount_group: string }; access_mode: { mode: string } };
      plugin.reset();
      plugin.capabilities = ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'];
      await simulator.publish(pod('groups-b', 3000));
      const advertised = capability(plugin.calls[2]?.request ?? {});
      assert.equal(advertised.mount.volume_mount_group, '3000');
      assert.equal(advertised.access_mode.mode, 'SINGLE_NODE_WRITER');

      plugin.reset();
      plugin.capabilities = ['SINGLE_NODE_MULTI_WRITER'];
      await simulator.publish(pod('groups-c', 3000));
      const other = capability(plugin.calls[2]?.request ?? {});
      assert.equal(other.mount.volume_mount_group, '', 'no VOLUME_MOUNT_GROUP: kubelet applies the fsGroup itself');
      assert.equal(other.access_mode.mode, 'SINGLE_NODE_MULTI_WRITER');
      plugin.capabilities = ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'];
    });

    it('asks for volume stats after a NodeGetCapabilities, and not at all without GET_VOLUME_STATS', async () => {
      const subject = pod('stats-d');
      await simulator.publish(subject);
      plugin.reset();
      const stats = await simulator.volumeStats(subject);
      assert.equal(stats.ok, true, stats.message);
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeGetCapabilities', 'NodeGetVolumeStats']);
      assert.equal(plugin.connections, 2);

      plugin.reset();
      plugin.capabilities = ['VOLUME_MOUNT_GROUP'];
      const refused = await simulator.volumeStats(subject);
      plugin.capabilities = ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'];
      assert.equal(refused.ok, false);
      assert.equal(refused.code, 'NOT_SUPPORTED');
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeGetCapabilities']);
    });

    it('unpublishes with NodeUnpublishVolume alone, on its own connection', async () => {
      const subject = pod('unpub-e');
      await simulator.publish(subject);
      plugin.reset();
      const event = await simulator.unpublish(subject);
      assert.equal(event.ok, true, event.message);
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeUnpublishVolume']);
      assert.equal(plugin.connections, 1);
      assert.ok(event.operationMs >= event.ms);
    });

    it('fails the set-up with the capability call\'s status, and sends no NodePublishVolume', async () => {
      plugin.reset();
      plugin.failCapabilities = true;
      const event = await simulator.publish(pod('broken-f'));
      plugin.failCapabilities = false;
      assert.equal(event.ok, false);
      assert.equal(event.code, 'UNAVAILABLE');
      assert.match(event.message ?? '', /^NodeGetCapabilities: capabilities down/);
      assert.deepEqual(plugin.calls.map((c) => c.method), ['NodeGetCapabilities']);
    });
  });
}

describe('KubeletSimulator with connections: shared', () => {
  it('sends every call on one connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credmount-sim-shared-'));
    const plugin = await RecordingPlugin.start(dir);
    const simulator = await KubeletSimulator.start({ endpoint: plugin.endpoint, kubeletRoot: join(dir, 'kubelet'), connections: 'shared', connect: (endpoint: string) => LeanCsiCaller.connect(endpoint) });
    try {
      const subject = pod('shared-g');
      assert.equal((await simulator.publish(subject)).ok, true);
      assert.equal((await simulator.publish(subject)).ok, true);
      assert.equal((await simulator.volumeStats(subject)).ok, true);
      assert.equal((await simulator.unpublish(subject)).ok, true);
      assert.equal(plugin.calls.length, 9);
      assert.equal(plugin.connections, 1);
    } finally {
      await simulator.stop();
      await plugin.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

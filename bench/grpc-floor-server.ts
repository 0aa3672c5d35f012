/**
 * A bare @grpc/grpc-js server with credmount's CSI proto and the driver's server options that
 * answers every call at once: the floor any driver on this gRPC stack pays per call.
 * `node dist/bench/grpc-floor-server.js <socket>`
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadCsiServices } from '../src/csi/csi-proto.js';
import { CSI_SERVER_OPTIONS } from '../src/csi/server-options.js';
import { trimLikeTheDriver } from './floor-memory.js';

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: grpc-floor-server.js <socket path>');
const services = loadCsiServices();
const answer =
  (response: object) =>
  (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void =>
    callback(null, response);
// The driver's options, and on top any under trial, as JSON (e.g. {"grpc.enable_channelz":1}).
const server = new Server({ ...CSI_SERVER_OPTIONS, ...(JSON.parse(process.env['CREDMOUNT_BENCH_GRPC_OPTIONS'] ?? '{}') as Record<string, unknown>) });
server.addService(services.Identity.service, { Probe: answer({ ready: { value: true } }), GetPluginInfo: answer({ name: 'floor', vendor_version: '0' }), GetPluginCapabilities: answer({}) });
server.addService(services.Node.service, { NodePublishVolume: answer({}), NodeUnpublishVolume: answer({}), NodeGetCapabilities: answer({}), NodeGetInfo: answer({ node_id: 'floor' }), NodeGetVolumeStats: answer({}) });
server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => {
  if (error !== null) throw error;
});
process.once('SIGTERM', () => server.forceShutdown());
trimLikeTheDriver();

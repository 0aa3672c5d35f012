/**
 * The floor under the gRPC floor: a node:http2 server, no gRPC library, that answers each CSI call
 * with the bytes the bare grpc-js server would send (the same messages, encoded by credmount's
 * proto; a 5-byte gRPC frame; `grpc-status: 0` in the trailers). What is left of a call's cost
 * here is Node.js's HTTP/2 — and with kubelet's connection per call, its session set-up and
 * teardown — which any Node.js gRPC server pays. `node dist/bench/http2-floor-server.js <socket>`
 */
import { constants, createServer, type ServerHttp2Stream } from 'node:http2';
import { loadCsiServices } from '../src/csi/csi-proto.js';
import { trimLikeTheDriver } from './floor-memory.js';

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: http2-floor-server.js <socket path>');

const services = loadCsiServices();
const ANSWERS: Readonly<Record<string, object>> = {
  '/csi.v1.Identity/Probe': { ready: { value: true } },
  '/csi.v1.Identity/GetPluginInfo': { name: 'floor', vendor_version: '0' },
  '/csi.v1.Identity/GetPluginCapabilities': {},
  '/csi.v1.Node/NodePublishVolume': {},
  '/csi.v1.Node/NodeUnpublishVolume': {},
  '/csi.v1.Node/NodeGetCapabilities': {},
  '/csi.v1.Node/NodeGetInfo': { node_id: 'floor' },
  '/csi.v1.Node/NodeGetVolumeStats': {},
};
/** Each path's whole answer body: the length-prefixed message, encoded once. */
const bodies = new Map<string, Buffer>();
for (const [path, answer] of Object.entries(ANSWERS)) {
  const [, service, method] = path.split('/') as [string, string, string];
  const definition = (service === 'csi.v1.Identity' ? services.Identity.service : services.Node.service)[method];
  if (definition === undefined) throw new Error(`${path} is not in credmount's proto`);
  const message = definition.responseSerialize(answer);
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  message.copy(body, 5);
  bodies.set(path, body);
}

function answer(stream: ServerHttp2Stream, path: string): void {
  const body = bodies.get(path);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () =>
    stream.sendTrailers(body === undefined ? { 'grpc-status': '12', 'grpc-message': 'unimplemented' } : { 'grpc-status': '0' }),
  );
  stream.end(body);
}

const server = createServer();
server.on('stream', (stream, headers) => {
  const path = String(headers[constants.HTTP2_HEADER_PATH]);
  // The request is read to its end, as a gRPC server must before it answers a unary call.
  stream.on('data', () => undefined);
  stream.once('end', () => answer(stream, path));
  stream.on('error', () => undefined);
});
server.listen(socketPath);
process.once('SIGTERM', () => process.exit(0));
trimLikeTheDriver();

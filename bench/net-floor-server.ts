/**
 * The floor under every Node.js server: node:net alone, answering kubelet's calls with bytes
 * built once. It reads HTTP/2 frames only as far as their 9-byte headers — enough to answer the
 * client's SETTINGS and PINGs, give back the flow-control window its data used, and see where a
 * request ends — and answers every request with the same successful gRPC answer: one empty
 * message. It decodes no headers (no HPACK), so it cannot tell one method from another; the calls
 * the floor measurement makes (Probe, NodeGetCapabilities, NodePublishVolume) all accept an
 * empty message (a Probe without `ready` means ready). What is left of a call's cost is Node.js
 * accepting a connection, reading and writing a few hundred bytes and closing it, which any
 * server written for Node.js pays, with or without an HTTP/2 or gRPC library.
 * `node dist/bench/net-floor-server.js <socket>`
 */
import { createServer, type Socket } from 'node:net';
import { trimLikeTheDriver } from './floor-memory.js';

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: net-floor-server.js <socket path>');

// RFC 9113 §3.4, §4.1, §6; RFC 7541 for the header blocks.
const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const DATA = 0x0;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const bytes = Buffer.alloc(FRAME_HEADER_LENGTH + payload.length);
  bytes.writeUIntBE(payload.length, 0, 3);
  bytes[3] = type;
  bytes[4] = flags;
  bytes.writeUInt32BE(streamId, 5);
  payload.copy(bytes, FRAME_HEADER_LENGTH);
  return bytes;
}

/** HPACK literal without indexing, name and value as plain strings. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

const SERVER_SETTINGS = frame(SETTINGS, 0, 0);
const SETTINGS_ACK = frame(SETTINGS, ACK, 0);
// `:status: 200` is entry 8 of HPACK's static table; content-type and grpc-status as literals.
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88]), literal('content-type', 'application/grpc')]);
const TRAILERS = literal('grpc-status', '0');
const EMPTY_MESSAGE = Buffer.alloc(5); // uncompressed, length 0

function answer(streamId: number): Buffer {
  return Buffer.concat([frame(HEADERS, END_HEADERS, streamId, RESPONSE_HEADERS), frame(DATA, 0, streamId, EMPTY_MESSAGE), frame(HEADERS, END_HEADERS | END_STREAM, streamId, TRAILERS)]);
}

function windowUpdate(bytes: number): Buffer {
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(bytes);
  return frame(WINDOW_UPDATE, 0, 0, increment);
}

function serve(socket: Socket): void {
  let pending: Buffer = Buffer.alloc(0);
  let prefaceRead = false;
  socket.on('error', () => undefined);
  socket.write(SERVER_SETTINGS);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (!prefaceRead) {
      if (pending.length < PREFACE_LENGTH) return;
      pending = pending.subarray(PREFACE_LENGTH);
      prefaceRead = true;
    }
    const out: Buffer[] = [];
    while (pending.length >= FRAME_HEADER_LENGTH) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < FRAME_HEADER_LENGTH + length) break;
      const type = pending[3];
      const flags = pending[4] as number;
      const streamId = pending.readUInt32BE(5) & 0x7fffffff;
      const payload = pending.subarray(FRAME_HEADER_LENGTH, FRAME_HEADER_LENGTH + length);
      pending = pending.subarray(FRAME_HEADER_LENGTH + length);
      if (type === SETTINGS && (flags & ACK) === 0) out.push(SETTINGS_ACK);
      else if (type === PING && (flags & ACK) === 0) out.push(frame(PING, ACK, 0, payload));
      else if (type === GOAWAY) socket.end();
      else if (type === DATA || type === HEADERS) {
        // The connection's window back for what the data used (the streams are answered and gone).
        if (type === DATA && length > 0) out.push(windowUpdate(length));
        if ((flags & END_STREAM) !== 0) out.push(answer(streamId));
      }
    }
    if (out.length > 0 && !socket.writableEnded) socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  });
}

createServer(serve).listen(socketPath);
process.once('SIGTERM', () => process.exit(0));
trimLikeTheDriver();

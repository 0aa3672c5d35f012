import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect as connectSocket, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { LeanCsiCaller } from '../../bench/lean-csi-caller.js';

const SERVER = resolve(fileURLToPath(import.meta.url), '../../../bench/net-floor-server.js');
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Reads frames off a raw socket until `done` says enough; the socket stays open. */
function readFrames(socket: Socket, done: (frames: readonly Frame[]) => boolean): Promise<Frame[]> {
  const frames: Frame[] = [];
  let pending = Buffer.alloc(0);
  return new Promise((resolveFrames, reject) => {
    const onData = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        frames.push({ type: pending[3] as number, flags: pending[4] as number, streamId: pending.readUInt32BE(5), payload: pending.subarray(9, 9 + length) });
        pending = pending.subarray(9 + length);
      }
      if (done(frames)) {
        socket.off('data', onData);
        resolveFrames(frames);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`the server closed the connection after ${frames.length} frames`)));
  });
}

/**
 * bench/net-floor-server.ts, the benchmarks' lowest reference: it must answer the floor
 * measurement's calls as a gRPC server would (or the figure would be of failed calls), over a
 * connection per call and over one connection that carries more than HTTP/2's initial window.
 */
describe('the node:net floor server', () => {
  let dir: string;
  let socketPath: string;
  let child: ChildProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-net-floor-'));
    socketPath = join(dir, 'floor.sock');
    child = spawn(process.execPath, [SERVER, socketPath], { stdio: 'ignore' });
    for (let i = 0; i < 500 && !(await stat(socketPath).then((s) => s.isSocket(), () => false)); i++) await sleep(10);
  });

  after(async () => {
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  test('answers each of kubelet\'s calls on a connection of its own, with an empty message', async () => {
    for (const call of [
      (caller: LeanCsiCaller) => caller.identityCall('Probe'),
      (caller: LeanCsiCaller) => caller.nodeCall('NodeGetCapabilities'),
      (caller: LeanCsiCaller) => caller.nodeCall('NodePublishVolume', { volume_id: 'v', target_path: '/t' }),
    ]) {
      const caller = LeanCsiCaller.connect(`unix://${socketPath}`);
      try {
        const answer = await call(caller);
        assert.ok(Object.values(answer).every((value) => value === null || (Array.isArray(value) && value.length === 0)), JSON.stringify(answer));
      } finally {
        caller.close();
      }
    }
  });

  test('gives back the window its requests used: 400 KB of requests on one connection are all answered', async () => {
    const caller = LeanCsiCaller.connect(`unix://${socketPath}`);
    try {
      const request = { volume_id: 'v', target_path: '/t', volume_context: { objects: 'x'.repeat(2_000) } };
      for (let i = 0; i < 200; i++) await caller.nodeCall('NodePublishVolume', request, 2_000);
    } finally {
      caller.close();
    }
  });

  test('reads a request that arrives a byte at a time, answers PING, and closes on GOAWAY', async () => {
    const socket = connectSocket(socketPath);
    await once(socket, 'connect');
    const ping = Buffer.from('12345678');
    const request = Buffer.concat([PREFACE, frame(4, 0, 0), frame(1, 0x4, 1, Buffer.from([0x83])), frame(0, 0x1, 1, Buffer.alloc(5)), frame(6, 0, 0, ping)]);
    const frames = readFrames(socket, (seen) => seen.some((f) => f.type === 6));
    for (const byte of request) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolveImmediate) => setImmediate(resolveImmediate));
    }
    const got = await frames;
    assert.deepEqual(got.map((f) => [f.type, f.flags, f.streamId]), [
      [4, 0, 0], // the server's SETTINGS
      [4, 1, 0], // its ACK of ours
      [8, 0, 0], // the window back for the request's 5 bytes
      [1, 0x4, 1], // response headers
      [0, 0, 1], // the message
      [1, 0x5, 1], // trailers, END_STREAM
      [6, 1, 0], // PING ACK
    ]);
    assert.equal(got.find((f) => f.type === 8)?.payload.readUInt32BE(0), 5);
    assert.deepEqual(got.find((f) => f.type === 6)?.payload, ping);
    assert.deepEqual(got.find((f) => f.type === 0)?.payload, Buffer.alloc(5));
    socket.write(frame(7, 0, 0, Buffer.alloc(8)));
    await once(socket, 'end');
    socket.destroy();
  });
});

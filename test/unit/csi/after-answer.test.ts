import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { afterAnswerSent } from '../../../src/csi/after-answer.js';

/** How long the after-answer work waits for the client; far above any real round trip. */
const WAIT_FOR_CLIENT_MS = 3_000;

/**
 * A client in another process: one unary call over node:http2 (an empty gRPC message); when the
 * trailers arrive — the caller has the whole answer — it creates the marker file and exits.
 */
const CLIENT_MODULE = `
import http2 from 'node:http2';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
const [socketPath, marker] = process.argv.slice(1);
const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
const stream = session.request({ ':method': 'POST', ':path': '/test.After/Call', 'content-type': 'application/grpc', te: 'trailers' });
stream.on('trailers', (trailers) => {
  writeFileSync(marker, String(trailers['grpc-status']));
  session.close();
});
stream.on('error', (error) => { console.error(error); process.exit(2); });
stream.resume();
stream.end(Buffer.alloc(5));
`;

const SERVICE = {
  Call: {
    path: '/test.After/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

/** Blocks the event loop for `ms` — the handler's synchronous work, or waiting for the client. */
function blockFor(ms: number, until: () => boolean = () => false): boolean {
  const deadline = Date.now() + ms;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    if (until()) return true;
    Atomics.wait(sleeper, 0, 0, 1);
  }
  return until();
}

/**
 * afterAnswerSent against a real grpc-js server: the work it runs must find that a client in
 * another process already has the whole answer (trailers included). The work blocks this
 * process's event loop while it looks, so if the answer were still waiting to be written, the
 * client could not get it before the wait ends and the work would report it missing.
 */
describe('afterAnswerSent', () => {
  let dir: string;
  let server: Server;
  let socketPath: string;
  let handlerMs = 0;
  const seen: boolean[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-after-answer-'));
    socketPath = join(dir, 'csi.sock');
    server = new Server();
    server.addService(SERVICE, {
      Call: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        void Promise.resolve().then(() => {
          // The handler's own work, synchronous as a first publish's mostly is.
          blockFor(handlerMs);
          callback(null, Buffer.alloc(0));
          const marker = join(dir, `answered-${seen.length}`);
          afterAnswerSent(() => seen.push(blockFor(WAIT_FOR_CLIENT_MS, () => existsSync(marker))));
        });
      },
    });
    await new Promise<void>((resolveBind, reject) => server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error === null ? resolveBind() : reject(error))));
  });

  after(async () => {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  async function callFromAnotherProcess(): Promise<void> {
    const marker = join(dir, `answered-${seen.length}`);
    const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT_MODULE, socketPath, marker], { stdio: ['ignore', 'ignore', 'inherit'] });
    const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
    assert.equal(code, 0, 'the client process failed');
  }

  for (const ms of [0, 5, 20]) {
    test(`runs the work only after the client has the answer (handler busy ${ms} ms)`, async () => {
      handlerMs = ms;
      const before = seen.length;
      await callFromAnotherProcess();
      // The work has run (the client exited after the answer, and the work ran while it waited).
      while (seen.length === before) await new Promise((resolveTick) => setImmediate(resolveTick));
      assert.equal(seen[before], true, 'the after-answer work ran before the client had the trailers');
    });
  }
});

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { withFreePort } from '../support/e2e-world.js';

/** Binds loopback `port` the way the driver's metrics endpoint does, and closes it again. */
function bindOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

describe('withFreePort', () => {
  test('starts again on another port when the first was taken between probe and bind', async () => {
    const tried: number[] = [];
    let squatter: ReturnType<typeof createServer> | undefined;
    const port = await withFreePort(async (free) => {
      tried.push(free);
      if (tried.length === 1) {
        // Someone else takes the port first, as another node or test server can.
        squatter = createServer();
        await new Promise<void>((resolve) => squatter?.listen(free, '127.0.0.1', resolve));
      }
      await bindOnce(free);
      return free;
    });
    await new Promise<void>((resolve) => squatter?.close(() => resolve()));
    assert.equal(tried.length, 2);
    assert.equal(port, tried[1]);
    assert.notEqual(tried[0], tried[1]);
  });

  test('passes any other failure through at once, and gives up after its attempts', async () => {
    let calls = 0;
    await assert.rejects(
      withFreePort(async () => {
        calls += 1;
        throw new Error('the driver exited with 1 before it was ready: bad flag');
      }),
      /bad flag/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      withFreePort(async (free) => {
        calls += 1;
        throw new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${free}`);
      }, 3),
      /EADDRINUSE/,
    );
    assert.equal(calls, 3);
  });
});

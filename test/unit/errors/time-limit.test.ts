import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTimeoutOrAbort, withTimeout } from '../../../src/errors/time-limit.js';

describe('withTimeout', () => {
  test('rejects with a TimeoutError at the limit and aborts the work, even work that ignores its signal', async () => {
    let seen: AbortSignal | undefined;
    const started = performance.now();
    const error = await withTimeout(50, (signal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    }).then(
      () => assert.fail('resolved'),
      (reason: unknown) => reason,
    );
    assert.ok(performance.now() - started >= 45);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'TimeoutError');
    assert.equal(error.message, 'no answer within 50 ms');
    assert.equal(seen?.aborted, true);
    assert.equal(seen?.reason, error);
  });

  test("passes the work's value and error through, and leaves its signal alone", async () => {
    let signal: AbortSignal | undefined;
    assert.equal(
      await withTimeout(1_000, async (s) => {
        signal = s;
        return 42;
      }),
      42,
    );
    await assert.rejects(
      withTimeout(1_000, async () => {
        throw new RangeError('backend said no');
      }),
      RangeError,
    );
    // The timer was cleared: nothing aborts the signal later.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(signal?.aborted, false);
  });
});

describe('isTimeoutOrAbort', () => {
  test("knows ours, the platform's timeouts and aborts, and nothing else", async () => {
    const ours = await withTimeout(1, () => new Promise<never>(() => undefined)).catch((error: unknown) => error);
    assert.equal(isTimeoutOrAbort(ours), true);
    const platform = AbortSignal.timeout(1);
    // AbortSignal.timeout's timer does not keep the process alive: this one does.
    while (!platform.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(isTimeoutOrAbort(platform.reason), true);
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(isTimeoutOrAbort(aborted.signal.reason), true);
    assert.equal(isTimeoutOrAbort(new Error('ECONNREFUSED')), false);
    assert.equal(isTimeoutOrAbort({ name: 'TimeoutError' }), false, 'not an Error');
    assert.equal(isTimeoutOrAbort(undefined), false);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settleAll } from '../../bench/settle-all.js';

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

test('settleAll gives the values in order when all succeed', async () => {
  const [a, b] = await settleAll([later(20, 'slow'), Promise.resolve(2)] as const);
  assert.equal(a, 'slow');
  assert.equal(b, 2);
});

test('settleAll rejects with the first failure only once every promise has settled', async () => {
  let slowFinished = false;
  const slow = later(50, 'cleaned up').then((value) => {
    slowFinished = true;
    return value;
  });
  const failing = Promise.reject(new Error('EADDRINUSE'));
  await assert.rejects(settleAll([slow, failing, Promise.reject(new Error('second'))] as const), /EADDRINUSE/);
  assert.equal(slowFinished, true, 'the failure waited for the slow one');
});

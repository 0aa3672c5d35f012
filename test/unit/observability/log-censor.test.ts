import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CENSORED, censorSensitiveKeys } from '../../../src/observability/log-censor.js';

const SENSITIVE = new Set(['token', 'password']);

describe('censorSensitiveKeys', () => {
  test('returns the very same object when there is nothing to censor (no copy per log line)', () => {
    const line = { op: 'NodePublishVolume', volumeId: 'csi-1', ms: 1.2, nested: { pod: 'a', list: [1, 'two', { x: 1 }] } };
    assert.equal(censorSensitiveKeys(line, SENSITIVE), line);
  });

  test('copies only the path down to a censored key and leaves the original alone', () => {
    const untouched = { pod: 'a' };
    const line = { op: 'x', untouched, request: { body: { token: 'secret', size: 3 } } };
    const censored = censorSensitiveKeys(line, SENSITIVE);
    assert.notEqual(censored, line);
    assert.equal(censored.untouched, untouched, 'siblings are shared, not copied');
    assert.deepEqual(censored.request, { body: { token: CENSORED, size: 3 } });
    assert.equal(line.request.body.token, 'secret');
  });

  test('keys are censored whatever their value (objects and arrays included)', () => {
    const censored = censorSensitiveKeys({ token: { value: 'a' }, password: ['b'] }, SENSITIVE);
    assert.deepEqual(censored, { token: CENSORED, password: CENSORED });
  });

  test('a copy keeps its prototype and non-enumerable properties', () => {
    class Holder {
      token = 'secret';
      kind = 'holder';
    }
    const holder = new Holder();
    Object.defineProperty(holder, 'hidden', { value: 'h', enumerable: false });
    const censored = censorSensitiveKeys({ holder }, SENSITIVE).holder;
    assert.ok(censored instanceof Holder);
    assert.equal(censored.token, CENSORED);
    assert.equal(censored.kind, 'holder');
    assert.equal((censored as unknown as { hidden: string }).hidden, 'h');
    assert.deepEqual(Object.keys(censored), ['token', 'kind']);
  });

  test('typed arrays, Buffers, Dates and Maps are not walked', () => {
    const values = { bytes: Buffer.from('token'), when: new Date(0), map: new Map([['token', 'x']]) };
    assert.equal(censorSensitiveKeys(values, SENSITIVE), values);
  });

  test('a cycle becomes "[Circular]" where it closes, so the copy never points back at the original', () => {
    const loop: Record<string, unknown> = { name: 'loop', password: 'secret' };
    loop['self'] = loop;
    const censored = censorSensitiveKeys({ loop }, SENSITIVE).loop as Record<string, unknown>;
    assert.equal(censored['password'], CENSORED);
    assert.equal(censored['self'], '[Circular]');
  });

  test('a shared (non-cyclic) object is walked at each place it appears', () => {
    const shared = { token: 'secret' };
    const censored = censorSensitiveKeys({ a: shared, b: [shared] }, SENSITIVE);
    assert.deepEqual(censored, { a: { token: CENSORED }, b: [{ token: CENSORED }] });
  });
});

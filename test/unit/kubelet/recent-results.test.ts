import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentResults } from '../../../src/kubelet/recent-results.js';

describe('RecentResults', () => {
  it('computes once per input while it is remembered', () => {
    const recent = new RecentResults<number>(4);
    let computed = 0;
    const length = (input: string) => {
      computed += 1;
      return input.length;
    };
    assert.equal(recent.get('abc', length), 3);
    assert.equal(recent.get('abc', length), 3);
    assert.equal(computed, 1);
  });

  it('forgets the oldest input beyond its limit, and recomputes it when asked again', () => {
    const recent = new RecentResults<string>(2);
    const seen: string[] = [];
    const upper = (input: string) => {
      seen.push(input);
      return input.toUpperCase();
    };
    for (const input of ['a', 'b', 'c', 'c', 'b', 'a']) recent.get(input, upper);
    assert.deepEqual(seen, ['a', 'b', 'c', 'a']);
  });

  it('remembers no failure: a throwing input throws again every time', () => {
    const recent = new RecentResults<number>(2);
    let calls = 0;
    const fail = () => {
      calls += 1;
      throw new Error('bad');
    };
    assert.throws(() => recent.get('x', fail), /bad/);
    assert.throws(() => recent.get('x', fail), /bad/);
    assert.equal(calls, 2);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requiresRefresh, type SimulatedPod, TokenCache, type TokenMinter } from '../../../src/cli/kubelet-sim/index.js';
import type { MintedToken, MintRequest } from '../../../src/cli/kubelet-sim/token-issuer.js';

const pod: SimulatedPod = {
  namespace: 'payments',
  name: 'billing-7d9f8c6b5-x2kqp',
  uid: '9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10',
  serviceAccountName: 'billing',
  volumeName: 'creds',
  attributes: {},
  audiences: ['vault', ''],
};

/** A minter that counts and can fail; tokens are just labels. */
class FakeMinter implements TokenMinter {
  calls: MintRequest[] = [];
  failing = false;
  async mint(request: MintRequest): Promise<MintedToken> {
    await Promise.resolve();
    if (this.failing) throw new Error('TokenRequest unavailable');
    this.calls.push(request);
    const iat = Math.floor((request.now ?? new Date()).getTime() / 1000);
    const exp = iat + (request.ttlSeconds ?? 3600);
    return { token: `token-${this.calls.length}`, expirationTimestamp: new Date(exp * 1000).toISOString().replace('.000Z', 'Z') };
  }
}

function clock(start: string) {
  let now = new Date(start);
  return {
    now: () => now,
    advance(seconds: number) {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

describe('TokenCache', () => {
  it('reuses a token until 80% of its TTL has passed, then mints a new one', async () => {
    const minter = new FakeMinter();
    const time = clock('2026-11-28T13:00:00Z');
    const cache = new TokenCache(minter, { now: time.now, jitterSeconds: () => 0 });

    const first = await cache.get(pod, 'vault', 3600);
    time.advance(60); // a republish a minute later
    assert.equal(await cache.get(pod, 'vault', 3600), first);
    time.advance(2880 - 60); // exactly 80%: not yet past it
    assert.equal(await cache.get(pod, 'vault', 3600), first);
    assert.equal(minter.calls.length, 1);

    time.advance(1); // past 80%
    const second = await cache.get(pod, 'vault', 3600);
    assert.notEqual(second, first);
    assert.equal(minter.calls.length, 2);
    assert.equal(await cache.get(pod, 'vault', 3600), second);
  });

  it('refreshes up to the jitter earlier', async () => {
    const minter = new FakeMinter();
    const time = clock('2026-11-28T13:00:00Z');
    const cache = new TokenCache(minter, { now: time.now, jitterSeconds: () => 9 });
    const first = await cache.get(pod, 'vault', 600);
    time.advance(480 - 9); // 80% of 600 s is 480 s; 9 s of jitter makes 471 s the last second of reuse
    assert.equal(await cache.get(pod, 'vault', 600), first);
    time.advance(1);
    assert.notEqual(await cache.get(pod, 'vault', 600), first);
  });

  it('keys tokens by audience, TTL and pod, and gathers all audiences of a pod', async () => {
    const minter = new FakeMinter();
    const cache = new TokenCache(minter, { now: () => new Date('2026-11-28T13:00:00Z'), jitterSeconds: () => 0 });
    const tokens = await cache.tokensFor(pod);
    assert.deepEqual([...tokens.keys()], ['vault', '']);
    assert.notEqual(tokens.get('vault'), tokens.get(''));
    await cache.tokensFor(pod);
    assert.equal(minter.calls.length, 2);

    await cache.get({ ...pod, uid: '00000000-0000-4000-8000-000000000000', name: 'billing-other' }, 'vault');
    await cache.get(pod, 'vault', 7200);
    assert.equal(minter.calls.length, 4);
    assert.deepEqual(
      minter.calls.map((c) => [c.audience, c.ttlSeconds]),
      [
        ['vault', 3600],
        ['', 3600],
        ['vault', 3600],
        ['vault', 7200],
      ],
    );

    cache.deletePod(pod.uid);
    assert.equal(cache.size, 1);
  });

  it('mints once for concurrent requests', async () => {
    const minter = new FakeMinter();
    const cache = new TokenCache(minter, { now: () => new Date('2026-11-28T13:00:00Z') });
    const results = await Promise.all([cache.get(pod, 'vault'), cache.get(pod, 'vault'), cache.get(pod, 'vault')]);
    assert.equal(new Set(results).size, 1);
    assert.equal(minter.calls.length, 1);
  });

  it('keeps serving the old token when a refresh fails while it is still valid, like kubelet', async () => {
    const minter = new FakeMinter();
    const time = clock('2026-11-28T13:00:00Z');
    const cache = new TokenCache(minter, { now: time.now, jitterSeconds: () => 0 });
    const first = await cache.get(pod, 'vault', 600);
    minter.failing = true;
    time.advance(500);
    assert.equal(await cache.get(pod, 'vault', 600), first);
    time.advance(101); // expired
    await assert.rejects(cache.get(pod, 'vault', 600), /TokenRequest unavailable/);
  });
});

describe('requiresRefresh', () => {
  const exp = new Date('2026-11-28T14:00:00Z');
  it('follows kubelet: 80% of TTL, 24 h at most, clock going backwards', () => {
    assert.equal(requiresRefresh(exp, 3600, new Date('2026-11-28T13:48:00Z')), false);
    assert.equal(requiresRefresh(exp, 3600, new Date('2026-11-28T13:48:01Z')), true);
    assert.equal(requiresRefresh(exp, 3600, new Date('2026-11-28T12:59:59Z')), true);
    const longLived = new Date('2026-12-28T13:00:00Z');
    assert.equal(requiresRefresh(longLived, 30 * 86400, new Date('2026-11-29T12:59:00Z')), false);
    assert.equal(requiresRefresh(longLived, 30 * 86400, new Date('2026-11-29T13:00:01Z')), true);
  });
});

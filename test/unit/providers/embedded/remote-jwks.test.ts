import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { before, describe, it } from 'node:test';
import { errors as joseErrors, jwtVerify } from 'jose';
import { JwksFetchError, REMOTE_JWKS_DEFAULTS, RemoteJwks } from '../../../../src/providers/embedded/remote-jwks.js';
import { deadUrl, TokenIssuer } from './support.js';

/** A JWKS endpoint whose answer the test changes: a status and a body. */
async function endpoint(): Promise<{ url: URL; answer: { status: number; body: string; delayMs?: number }; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const answer = { status: 200, body: '{"keys":[]}' } as { status: number; body: string; delayMs?: number };
  const server: Server = createServer((request, response) => {
    requests += 1;
    const send = () => response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    if (answer.delayMs === undefined) send();
    else setTimeout(send, answer.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: new URL(`http://127.0.0.1:${address.port}/openid/v1/jwks`),
    answer,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

void describe('RemoteJwks', () => {
  let oldIssuer: TokenIssuer;
  let newIssuer: TokenIssuer;
  before(async () => {
    [oldIssuer, newIssuer] = [await TokenIssuer.create('old'), await TokenIssuer.create('new')];
  });

  const verifies = async (remote: RemoteJwks, issuer: TokenIssuer) => {
    await jwtVerify(await issuer.mint(), remote.getKey);
  };

  /** An endpoint serving the old issuer's keys and a RemoteJwks on it with a clock the test moves. */
  const servedWithClock = async (t: { after: (fn: () => Promise<void>) => void }) => {
    const server = await endpoint();
    t.after(() => server.close());
    server.answer.body = JSON.stringify(oldIssuer.jwks);
    const clock = { now: 1_000_000 };
    const remote = new RemoteJwks(server.url, { ...REMOTE_JWKS_DEFAULTS, now: () => clock.now });
    return { server, remote, clock };
  };

  void it('fetches on the first token, keeps the set for its cache age, then fetches again', async (t) => {
    const { server, remote, clock } = await servedWithClock(t);
    assert.equal(server.requests(), 0, 'nothing is fetched before a token needs it');
    await Promise.all([verifies(remote, oldIssuer), verifies(remote, oldIssuer), verifies(remote, oldIssuer)]);
    assert.equal(server.requests(), 1, 'concurrent first tokens share one fetch');
    clock.now += REMOTE_JWKS_DEFAULTS.cacheMaxAgeMs - 1;
    await verifies(remote, oldIssuer);
    assert.equal(server.requests(), 1);
    clock.now += 1;
    await verifies(remote, oldIssuer);
    assert.equal(server.requests(), 2, 'a set as old as the cache age is fetched again');
  });

  void it('an unknown key id fetches again once the cool-down has passed (key rotation), not before', async (t) => {
    const { server, remote, clock } = await servedWithClock(t);
    await verifies(remote, oldIssuer);
    // The issuer rotates; a token with the new key arrives within the cool-down: refused, no fetch.
    server.answer.body = JSON.stringify({ keys: [oldIssuer.jwk, newIssuer.jwk] });
    clock.now += REMOTE_JWKS_DEFAULTS.cooldownMs - 1;
    await assert.rejects(verifies(remote, newIssuer), joseErrors.JWKSNoMatchingKey);
    assert.equal(server.requests(), 1);
    clock.now += 1;
    await verifies(remote, newIssuer);
    assert.equal(server.requests(), 2);
    // A kid the issuer does not have either: refused after (at most) one more fetch.
    const stranger = await TokenIssuer.create('stranger');
    clock.now += REMOTE_JWKS_DEFAULTS.cooldownMs;
    await assert.rejects(verifies(remote, stranger), joseErrors.JWKSNoMatchingKey);
    await assert.rejects(verifies(remote, stranger), joseErrors.JWKSNoMatchingKey);
    assert.equal(server.requests(), 3);
  });

  void it('says what was wrong with an answer, never what the answer said; a failure keeps nothing', async (t) => {
    const server = await endpoint();
    t.after(() => server.close());
    const remote = new RemoteJwks(server.url, { ...REMOTE_JWKS_DEFAULTS, timeoutMs: 200, now: () => 0 });
    const cases: [status: number, body: string, message: RegExp][] = [
      [404, 'secret-looking-body', /answered HTTP 404, not 200/],
      [302, '', /answered HTTP 302, not 200/],
      [200, 'not json secret-looking-body', /not valid JSON/],
      [200, '{"issuer":"x"}', /not a JSON Web Key Set/],
    ];
    for (const [status, body, message] of cases) {
      Object.assign(server.answer, { status, body });
      const error = await verifies(remote, oldIssuer).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof JwksFetchError, `${status}: ${String(error)}`);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /secret-looking-body/);
    }
    Object.assign(server.answer, { status: 200, body: JSON.stringify(oldIssuer.jwks), delayMs: 1_000 });
    await assert.rejects(verifies(remote, oldIssuer), /timed out fetching the JWKS after 200 ms/);
    // Every failure above was not cached: the next call fetches, and works.
    delete server.answer.delayMs;
    const before = server.requests();
    await verifies(remote, oldIssuer);
    assert.equal(server.requests(), before + 1);
  });

  void it('a URL nobody listens on is a fetch error naming the reason', async () => {
    const remote = new RemoteJwks(new URL(await deadUrl()), { ...REMOTE_JWKS_DEFAULTS, now: () => 0 });
    await assert.rejects(verifies(remote, oldIssuer), (error: unknown) => error instanceof JwksFetchError && /fetching the JWKS failed: ECONNREFUSED/.test(error.message));
  });
});

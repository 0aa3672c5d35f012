import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call } from './helpers.js';

describe('Vault test server: faults', () => {
  let vault: VaultTestServer;
  let token: string;
  const read = (): ReturnType<typeof call> => call(vault, 'GET', '/v1/secret/data/app', { token });

  beforeEach(async () => {
    vault = await VaultTestServer.start({ now: new ManualClock().now });
    vault.writeKv2('secret', 'app', { a: '1' });
    vault.addPolicy('p', ['secret/*']);
    token = vault.createToken({ policies: ['p'] });
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('sealed: 503 "Vault is sealed"; sys/health 503 and seal-status sealed', async () => {
    await vault.setFault({ kind: 'sealed' });
    assert.deepEqual(await read().then((r) => [r.status, r.body]), [503, { errors: ['Vault is sealed'] }]);
    const health = await call(vault, 'GET', '/v1/sys/health');
    assert.equal(health.status, 503);
    assert.equal(health.body.sealed, true);
    assert.equal((await call(vault, 'GET', '/v1/sys/seal-status')).body.sealed, true);
    await vault.setFault(undefined);
    assert.equal((await read()).status, 200);
    const healthy = await call(vault, 'GET', '/v1/sys/health');
    assert.deepEqual([healthy.status, healthy.body.sealed, healthy.body.standby], [200, false, false]);
  });

  it('standby: 307 to the active node, or 503 without one; sys/health 429 (standbyok → 200)', async () => {
    await vault.setFault({ kind: 'standby', activeAddress: 'https://active.vault:8200' });
    const redirected = await call(vault, 'GET', '/v1/secret/data/app?version=1', { token });
    assert.equal(redirected.status, 307);
    assert.equal(redirected.headers.get('location'), 'https://active.vault:8200/v1/secret/data/app?version=1');
    assert.equal((await call(vault, 'GET', '/v1/sys/health')).status, 429);
    assert.equal((await call(vault, 'GET', '/v1/sys/health?standbyok=true')).status, 200);
    await vault.setFault({ kind: 'standby' });
    assert.deepEqual(await read().then((r) => [r.status, r.body]), [503, { errors: ['no active Vault instance found'] }]);
  });

  it('perf-standby: requests are served, sys/health says 473', async () => {
    await vault.setFault({ kind: 'perf-standby' });
    assert.equal((await read()).status, 200);
    const health = await call(vault, 'GET', '/v1/sys/health');
    assert.deepEqual([health.status, health.body.performance_standby], [473, true]);
  });

  it('rate limited: 429 with Retry-After and the quota message; sys/health is exempt', async () => {
    await vault.setFault({ kind: 'rate-limited', retryAfterSeconds: 7 });
    const limited = await read();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.deepEqual(limited.body, { errors: ['request path "secret/data/app": rate limit quota exceeded'] });
    assert.equal((await call(vault, 'GET', '/v1/sys/health')).status, 200);
  });

  it('server errors: the status and message asked for', async () => {
    await vault.setFault({ kind: 'error' });
    assert.deepEqual(await read().then((r) => [r.status, r.body]), [500, { errors: ['internal error'] }]);
    await vault.setFault({ kind: 'error', status: 502, message: 'upstream said no' });
    assert.deepEqual(await read().then((r) => [r.status, r.body]), [502, { errors: ['upstream said no'] }]);
  });

  it('slow: answers after the delay', async () => {
    await vault.setFault({ kind: 'slow', delayMs: 150 });
    const started = performance.now();
    assert.equal((await read()).status, 200);
    assert.ok(performance.now() - started >= 140);
  });

  it('down (reset): the connection closes without an answer', async () => {
    await vault.setFault({ kind: 'down' });
    await assert.rejects(read(), TypeError);
    assert.equal(vault.requests.at(-1)?.status, 0);
    await vault.setFault(undefined);
    assert.equal((await read()).status, 200);
  });

  it('down (refuse): connections are refused until the fault is cleared, on the same port', async () => {
    await vault.setFault({ kind: 'down', mode: 'refuse' });
    await assert.rejects(read(), (error: unknown) => {
      const cause = (error as { cause?: { code?: string } }).cause;
      assert.equal(cause?.code, 'ECONNREFUSED');
      return true;
    });
    await vault.setFault(undefined);
    assert.equal((await read()).status, 200);
  });

  it('times and only: a fault for the next N requests of some kinds', async () => {
    await vault.setFault({ kind: 'rate-limited', times: 2, only: ['kv'] });
    assert.equal((await call(vault, 'GET', '/v1/auth/token/lookup-self', { token })).status, 200);
    assert.equal((await read()).status, 429);
    assert.equal((await read()).status, 429);
    assert.equal((await read()).status, 200);
  });
});

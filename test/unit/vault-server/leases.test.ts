import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call } from './helpers.js';

describe('Vault test server: dynamic credentials and leases', () => {
  let clock: ManualClock;
  let vault: VaultTestServer;
  let token: string;

  beforeEach(async () => {
    clock = new ManualClock();
    vault = await VaultTestServer.start({ now: clock.now });
    vault.addDatabaseRole('app', { ttlSeconds: 600, maxTtlSeconds: 1800 });
    vault.addPolicy('db', ['database/creds/app', 'sys/leases/revoke']);
    token = vault.createToken({ policies: ['db'], ttlSeconds: 7200 });
  });
  afterEach(async () => {
    await vault.stop();
  });

  const creds = async (): Promise<{ leaseId: string; body: Record<string, unknown> }> => {
    const result = await call(vault, 'GET', '/v1/database/creds/app', { token });
    assert.equal(result.status, 200);
    return { leaseId: result.body.lease_id as string, body: result.body as Record<string, unknown> };
  };
  const renew = (leaseId: string, increment?: number): ReturnType<typeof call> =>
    call(vault, 'PUT', '/v1/sys/leases/renew', { token, body: increment === undefined ? { lease_id: leaseId } : { lease_id: leaseId, increment } });

  it('each read is a new username/password under a renewable lease', async () => {
    const a = await creds();
    const b = await creds();
    assert.match(a.leaseId, /^database\/creds\/app\/[A-Za-z0-9]{24}$/);
    assert.notEqual(a.leaseId, b.leaseId);
    assert.equal(a.body['renewable'], true);
    assert.equal(a.body['lease_duration'], 600);
    assert.equal(a.body['mount_type'], 'database');
    const data = a.body['data'] as { username: string; password: string };
    assert.match(data.username, /^v-token-app-[A-Za-z0-9]{20}-\d+$/);
    assert.match(data.password, /^[A-Za-z0-9-]{20}$/);
    assert.notDeepEqual(data, (b.body['data'] as unknown));
    const unknown = await call(vault, 'GET', '/v1/database/creds/nope', { token: vault.createToken({ policies: ['root'] }) });
    assert.deepEqual([unknown.status, unknown.body], [400, { errors: ['unknown role: nope'] }]);
  });

  it('renew: the role TTL or the increment, capped at max_ttl from issue time with Vault\'s warning', async () => {
    const { leaseId } = await creds();
    clock.advanceSeconds(300);
    const plain = await renew(leaseId);
    assert.equal(plain.status, 200);
    assert.equal(plain.body.lease_id, leaseId);
    assert.equal(plain.body.renewable, true);
    assert.equal(plain.body.lease_duration, 600);
    assert.equal(plain.body.warnings, null);

    clock.advanceSeconds(500);
    const capped = await renew(leaseId, 3600);
    assert.equal(capped.body.lease_duration, 1000); // 1800 − 800
    assert.deepEqual(capped.body.warnings, ['TTL of "1h" exceeded the effective max_ttl of "16m40s"; TTL value is capped accordingly']);
    assert.equal(vault.leases()[0]?.renewals, 2);
  });

  it('an expired lease cannot be renewed: 400 lease not found', async () => {
    const { leaseId } = await creds();
    clock.advanceSeconds(600);
    const result = await renew(leaseId);
    assert.deepEqual([result.status, result.body], [400, { errors: ['lease not found'] }]);
    assert.deepEqual([(await renew('database/creds/app/unknown')).status], [400]);
    assert.equal(vault.leases()[0]?.live, false);
  });

  it('leases die with their token; revoke answers 204', async () => {
    const { leaseId } = await creds();
    const second = await creds();
    const revoked = await call(vault, 'PUT', '/v1/sys/leases/revoke', { token, body: { lease_id: second.leaseId } });
    assert.equal(revoked.status, 204);
    assert.equal((await renew(second.leaseId)).status, 400);
    const other = vault.createToken({ policies: ['db'] });
    vault.revokeToken(token);
    const result = await call(vault, 'PUT', '/v1/sys/leases/renew', { token: other, body: { lease_id: leaseId } });
    assert.deepEqual(result.body, { errors: ['lease not found'] });
  });

  it('renew accepts a duration string increment and the sys/renew alias', async () => {
    const { leaseId } = await creds();
    const result = await call(vault, 'POST', '/v1/sys/renew', { token, body: { lease_id: leaseId, increment: '5m' } });
    assert.equal(result.status, 200);
    assert.equal(result.body.lease_duration, 300);
    assert.deepEqual((await call(vault, 'PUT', '/v1/sys/leases/renew', { token, body: {} })).body, { errors: ['lease_id must be specified'] });
  });
});

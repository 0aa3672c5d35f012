import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call } from './helpers.js';

describe('Vault test server: KV', () => {
  let clock: ManualClock;
  let vault: VaultTestServer;
  let token: string;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0, 0, 120));
    vault = await VaultTestServer.start({ now: clock.now });
    vault.addPolicy('all', ['secret/*', 'kv/*', 'nomount/*']);
    token = vault.createToken({ policies: ['all'] });
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('KV v2: versions, ?version=, and the documented read shape', async () => {
    assert.equal(vault.writeKv2('secret', 'app/db', { user: 'a', password: 'one' }, { customMetadata: { owner: 'shop' } }), 1);
    clock.advanceSeconds(10);
    assert.equal(vault.writeKv2('secret', 'app/db', { user: 'a', password: 'two' }), 2);

    const latest = await call(vault, 'GET', '/v1/secret/data/app/db', { token });
    assert.equal(latest.status, 200);
    assert.deepEqual(Object.keys(latest.body).sort(), ['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info']);
    assert.equal(latest.body.lease_id, '');
    assert.equal(latest.body.renewable, false);
    assert.equal(latest.body.lease_duration, 0);
    assert.deepEqual(latest.body.data, {
      data: { user: 'a', password: 'two' },
      metadata: { created_time: '2030-01-01T12:00:10.12Z', custom_metadata: { owner: 'shop' }, deletion_time: '', destroyed: false, version: 2 },
    });

    const first = await call(vault, 'GET', '/v1/secret/data/app/db?version=1', { token });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.data.data, { user: 'a', password: 'one' });
    assert.equal(first.body.data.metadata.version, 1);
    assert.equal(first.body.data.metadata.created_time, '2030-01-01T12:00:00.12Z');

    // version=0 means the latest.
    assert.equal((await call(vault, 'GET', '/v1/secret/data/app/db?version=0', { token })).body.data.metadata.version, 2);
  });

  it('KV v2: missing keys and versions are 404 {"errors":[]}; deleted and destroyed versions 404 with metadata', async () => {
    vault.writeKv2('secret', 'app/db', { v: 1 });
    vault.writeKv2('secret', 'app/db', { v: 2 });
    for (const path of ['/v1/secret/data/app/none', '/v1/secret/data/app/db?version=7']) {
      const missing = await call(vault, 'GET', path, { token });
      assert.deepEqual([missing.status, missing.body], [404, { errors: [] }], path);
    }
    vault.deleteKv2('secret', 'app/db');
    const deleted = await call(vault, 'GET', '/v1/secret/data/app/db', { token });
    assert.equal(deleted.status, 404);
    assert.equal(deleted.body.data.data, null);
    assert.equal(deleted.body.data.metadata.deletion_time, '2030-01-01T12:00:00.12Z');
    assert.equal((await call(vault, 'GET', '/v1/secret/data/app/db?version=1', { token })).status, 200);
    vault.destroyKv2('secret', 'app/db', [1]);
    const destroyed = await call(vault, 'GET', '/v1/secret/data/app/db?version=1', { token });
    assert.equal(destroyed.status, 404);
    assert.equal(destroyed.body.data.metadata.destroyed, true);
    assert.equal((await call(vault, 'GET', '/v1/secret/data/app/db?version=x', { token })).status, 400);
  });

  it('KV v1: data at the top, lease_duration 768h unless a ttl key says otherwise', async () => {
    vault.writeKv1('kv', 'app/config', { url: 'https://db' });
    vault.writeKv1('kv', 'app/short', { url: 'https://db', ttl: '1h' });
    const plain = await call(vault, 'GET', '/v1/kv/app/config', { token });
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body.data, { url: 'https://db' });
    assert.equal(plain.body.lease_duration, 2764800);
    assert.equal(plain.body.lease_id, '');
    assert.equal(plain.body.renewable, false);
    assert.equal(plain.body.mount_type, 'kv');
    assert.equal((await call(vault, 'GET', '/v1/kv/app/short', { token })).body.lease_duration, 3600);
    assert.deepEqual((await call(vault, 'GET', '/v1/kv/app/none', { token })).body, { errors: [] });
  });

  it('an unknown mount is 404 "no handler for route" for a token that may use the path', async () => {
    const result = await call(vault, 'GET', '/v1/nomount/data/x', { token });
    assert.deepEqual([result.status, result.body], [404, { errors: ['no handler for route "nomount/data/x". route entry not found.'] }]);
  });

  it('keeps mount types apart', () => {
    vault.writeKv2('secret', 'a', {});
    assert.throws(() => vault.writeKv1('secret', 'a', {}), /secret is kv2/);
    assert.throws(() => vault.writeKv1('sys', 'a', {}), /cannot mount/);
  });
});

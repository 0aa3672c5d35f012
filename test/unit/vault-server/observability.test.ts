import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call, INVALID_TOKEN, login, PERMISSION_DENIED, podTokens, type PodTokens } from './helpers.js';

describe('Vault test server: request log and counters', () => {
  let tokens: PodTokens;
  let vault: VaultTestServer;

  before(async () => {
    tokens = await podTokens();
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('logs every request and counts them by kind, exactly', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    vault = await VaultTestServer.start({ now: clock.now, jwks: tokens.jwks });
    vault.addPolicy('all', ['secret/*', 'kv/*', 'database/*', 'pki/*']);
    vault.addKubernetesRole('kubernetes', 'web', { boundServiceAccountNames: ['web'], boundServiceAccountNamespaces: ['shop'], policies: ['all'] });
    vault.writeKv2('secret', 'a', { x: 1 });
    vault.writeKv1('kv', 'b', { y: 2 });
    vault.addDatabaseRole('app');
    await vault.addPkiRole('web', { keyType: 'ec' });

    const token = await login(vault, 'kubernetes', 'web', await tokens.mint({ now: new Date(clock.now()) }));
    clock.advanceSeconds(5);
    await call(vault, 'GET', '/v1/secret/data/a?version=1', { token });
    await call(vault, 'GET', '/v1/kv/b', { token });
    const creds = await call(vault, 'GET', '/v1/database/creds/app', { token });
    await call(vault, 'PUT', '/v1/sys/leases/renew', { token, body: { lease_id: creds.body.lease_id } });
    await call(vault, 'POST', '/v1/pki/issue/web', { token, body: { common_name: 'x' } });
    await call(vault, 'POST', '/v1/auth/token/renew-self', { token });
    await call(vault, 'GET', '/v1/sys/health');
    await call(vault, 'GET', '/v1/secret/data/a');
    await fetch(`${vault.url}/not-v1`);

    assert.deepEqual(vault.counts(), { login: 1, kv: 3, creds: 1, renew: 1, revoke: 0, token: 1, pki: 1, sys: 1, other: 1 });
    assert.deepEqual(vault.counts((r) => r.status === 200), { login: 1, kv: 2, creds: 1, renew: 1, revoke: 0, token: 1, pki: 1, sys: 1, other: 0 });
    const kvRead = vault.requests[1];
    assert.deepEqual(kvRead, { method: 'GET', path: '/v1/secret/data/a', kind: 'kv', tokenSent: true, namespace: undefined, at: Date.UTC(2030, 0, 1) + 5000, status: 200 });
    assert.deepEqual(vault.requests[0], { method: 'POST', path: '/v1/auth/kubernetes/login', kind: 'login', tokenSent: false, namespace: undefined, at: Date.UTC(2030, 0, 1), status: 200 });
    assert.deepEqual(vault.requests.map((r) => r.status), [200, 200, 200, 200, 200, 200, 200, 200, 403, 404]);

    vault.resetObservations();
    assert.equal(vault.requests.length, 0);
    assert.equal(vault.counts().kv, 0);
  });
});

describe('Vault test server: namespaces', () => {
  let clock: ManualClock;
  let tokens: PodTokens;
  let vault: VaultTestServer;
  const loginBody = async (): Promise<{ role: string; jwt: string }> => ({ role: 'web', jwt: await tokens.mint({ now: new Date(clock.now()) }) });

  before(async () => {
    tokens = await podTokens();
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('a server in ns1 serves requests carrying it and refuses the others', async () => {
    clock = new ManualClock();
    vault = await VaultTestServer.start({ now: clock.now, jwks: tokens.jwks, namespace: 'ns1/' });
    assert.equal(vault.namespace, 'ns1');
    vault.addPolicy('read', ['secret/data/*', 'database/creds/*']);
    vault.addKubernetesRole('kubernetes', 'web', { boundServiceAccountNames: ['web'], boundServiceAccountNamespaces: ['shop'], policies: ['read'] });
    vault.writeKv2('secret', 'app', { a: 1 });
    vault.addDatabaseRole('app');

    const ok = await call(vault, 'POST', '/v1/auth/kubernetes/login', { namespace: 'ns1', body: await loginBody() });
    assert.equal(ok.status, 200);
    const token = ok.body.auth.client_token as string;
    assert.match(token, /^hvs\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{5}$/);
    assert.equal((await call(vault, 'GET', '/v1/secret/data/app', { token, namespace: 'ns1' })).status, 200);
    // The namespace in the path is the same thing as the header.
    assert.equal((await call(vault, 'GET', '/v1/ns1/secret/data/app', { token })).status, 200);
    const creds = await call(vault, 'GET', '/v1/database/creds/app', { token, namespace: 'ns1' });
    assert.match(creds.body.lease_id, /^database\/creds\/app\/[A-Za-z0-9]{24}\.[A-Za-z0-9]{5}$/);

    // Without the namespace (or with another): the token is refused, the login needs a token.
    const noNamespace = await call(vault, 'GET', '/v1/secret/data/app', { token });
    assert.deepEqual([noNamespace.status, noNamespace.body], [403, { errors: [PERMISSION_DENIED] }]);
    assert.equal((await call(vault, 'GET', '/v1/secret/data/app', { token, namespace: 'ns2' })).status, 403);
    const rootLogin = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: await loginBody() });
    assert.deepEqual([rootLogin.status, rootLogin.body], [403, { errors: [INVALID_TOKEN] }]);
    assert.deepEqual(vault.requests.map((r) => r.namespace), ['ns1', 'ns1', undefined, 'ns1', undefined, 'ns2', undefined]);

    // Inside the namespace, an unknown mount is 404 for a token that may use the path.
    vault.addPolicy('wide', ['*']);
    const wide = vault.createToken({ policies: ['wide'] });
    const unknown = await call(vault, 'GET', '/v1/nothing/here', { token: wide, namespace: 'ns1' });
    assert.deepEqual([unknown.status, unknown.body], [404, { errors: ['no handler for route "nothing/here". route entry not found.'] }]);
  });

  it('a server without a namespace refuses requests that carry one', async () => {
    clock = new ManualClock();
    vault = await VaultTestServer.start({ now: clock.now, jwks: tokens.jwks });
    vault.addKubernetesRole('kubernetes', 'web', { boundServiceAccountNames: ['web'], boundServiceAccountNamespaces: ['shop'] });
    assert.equal((await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: await loginBody() })).status, 200);
    assert.equal((await call(vault, 'POST', '/v1/auth/kubernetes/login', { namespace: 'ns1', body: await loginBody() })).status, 403);
  });

  it('legacyInvalidTokenMessage answers bad tokens as Vault did before 1.17', async () => {
    vault = await VaultTestServer.start({ legacyInvalidTokenMessage: true });
    vault.writeKv2('secret', 'a', {});
    assert.deepEqual((await call(vault, 'GET', '/v1/secret/data/a', { token: 'hvs.bad' })).body, { errors: [PERMISSION_DENIED] });
  });
});

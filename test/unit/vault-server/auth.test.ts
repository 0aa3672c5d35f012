import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startJwksServer, type RunningJwksServer } from '../../../src/cli/kubelet-sim/index.js';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call, INVALID_TOKEN, login, PERMISSION_DENIED, POD, podTokens, type PodTokens } from './helpers.js';

describe('Vault test server: Kubernetes auth', () => {
  let clock: ManualClock;
  let tokens: PodTokens;
  let vault: VaultTestServer;
  const mint = (overrides: Parameters<PodTokens['mint']>[0] = {}): Promise<string> => tokens.mint({ now: new Date(clock.now()), ...overrides });

  before(async () => {
    tokens = await podTokens();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    vault = await VaultTestServer.start({ now: clock.now, jwks: tokens.jwks });
    vault.addPolicy('shop-read', ['secret/data/shop/*']);
    vault.addKubernetesRole('kubernetes', 'web', {
      boundServiceAccountNames: ['web'],
      boundServiceAccountNamespaces: ['shop'],
      audience: 'vault',
      policies: ['shop-read'],
      tokenTtlSeconds: 600,
    });
    vault.writeKv2('secret', 'shop/db', { password: 'hunter2' });
    vault.writeKv2('secret', 'billing/db', { password: 'other' });
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('logs in with a pod token and answers the documented auth block', async () => {
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: await mint() } });
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('content-type'), 'application/json');
    const { auth } = result.body;
    assert.match(auth.client_token, /^hvs\.[A-Za-z0-9]{24}$/);
    assert.match(auth.accessor, /^[A-Za-z0-9]{24}$/);
    assert.deepEqual(auth.policies, ['default', 'shop-read']);
    assert.deepEqual(auth.token_policies, ['default', 'shop-read']);
    assert.deepEqual(auth.metadata, {
      role: 'web',
      service_account_name: 'web',
      service_account_namespace: 'shop',
      service_account_secret_name: '',
      service_account_uid: auth.metadata.service_account_uid,
    });
    assert.match(auth.metadata.service_account_uid, /^[0-9a-f-]{36}$/);
    assert.equal(auth.lease_duration, 600);
    assert.equal(auth.renewable, true);
    assert.match(auth.entity_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(auth.token_type, 'service');
    assert.equal(auth.orphan, true);
    // The envelope around it.
    assert.equal(result.body.lease_id, '');
    assert.equal(result.body.renewable, false);
    assert.equal(result.body.lease_duration, 0);
    assert.equal(result.body.data, null);
    assert.equal(result.body.wrap_info, null);
    assert.equal(result.body.warnings, null);
    assert.equal(result.body.mount_type, 'kubernetes');
    assert.match(result.body.request_id, /^[0-9a-f-]{36}$/);
  });

  it('the token reads what its policies allow and nothing else', async () => {
    const token = await login(vault, 'kubernetes', 'web', await mint());
    assert.equal((await call(vault, 'GET', '/v1/secret/data/shop/db', { token })).status, 200);
    const denied = await call(vault, 'GET', '/v1/secret/data/billing/db', { token });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { errors: [PERMISSION_DENIED] });
    // Authorization: Bearer works like X-Vault-Token.
    assert.equal((await call(vault, 'GET', '/v1/secret/data/shop/db', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });

  it('refuses a token signed by another key: 403 permission denied', async () => {
    const other = await podTokens();
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: await other.mint({ now: new Date(clock.now()) }) } });
    assert.equal(result.status, 403);
    assert.deepEqual(result.body, { errors: ['permission denied'] });
  });

  it('refuses a token with the right kid but a forged signature', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const iat = Math.floor(clock.now() / 1000);
    const forged = await new SignJWT({
      'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'web', uid: 'u-1' } },
      sub: 'system:serviceaccount:shop:web',
      aud: ['vault'],
    })
      .setProtectedHeader({ alg: 'RS256', kid: tokens.issuer.kid })
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(privateKey);
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: forged } });
    assert.equal(result.status, 403);
    assert.deepEqual(result.body, { errors: ['permission denied'] });
    // A tampered payload under a real signature is refused the same way.
    const [header, , signature] = (await mint()).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:shop:web', aud: ['vault'] })).toString('base64url');
    const tampered = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: `${header}.${payload}.${signature}` } });
    assert.equal(tampered.status, 403);
  });

  it('refuses the wrong audience, service account and namespace with the plugin messages', async () => {
    const cases: [Parameters<PodTokens['mint']>[0], string][] = [
      [{ audience: 'not-vault' }, 'invalid audience (aud) claim: audience claim does not match any expected audience'],
      [{ serviceAccountName: 'intruder' }, 'service account name not authorized'],
      [{ namespace: 'billing' }, 'namespace not authorized'],
    ];
    for (const [overrides, message] of cases) {
      const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: await mint(overrides) } });
      assert.equal(result.status, 403, message);
      assert.deepEqual(result.body, { errors: [message] });
    }
  });

  it('refuses an expired token on the server clock, after 60 s of leeway', async () => {
    const jwt = await mint({ ttlSeconds: 600 });
    clock.advanceSeconds(600 + 60);
    assert.equal((await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt } })).status, 200);
    clock.advanceSeconds(1);
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt } });
    assert.equal(result.status, 403);
    assert.deepEqual(result.body, { errors: ['invalid expiration time (exp) claim: token is expired'] });
  });

  it('answers malformed requests with 400', async () => {
    const cases: [unknown, string][] = [
      [{ jwt: 'x' }, 'missing role'],
      [{ role: 'web' }, 'missing jwt'],
      [{ role: 'nope', jwt: 'x' }, 'invalid role name "nope"'],
    ];
    for (const [body, message] of cases) {
      const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body });
      assert.equal(result.status, 400);
      assert.deepEqual(result.body, { errors: [message] });
    }
    const notJson = await fetch(`${vault.url}/v1/auth/kubernetes/login`, { method: 'POST', body: '{' });
    assert.equal(notJson.status, 400);
    assert.equal((await call(vault, 'GET', '/v1/auth/kubernetes/login')).status, 405);
  });

  it('accepts * and globs in bound names and namespaces, and no audience when the role has none', async () => {
    vault.addKubernetesRole('kubernetes', 'any', { boundServiceAccountNames: ['*'], boundServiceAccountNamespaces: ['sh*'], policies: [] });
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'any', jwt: await mint({ audience: 'anything', serviceAccountName: 'x' }) } });
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.auth.policies, ['default']);
  });

  it('tokens expire on the server clock: 403 permission denied + invalid token', async () => {
    const token = await login(vault, 'kubernetes', 'web', await mint());
    clock.advanceSeconds(599);
    assert.equal((await call(vault, 'GET', '/v1/secret/data/shop/db', { token })).status, 200);
    clock.advanceSeconds(1);
    const expired = await call(vault, 'GET', '/v1/secret/data/shop/db', { token });
    assert.equal(expired.status, 403);
    assert.deepEqual(expired.body, { errors: [INVALID_TOKEN] });
    const unknown = await call(vault, 'GET', '/v1/secret/data/shop/db', { token: 'hvs.nope' });
    assert.deepEqual([unknown.status, unknown.body], [403, { errors: [INVALID_TOKEN] }]);
    const none = await call(vault, 'GET', '/v1/secret/data/shop/db');
    assert.equal(none.status, 403);
  });

  it('renew-self extends the token up to its max TTL; lookup-self describes it', async () => {
    vault.addKubernetesRole('kubernetes', 'short', {
      boundServiceAccountNames: ['web'],
      boundServiceAccountNamespaces: ['shop'],
      tokenTtlSeconds: 600,
      tokenMaxTtlSeconds: 900,
    });
    const token = await login(vault, 'kubernetes', 'short', await mint());
    clock.advanceSeconds(500);
    const renewed = await call(vault, 'POST', '/v1/auth/token/renew-self', { token, body: {} });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.body.auth.client_token, token);
    assert.equal(renewed.body.auth.lease_duration, 400); // capped: 900 − 500
    assert.deepEqual(renewed.body.warnings, ['TTL of "10m" exceeded the effective max_ttl of "6m40s"; TTL value is capped accordingly']);
    const looked = await call(vault, 'GET', '/v1/auth/token/lookup-self', { token });
    assert.equal(looked.status, 200);
    assert.equal(looked.body.data.ttl, 400);
    assert.equal(looked.body.data.path, 'auth/kubernetes/login');
    assert.equal(looked.body.data.display_name, 'kubernetes-shop-web');
    clock.advanceSeconds(400);
    assert.equal((await call(vault, 'GET', '/v1/auth/token/lookup-self', { token })).status, 403);
  });

  it('verifies against the kubelet simulator JWKS URL', async () => {
    let jwksServer: RunningJwksServer | undefined;
    const remote = await VaultTestServer.start({ now: clock.now });
    try {
      jwksServer = await startJwksServer(tokens.issuer);
      remote.configureKubernetesAuth('k8s', { jwksUrl: jwksServer.jwksUri });
      remote.addKubernetesRole('k8s', 'web', { boundServiceAccountNames: ['web'], boundServiceAccountNamespaces: ['shop'], audience: 'vault' });
      assert.equal((await call(remote, 'POST', '/v1/auth/k8s/login', { body: { role: 'web', jwt: await mint() } })).status, 200);
      const other = await podTokens();
      assert.equal((await call(remote, 'POST', '/v1/auth/k8s/login', { body: { role: 'web', jwt: await other.mint({ now: new Date(clock.now()) }) } })).status, 403);
    } finally {
      await remote.stop();
      await jwksServer?.stop();
      }
  });

  it('checks the issuer only when the mount is configured with one', async () => {
    vault.configureKubernetesAuth('kubernetes', { jwks: tokens.jwks, issuer: 'https://other.example' });
    const result = await call(vault, 'POST', '/v1/auth/kubernetes/login', { body: { role: 'web', jwt: await mint() } });
    assert.deepEqual([result.status, result.body], [403, { errors: ['invalid issuer (iss) claim'] }]);
  });
});

describe('Vault test server: JWT auth', () => {
  let clock: ManualClock;
  let tokens: PodTokens;
  let vault: VaultTestServer;
  const mint = (overrides: Parameters<PodTokens['mint']>[0] = {}): Promise<string> => tokens.mint({ now: new Date(clock.now()), ...overrides });
  const loginJwt = (role: string, jwt: string): ReturnType<typeof call> => call(vault, 'POST', '/v1/auth/jwt/login', { body: { role, jwt } });

  before(async () => {
    tokens = await podTokens();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    vault = await VaultTestServer.start({ now: clock.now });
    vault.configureJwtAuth('jwt', { jwks: tokens.jwks, boundIssuer: tokens.issuer.issuer });
    vault.addJwtRole('jwt', 'web', {
      userClaim: 'sub',
      boundAudiences: ['vault'],
      boundClaims: { '/kubernetes.io/namespace': 'shop', '/kubernetes.io/serviceaccount/name': ['web', 'api'] },
      claimMappings: { '/kubernetes.io/pod/name': 'pod' },
      policies: ['p'],
      tokenTtlSeconds: 300,
    });
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('logs in: user claim, claim mappings and the role in metadata', async () => {
    const result = await loginJwt('web', await mint());
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.auth.metadata, { pod: POD.podName, role: 'web' });
    assert.deepEqual(result.body.auth.policies, ['default', 'p']);
    assert.equal(result.body.auth.lease_duration, 300);
    assert.equal(result.body.mount_type, 'jwt');
  });

  it('refusals are 400 with the plugin messages', async () => {
    const other = await podTokens();
    const cases: [Promise<string>, string][] = [
      [other.mint({ now: new Date(clock.now()) }), 'error validating token: error verifying token signature: failed to verify id token signature'],
      [mint({ audience: 'elsewhere' }), 'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience'],
      [mint({ namespace: 'billing' }), 'error validating claims: claim "/kubernetes.io/namespace" does not match any associated bound claim values'],
      [mint({ serviceAccountName: 'intruder' }), 'error validating claims: claim "/kubernetes.io/serviceaccount/name" does not match any associated bound claim values'],
    ];
    for (const [jwt, message] of cases) {
      const result = await loginJwt('web', await jwt);
      assert.equal(result.status, 400, message);
      assert.deepEqual(result.body, { errors: [message] });
    }
    const missing = await loginJwt('nope', await mint());
    assert.deepEqual([missing.status, missing.body], [400, { errors: ['role "nope" could not be found'] }]);
    const noJwt = await call(vault, 'POST', '/v1/auth/jwt/login', { body: { role: 'web' } });
    assert.deepEqual(noJwt.body, { errors: ['missing token'] });
  });

  it('bound_subject, bound issuer and a role without audiences', async () => {
    vault.addJwtRole('jwt', 'subject', { userClaim: 'sub', boundAudiences: ['vault'], boundSubject: 'system:serviceaccount:shop:api' });
    assert.deepEqual((await loginJwt('subject', await mint())).body, { errors: ['error validating token: invalid subject (sub) claim'] });
    vault.addJwtRole('jwt', 'no-aud', { userClaim: 'sub' });
    assert.deepEqual((await loginJwt('no-aud', await mint())).body, { errors: ['audience claim found in JWT but no audiences bound to the role'] });
    vault.configureJwtAuth('jwt', { jwks: tokens.jwks, boundIssuer: 'https://elsewhere' });
    assert.deepEqual((await loginJwt('web', await mint())).body, { errors: ['error validating token: invalid issuer (iss) claim'] });
  });

  it('refuses an expired token', async () => {
    const jwt = await mint({ ttlSeconds: 600 });
    clock.advanceSeconds(661);
    assert.deepEqual((await loginJwt('web', jwt)).body, { errors: ['error validating token: invalid expiration time (exp) claim: token is expired'] });
  });

  it('glob bound claims', async () => {
    vault.addJwtRole('jwt', 'glob', { userClaim: 'sub', boundAudiences: ['vault'], boundClaimsType: 'glob', boundClaims: { sub: 'system:serviceaccount:sh*:*' } });
    assert.equal((await loginJwt('glob', await mint())).status, 200);
    assert.equal((await loginJwt('glob', await mint({ namespace: 'billing' }))).status, 400);
  });

  it('an EC key from a JWKS of its own', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    vault.configureJwtAuth('jwt', { jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'ec-1', alg: 'ES256' }] } });
    vault.addJwtRole('jwt', 'ec', { userClaim: 'sub', boundAudiences: ['vault'] });
    const now = Math.floor(clock.now() / 1000);
    const jwt = await new SignJWT({ sub: 'someone', aud: 'vault' }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).setIssuedAt(now).setExpirationTime(now + 60).sign(privateKey);
    const result = await loginJwt('ec', jwt);
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.auth.metadata, { role: 'ec' });
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  DEFAULT_ISSUER,
  defaultServiceAccountUid,
  DISCOVERY_PATH,
  type RunningJwksServer,
  ServiceAccountTokenIssuer,
  startJwksServer,
} from '../../../src/cli/kubelet-sim/index.js';
import { FIXTURE_POD, fixtureTokens, loadFixture, loadFixtureJwks } from '../kubelet/fixtures.js';

/** The structure of a JSON value: object keys (sorted, recursively) and leaf types. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, shape((value as Record<string, unknown>)[key])]));
  }
  return typeof value;
}

const pod = {
  namespace: FIXTURE_POD.namespace,
  podName: FIXTURE_POD.podName,
  podUid: FIXTURE_POD.podUid,
  serviceAccountName: FIXTURE_POD.serviceAccountName,
};

describe('ServiceAccountTokenIssuer', () => {
  let issuer: ServiceAccountTokenIssuer;
  let server: RunningJwksServer;

  before(async () => {
    issuer = await ServiceAccountTokenIssuer.create();
    server = await startJwksServer(issuer);
  });
  after(async () => {
    await server.stop();
  });

  it('mints tokens with the claim layout of real ones', async () => {
    const real = fixtureTokens(loadFixture('publish-tokens-in-volume-context'));
    for (const audience of ['', 'vault']) {
      const realToken = real[audience]?.token ?? '';
      const minted = await issuer.mint({ ...pod, audience });

      assert.deepEqual(shape(decodeJwt(minted.token)), shape(decodeJwt(realToken)));
      // Same key order too: the API server's.
      assert.deepEqual(Object.keys(decodeJwt(minted.token)), Object.keys(decodeJwt(realToken)));
      assert.deepEqual(shape(decodeProtectedHeader(minted.token)), shape(decodeProtectedHeader(realToken)));
      assert.match(minted.expirationTimestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
  });

  it('fills in the claims like the API server', async () => {
    const now = new Date('2026-11-28T13:17:22.750Z');
    const minted = await issuer.mint({ ...pod, audience: 'vault', ttlSeconds: 600, now });
    const claims = decodeJwt(minted.token) as Record<string, unknown>;
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: 'payments',
      pod: { name: FIXTURE_POD.podName, uid: FIXTURE_POD.podUid },
      serviceaccount: { name: 'billing', uid: defaultServiceAccountUid('payments', 'billing') },
    });
    assert.equal(claims['iss'], DEFAULT_ISSUER);
    assert.equal(claims['sub'], 'system:serviceaccount:payments:billing');
    assert.deepEqual(claims['aud'], ['vault']);
    assert.equal(claims['iat'], 1795871842);
    assert.equal(claims['nbf'], 1795871842);
    assert.equal(claims['exp'], 1795871842 + 600);
    assert.equal(minted.expirationTimestamp, '2026-11-28T13:27:22Z');
    assert.equal(decodeProtectedHeader(minted.token).kid, issuer.kid);

    // The "" audience is the API server's default audience: the issuer, as in the fixture.
    assert.deepEqual(decodeJwt((await issuer.mint({ ...pod, audience: '' })).token).aud, [DEFAULT_ISSUER]);
    // An explicit service-account UID is used as given.
    const explicit = await issuer.mint({ ...pod, audience: 'vault', serviceAccountUid: '3f49886c-590a-4ca7-b9d4-136cb6e4828e' });
    assert.equal((decodeJwt(explicit.token)['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid, '3f49886c-590a-4ca7-b9d4-136cb6e4828e');
  });

  it('refuses a non-positive TTL', async () => {
    await assert.rejects(issuer.mint({ ...pod, audience: 'vault', ttlSeconds: 0 }), RangeError);
  });

  it('publishes a JWKS shaped like the API server one', () => {
    assert.deepEqual(shape(issuer.jwks()), shape(loadFixtureJwks()));
    const [key] = issuer.jwks().keys;
    assert.equal(key?.kid, issuer.kid);
    assert.equal(key?.alg, 'RS256');
    assert.equal(key?.use, 'sig');
    assert.equal('d' in (key ?? {}), false, 'the JWKS must not contain the private exponent');
  });

  it('verifies minted tokens against the JWKS served over HTTP', async () => {
    const minted = await issuer.mint({ ...pod, audience: 'vault' });
    const jwks = createRemoteJWKSet(new URL(server.jwksUri));
    const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, { issuer: DEFAULT_ISSUER, audience: 'vault', algorithms: ['RS256'] });
    assert.equal(payload.sub, 'system:serviceaccount:payments:billing');
    assert.equal(protectedHeader.kid, issuer.kid);

    // A token from another key does not verify.
    const stranger = await ServiceAccountTokenIssuer.create({ kid: issuer.kid });
    const forged = await stranger.mint({ ...pod, audience: 'vault' });
    await assert.rejects(jwtVerify(forged.token, jwks, { issuer: DEFAULT_ISSUER, audience: 'vault' }));
  });

  it('serves an OpenID discovery document that leads to the JWKS', async () => {
    const response = await fetch(`${server.url}${DISCOVERY_PATH}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const discovery = (await response.json()) as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    assert.equal(discovery.issuer, DEFAULT_ISSUER);
    assert.equal(discovery.jwks_uri, server.jwksUri);
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);

    const keys = await fetch(discovery.jwks_uri);
    assert.equal(keys.headers.get('content-type'), 'application/jwk-set+json');
    assert.deepEqual(await keys.json(), issuer.jwks());
  });

  it('answers 404 and 405 elsewhere', async () => {
    assert.equal((await fetch(`${server.url}/openid/v1/other`)).status, 404);
    assert.equal((await fetch(server.jwksUri, { method: 'POST' })).status, 405);
  });
});

describe('ServiceAccountTokenIssuer key file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-issuer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps its key across restarts', async () => {
    const keyFile = join(dir, 'nested', 'sa-signing-key.jwk');
    const first = await ServiceAccountTokenIssuer.create({ keyFile, issuer: 'https://issuer.test' });
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, unknown>;
    assert.equal(stored['kid'], first.kid);

    const second = await ServiceAccountTokenIssuer.create({ keyFile, issuer: 'https://issuer.test' });
    assert.equal(second.kid, first.kid);
    assert.deepEqual(second.jwks(), first.jwks());
    const token = (await first.mint({ ...pod, audience: 'vault' })).token;
    await jwtVerify(token, createLocalJWKSet({ keys: [...second.jwks().keys] }), { issuer: 'https://issuer.test', audience: 'vault' });
  });

  it('refuses a key file that is not a private JWK, without quoting it', async () => {
    const keyFile = join(dir, 'bad.jwk');
    await writeFile(keyFile, '{"kty":"RSA","d":"SECRET-PRIVATE-MATERIAL"');
    await assert.rejects(ServiceAccountTokenIssuer.create({ keyFile }), (error: Error) => !error.message.includes('SECRET-PRIVATE-MATERIAL'));
    await writeFile(keyFile, '{"kty":"RSA","n":"x","e":"AQAB"}');
    await assert.rejects(ServiceAccountTokenIssuer.create({ keyFile }), /not a private RSA JWK/);
  });
});

describe('startJwksServer', () => {
  it('listens on a given port and stops', async () => {
    const issuer = await ServiceAccountTokenIssuer.create();
    const first = await startJwksServer(issuer);
    const port = first.port;
    await first.stop();
    const second = await startJwksServer(issuer, { port });
    try {
      assert.equal(second.url, `http://127.0.0.1:${port}`);
      assert.equal((await fetch(second.jwksUri)).status, 200);
    } finally {
      await second.stop();
    }
    await assert.rejects(fetch(second.jwksUri));
  });
});

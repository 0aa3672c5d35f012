import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCredmountError, type CredmountError } from '../../../../src/errors/credmount-error.js';
import { createEmbeddedProvider, type EmbeddedProvider } from '../../../../src/providers/embedded/embedded-provider.js';
import type { PodIdentity, TokenSet } from '../../../../src/providers/provider.js';
import { BILLING, createStore, deadUrl, fetchRequest, ISSUER, REPORTING, serveJwks, tempDir, text, tokenSet, TokenIssuer } from './support.js';

const SECRET_OBJECTS = '- objectName: db-password\n  secretPath: payments/db-password\n';

/** Fetch `objects` as `identity` with `tokens`, and return the error it must fail with. */
async function refusal(provider: EmbeddedProvider, tokens: TokenSet, identity: PodIdentity = BILLING, objects = SECRET_OBJECTS, parameters: Record<string, string> = {}): Promise<CredmountError> {
  const parsed = provider.parse({ objects, ...parameters }, identity);
  try {
    await provider.fetch(fetchRequest(parsed.value, tokens, identity));
  } catch (error: unknown) {
    assert.ok(isCredmountError(error), `expected a CredmountError, got ${String(error)}`);
    return error;
  }
  assert.fail('fetch should have been refused');
}

function assertNoToken(error: Error, token: string): void {
  const [, payload = '', signature = ''] = token.split('.');
  for (const part of [token, payload, signature]) assert.ok(!error.message.includes(part), `the message leaks the token: ${error.message}`);
  assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(signature));
}

describe('embedded provider: authentication (JWKS file)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let issuer: TokenIssuer;
  let provider: EmbeddedProvider;

  before(async () => {
    dir = await tempDir();
    issuer = await TokenIssuer.create();
    const jwksFile = join(dir.path, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(issuer.jwks));
    provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksFile, issuer: ISSUER });
  });
  after(async () => {
    await provider.close();
    await dir.cleanup();
  });

  it('lets an allowed pod read its secret, byte for byte', async () => {
    const parsed = provider.parse({ objects: SECRET_OBJECTS }, BILLING);
    const result = await provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint())));
    assert.equal(result.files.length, 1);
    assert.equal(result.files[0]?.path, 'db-password');
    assert.deepEqual(result.files[0]?.content, new TextEncoder().encode('s3cr3t-db-password'));
    assert.equal(text(result.files[0]?.content ?? new Uint8Array()), 's3cr3t-db-password');
    assert.equal(result.expiresAt, undefined);
  });

  it('refuses a pod of another service account, naming the secret but not the token', async () => {
    const token = await issuer.mint({ identity: REPORTING });
    const error = await refusal(provider, tokenSet(token), REPORTING);
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.equal(error.code, 'CM_ACCESS_DENIED');
    assert.match(error.message, /secret "payments\/db-password"/);
    assert.match(error.message, /payments\/reporting/);
    assertNoToken(error, token);
  });

  it('refuses a token signed by another key', async () => {
    const stranger = await TokenIssuer.create('test-key-1'); // same kid, different key
    const token = await stranger.mint();
    const error = await refusal(provider, tokenSet(token));
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.equal(error.code, 'CM_TOKEN_REJECTED');
    assert.match(error.message, /signature does not verify/);
    assertNoToken(error, token);

    const unknownKid = await (await TokenIssuer.create('other-kid')).mint();
    const kidError = await refusal(provider, tokenSet(unknownKid));
    assert.equal(kidError.status, 'UNAUTHENTICATED');
    assert.match(kidError.message, /not in the issuer keys/);
  });

  it('refuses a token for another audience', async () => {
    const token = await issuer.mint({ audience: 'vault' });
    const error = await refusal(provider, tokenSet(token)); // presented under "credmount", minted for "vault"
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.match(error.message, /audience is \["vault"\], not "credmount"/);
    assertNoToken(error, token);
  });

  it('uses the volume\'s audience parameter', async () => {
    const token = await issuer.mint({ audience: 'vault' });
    const parsed = provider.parse({ objects: SECRET_OBJECTS, audience: 'vault' }, BILLING);
    const result = await provider.fetch(fetchRequest(parsed.value, tokenSet(token, 'vault')));
    assert.equal(result.files.length, 1);
  });

  it('refuses an expired token (beyond the clock-skew leeway)', async () => {
    const token = await issuer.mint({ issuedAt: -7200, lifetime: 3600 });
    const error = await refusal(provider, tokenSet(token));
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.match(error.message, /expired at \d{4}-/);
    assertNoToken(error, token);
  });

  it('refuses a token that is not valid yet', async () => {
    const error = await refusal(provider, tokenSet(await issuer.mint({ issuedAt: 600 })));
    assert.match(error.message, /not valid before/);
  });

  it('refuses a token from another issuer', async () => {
    const error = await refusal(provider, tokenSet(await issuer.mint({ issuer: 'https://evil.example' })));
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.match(error.message, /issuer is "https:\/\/evil.example"/);
  });

  it('refuses a verified token whose claims name another namespace than the pod', async () => {
    const elsewhere: PodIdentity = { ...BILLING, namespace: 'other' };
    const token = await issuer.mint({ identity: elsewhere });
    const error = await refusal(provider, tokenSet(token), BILLING);
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.match(error.message, /kubernetes\.io\.namespace is "other" but the pod's is "payments"/);
    assertNoToken(error, token);
  });

  it('refuses a token of another pod of the same service account', async () => {
    const sibling: PodIdentity = { ...BILLING, podName: 'billing-other', podUid: '00000000-0000-4000-8000-000000000000' };
    const error = await refusal(provider, tokenSet(await issuer.mint({ identity: sibling })), BILLING);
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.match(error.message, /kubernetes\.io\.pod\.name/);
  });

  it('refuses tokens whose identity claims are inconsistent or missing', async () => {
    const badSub = await refusal(provider, tokenSet(await issuer.mint({ claims: { sub: 'system:serviceaccount:payments:admin' } })));
    assert.match(badSub.message, /claim sub/);
    const unbound = await refusal(provider, tokenSet(await issuer.mint({ claims: { 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'billing' } } } })));
    assert.match(unbound.message, /not bound to a pod/);
    const notKubernetes = await refusal(provider, tokenSet(await issuer.mint({ claims: { 'kubernetes.io': undefined } })));
    assert.match(notKubernetes.message, /no kubernetes\.io claim/);
    const noExp = await refusal(provider, tokenSet(await issuer.mint({ claims: { exp: undefined } })));
    assert.match(noExp.message, /exp/);
  });

  it('the token verdict comes first, though the content is prepared while the signature is checked', async () => {
    const missing = '- objectName: nope\n  secretPath: payments/no-such-secret\n';
    // A good token: the content's own error is the answer.
    const notFound = await refusal(provider, tokenSet(await issuer.mint()), BILLING, missing);
    assert.equal(notFound.status, 'NOT_FOUND');
    // A token that does not verify: UNAUTHENTICATED, whatever the content steps ran into...
    const stranger = await (await TokenIssuer.create('test-key-1')).mint();
    const badAndMissing = await refusal(provider, tokenSet(stranger), BILLING, missing);
    assert.equal(badAndMissing.status, 'UNAUTHENTICATED');
    const badAndRefused = await refusal(provider, tokenSet(stranger), REPORTING);
    assert.equal(badAndRefused.status, 'UNAUTHENTICATED');
    // ...and when they succeeded, nothing of what they made is returned.
    const badButReadable = await refusal(provider, tokenSet(stranger), BILLING);
    assert.equal(badButReadable.status, 'UNAUTHENTICATED');
    // A verified token of another pod: the identity refusal, not the content's.
    const sibling: PodIdentity = { ...BILLING, podName: 'billing-other', podUid: '00000000-0000-4000-8000-000000000000' };
    const otherPod = await refusal(provider, tokenSet(await issuer.mint({ identity: sibling })), BILLING, missing);
    assert.equal(otherPod.status, 'PERMISSION_DENIED');
    assert.match(otherPod.message, /kubernetes\.io\.pod\.name/);
  });

  it('refuses garbage without echoing it', async () => {
    const garbage = 'not.a-real.token-value-1234567890';
    const error = await refusal(provider, tokenSet(garbage));
    assert.equal(error.status, 'UNAUTHENTICATED');
    assert.ok(!error.message.includes(garbage));
  });

  it('asks for the token audience the volume needs when kubelet did not send it', async () => {
    const error = await refusal(provider, tokenSet(await issuer.mint(), 'vault'));
    assert.equal(error.code, 'CM_TOKEN_AUDIENCE_MISSING');
  });
});

describe('embedded provider: authentication (JWKS URL)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let issuer: TokenIssuer;

  before(async () => {
    dir = await tempDir();
    issuer = await TokenIssuer.create();
  });
  after(() => dir.cleanup());

  it('verifies tokens against a JWKS served over HTTP', async () => {
    const server = await serveJwks(issuer.jwks);
    const provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksUrl: server.url });
    try {
      const parsed = provider.parse({ objects: SECRET_OBJECTS }, BILLING);
      const result = await provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint())));
      assert.equal(text(result.files[0]?.content ?? new Uint8Array()), 's3cr3t-db-password');
      // the key set is cached: a second fetch does not hit the server again
      await provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint())));
      assert.equal(server.requests(), 1);

      const stranger = await (await TokenIssuer.create()).mint();
      const error = await refusal(provider, tokenSet(stranger));
      assert.equal(error.status, 'UNAUTHENTICATED');
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('reports UNAVAILABLE when the JWKS URL is down', async () => {
    const provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksUrl: await deadUrl() });
    try {
      const token = await issuer.mint();
      const error = await refusal(provider, tokenSet(token));
      assert.equal(error.status, 'UNAVAILABLE');
      assert.equal(error.code, 'CM_BACKEND_UNAVAILABLE');
      assert.match(error.message, /JWKS http:\/\/127\.0\.0\.1:\d+\/openid\/v1\/jwks is unavailable/);
      assertNoToken(error, token);
    } finally {
      await provider.close();
    }
  });

  it('reports UNAVAILABLE when the JWKS URL answers with an error', async () => {
    const server = await serveJwks({});
    const provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksUrl: server.url.replace('/openid/v1/jwks', '/missing') });
    try {
      const error = await refusal(provider, tokenSet(await issuer.mint()));
      assert.equal(error.status, 'UNAVAILABLE');
    } finally {
      await provider.close();
      await server.close();
    }
  });
});

describe('embedded provider: JWKS file rotation', () => {
  it('picks up a rotated JWKS file and reports a broken one as UNAVAILABLE', async () => {
    const dir = await tempDir();
    let clock = Date.now();
    try {
      const [oldIssuer, newIssuer] = [await TokenIssuer.create('old'), await TokenIssuer.create('new')];
      const jwksFile = join(dir.path, 'jwks.json');
      await writeFile(jwksFile, JSON.stringify(oldIssuer.jwks));
      const provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksFile, reloadIntervalMs: 1_000, now: () => new Date(clock) });
      try {
        const parsed = provider.parse({ objects: SECRET_OBJECTS }, BILLING);
        await provider.fetch(fetchRequest(parsed.value, tokenSet(await oldIssuer.mint())));
        assert.equal((await refusal(provider, tokenSet(await newIssuer.mint()))).status, 'UNAUTHENTICATED');

        await writeFile(jwksFile, JSON.stringify({ keys: [oldIssuer.jwk, newIssuer.jwk] }));
        clock += 1_000;
        await provider.fetch(fetchRequest(parsed.value, tokenSet(await newIssuer.mint())));

        await writeFile(jwksFile, '{"keys": [');
        clock += 1_000;
        const broken = await refusal(provider, tokenSet(await newIssuer.mint()));
        assert.equal(broken.status, 'UNAVAILABLE');
        assert.match(broken.message, /jwks\.json: is not valid JSON/);
      } finally {
        await provider.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});

describe('embedded provider: configuration', () => {
  it('refuses a missing or doubled JWKS source and a broken JWKS file at start-up', async () => {
    const dir = await tempDir();
    try {
      const storeDir = await createStore(dir.path);
      await assert.rejects(createEmbeddedProvider({ storeDir }), /exactly one of jwksUrl and jwksFile/);
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksUrl: 'http://127.0.0.1:1/x', jwksFile: '/x' }), /exactly one/);
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksUrl: 'http://issuer.example/openid/v1/jwks' }), /must use https unless it is on the loopback interface/);
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksUrl: 'ftp://example/jwks' }), /http\(s\) URL/);
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksFile: join(dir.path, 'nope.json') }), /jwksFile: .*does not exist/);
      await writeFile(join(dir.path, 'bad.json'), '{"keys": 1}');
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksFile: join(dir.path, 'bad.json') }), /not a JSON Web Key Set/);
      await writeFile(join(dir.path, 'jwks.json'), '{"keys": []}');
      await assert.rejects(
        createEmbeddedProvider({ storeDir, jwksFile: join(dir.path, 'jwks.json'), defaultCertificateTtlMs: 7_200_000, maxCertificateTtlMs: 3_600_000 }),
        /longer than maxCertificateTtlMs/,
      );
      await writeFile(join(storeDir, 'policy.yaml'), 'rules:\n  - namespace: a\n');
      await assert.rejects(createEmbeddedProvider({ storeDir, jwksFile: join(dir.path, 'jwks.json') }), /rules\[0\]\.serviceAccount: is required/);
    } finally {
      await dir.cleanup();
    }
  });
});

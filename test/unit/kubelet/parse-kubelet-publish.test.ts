import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKubeletPublish } from '../../../src/kubelet/index.js';
import { FIXTURE_EXPIRY, FIXTURE_NOW, FIXTURE_POD, FIXTURE_SERVICE_ACCOUNT_UIDS, fixtureTokens, loadFixture, TOKENS_KEY, toKubeletPublishInput } from './fixtures.js';

const options = { now: FIXTURE_NOW, defaultProvider: 'vault' };

describe('parseKubeletPublish: the fixtures', () => {
  for (const name of ['publish-tokens-in-volume-context', 'publish-tokens-in-secrets'] as const) {
    it(`parses ${name}`, () => {
      const request = loadFixture(name);
      const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);

      assert.deepEqual(parsed.identity, {
        namespace: FIXTURE_POD.namespace,
        podName: FIXTURE_POD.podName,
        podUid: FIXTURE_POD.podUid,
        serviceAccountName: FIXTURE_POD.serviceAccountName,
      });
      assert.equal(parsed.volumeId, 'csi-7bae3a2442d32a9405b0ea0728b2cf8654ce4cdf50acca0781915d5f6a2920a8');
      assert.equal(parsed.targetPath, `/var/lib/kubelet/pods/${FIXTURE_POD.podUid}/volumes/kubernetes.io~csi/creds/mount`);
      assert.equal(parsed.readOnly, true);
      assert.equal(parsed.providerName, 'vault');
      assert.deepEqual(parsed.parameters, {
        objects: '- objectName: db-password\n  secretPath: secret/data/payments/db\n  secretKey: password\n',
        roleName: 'billing',
      });
      assert.equal(parsed.mountGroup, name === 'publish-tokens-in-secrets' ? 2000 : undefined);

      const sent = fixtureTokens(request);
      assert.deepEqual([...parsed.tokens.keys()].sort(), ['', 'vault']);
      for (const [audience, token] of parsed.tokens) {
        assert.equal(token.audience, audience);
        assert.equal(token.token, sent[audience]?.token);
        assert.equal(token.expiresAt.toISOString(), FIXTURE_EXPIRY.toISOString());
        assert.equal(token.serviceAccountUid, FIXTURE_SERVICE_ACCOUNT_UIDS[audience]);
      }
    });
  }

  it('reads secrets before volume_context', () => {
    const request = loadFixture('publish-tokens-in-secrets');
    // A stale or bogus copy in volume_context is ignored when secrets has the tokens.
    request.volume_context[TOKENS_KEY] = 'not json at all';
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);
    assert.deepEqual([...parsed.tokens.keys()].sort(), ['', 'vault']);

    // ...and a bad copy in secrets is reported even when volume_context has good tokens.
    const reversed = loadFixture('publish-tokens-in-volume-context');
    reversed.secrets[TOKENS_KEY] = '[]';
    assert.throws(
      () => parseKubeletPublish(toKubeletPublishInput(reversed), options),
      (error: Error) => error.message.startsWith('secrets["csi.storage.k8s.io/serviceAccount.tokens"]'),
    );
  });

  it('a token seen before (decoded once) is still checked against each call\'s pod and time', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    assert.equal(parseKubeletPublish(toKubeletPublishInput(request), options).tokens.size, 2);
    // The very same tokens JSON, now claimed by another pod of the namespace: refused.
    const other = loadFixture('publish-tokens-in-volume-context');
    other.volume_context['csi.storage.k8s.io/pod.name'] = 'someone-else';
    assert.throws(() => parseKubeletPublish(toKubeletPublishInput(other), options), /kubernetes\.io\.pod\.name/);
    // ...and past its expiry: refused, though the same JSON parsed a moment ago.
    const later = { ...options, now: new Date(FIXTURE_EXPIRY.getTime() + 1000) };
    assert.throws(() => parseKubeletPublish(toKubeletPublishInput(request), later), (error: Error) => error.message.includes('expired'));
    // ...and the original call still parses.
    assert.equal(parseKubeletPublish(toKubeletPublishInput(request), options).tokens.size, 2);
  });

  it('returns an empty TokenSet when kubelet sends no tokens (no tokenRequests)', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    delete request.volume_context[TOKENS_KEY];
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);
    assert.equal(parsed.tokens.size, 0);
    assert.equal(parsed.identity.podName, FIXTURE_POD.podName);
  });

  it('accepts an empty tokens object', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    request.volume_context[TOKENS_KEY] = '{}';
    assert.equal(parseKubeletPublish(toKubeletPublishInput(request), options).tokens.size, 0);
  });

  it('uses the default provider when the pod names none', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    delete request.volume_context['provider'];
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), { ...options, defaultProvider: 'gcp' });
    assert.equal(parsed.providerName, 'gcp');
    assert.equal('provider' in parsed.parameters, false);
  });

  it('accepts a volume_context far beyond the CSI 4 KiB map limit', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    const objects = Array.from({ length: 2000 }, (_, i) => `- objectName: secret-${i}\n  secretPath: secret/data/payments/${i}\n`).join('');
    request.volume_context['objects'] = objects;
    const totalBytes = Object.entries(request.volume_context).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    assert.ok(totalBytes > 64 * 1024);
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);
    assert.equal(parsed.parameters['objects'], objects);
  });

  it('keeps only the pod attributes as parameters, without prototype surprises', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    const context: Record<string, string> = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    Object.assign(request.volume_context, { 'csi.storage.k8s.io/future.key': 'ignored' });
    for (const [key, value] of Object.entries(context)) Object.defineProperty(request.volume_context, key, { value, enumerable: true });
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);
    assert.deepEqual(Object.keys(parsed.parameters).sort(), ['__proto__', 'constructor', 'objects', 'roleName']);
    assert.equal(Object.getPrototypeOf(parsed.parameters), Object.prototype);
    assert.ok(Object.isFrozen(parsed.parameters));
  });

  it('accepts a call without the ephemeral key, and a static pod UID', () => {
    const request = loadFixture('publish-tokens-in-volume-context');
    delete request.volume_context['csi.storage.k8s.io/ephemeral'];
    delete request.volume_context[TOKENS_KEY];
    request.volume_context['csi.storage.k8s.io/pod.uid'] = '0123456789abcdef0123456789abcdef';
    const parsed = parseKubeletPublish(toKubeletPublishInput(request), options);
    assert.equal(parsed.identity.podUid, '0123456789abcdef0123456789abcdef');
  });

  it('accepts mount group boundaries 0 and 2^31-1', () => {
    for (const value of ['0', '2147483647']) {
      const request = loadFixture('publish-tokens-in-secrets');
      request.volume_capability.mount.volume_mount_group = value;
      assert.equal(parseKubeletPublish(toKubeletPublishInput(request), options).mountGroup, Number(value));
    }
  });
});

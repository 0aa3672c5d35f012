import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32c } from '../../../../src/providers/gcp/crc32c.js';
import { exchangeSettings } from '../../../../src/providers/gcp/exchange-settings.js';
import { extractKey } from '../../../../src/providers/gcp/extract-key.js';
import { parseGoogleError, parseProtoDuration, scrub } from '../../../../src/providers/gcp/google-http.js';
import { accessUrl } from '../../../../src/providers/gcp/secret-manager.js';
import { parseSecretVersionName, type SecretVersionName } from '../../../../src/providers/gcp/resource-name.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('crc32c', () => {
  test('RFC 3720 B.4 check values and the standard "123456789" check', () => {
    assert.equal(crc32c(bytes('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });
});

describe('Google error bodies', () => {
  test('google.rpc.Status with RetryInfo', () => {
    const body = JSON.stringify({
      error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12.5s' }] },
    });
    assert.deepEqual(parseGoogleError(body), { status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded', retryAfterMs: 12_500 });
  });

  test('the OAuth form STS uses', () => {
    assert.deepEqual(parseGoogleError('{"error":"invalid_grant","error_description":"The audience in ID Token does not match."}'), {
      status: 'invalid_grant',
      message: 'The audience in ID Token does not match.',
      retryAfterMs: undefined,
    });
  });

  test('anything else says nothing rather than repeat a body', () => {
    assert.deepEqual(parseGoogleError('<html>502</html>'), { status: '', message: '', retryAfterMs: undefined });
  });

  test('token-shaped text is cut out of repeated messages, and they are shortened', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    assert.equal(scrub(`bad token ${jwt} and ya29.a0AfB_byC-secret`), 'bad token [token] and [token]');
    assert.ok(scrub('x'.repeat(1000)).length <= 301);
  });

  test('protobuf durations', () => {
    assert.equal(parseProtoDuration('30s'), 30_000);
    assert.equal(parseProtoDuration('0.250s'), 250);
    assert.equal(parseProtoDuration('30'), undefined);
  });
});

describe('extract keys', () => {
  test('a string value of a JSON or YAML object', () => {
    assert.deepEqual(extractKey(bytes('{"user":"alice","n":1}'), 'JSON', 'user'), bytes('alice'));
    assert.deepEqual(extractKey(bytes('user: bob\nn: 1\n'), 'YAML', 'user'), bytes('bob'));
  });

  test('refusals never quote the payload', () => {
    const secret = 'S3CRET-PAYLOAD';
    for (const [payload, format, key, reason] of [
      [`{"user": ${secret}}`, 'JSON', 'user', /not valid JSON/],
      [`["${secret}"]`, 'JSON', 'user', /not a JSON object/],
      [`{"other":"${secret}"}`, 'JSON', 'user', /key "user" not found/],
      [`{"user":{"nested":"${secret}"}}`, 'JSON', 'user', /not a string/],
      [`user: [${secret}`, 'YAML', 'user', /not valid YAML/],
      [`n: 1\nuser: 2\n`, 'YAML', 'user', /not a string/],
    ] as const) {
      const result = extractKey(bytes(payload), format, key);
      assert.equal(typeof result, 'string');
      assert.match(result as string, reason);
      assert.ok(!(result as string).includes(secret));
    }
  });

  test('YAML warnings, which can quote the payload, never reach process warnings (stderr)', async () => {
    const secret = 'S3CRET-IN-A-KEY';
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      // A collection as a map key and an unknown tag: both are warnings in the yaml library.
      const result = extractKey(bytes(`? [${secret}, x]\n: v\nuser: !custom alice\n`), 'YAML', 'user');
      assert.deepEqual(result, bytes('alice'));
      // process.emitWarning delivers on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w.includes(secret) || /YAML|stringified|tag/i.test(w)), []);
  });
});

describe('endpoints', () => {
  const name = (n: string) => parseSecretVersionName(n) as SecretVersionName;
  test('global secrets use the global endpoint, regional ones their region', () => {
    const endpoints = { global: 'https://secretmanager.googleapis.com', regional: 'https://secretmanager.{location}.rep.googleapis.com' };
    assert.equal(accessUrl(name('projects/p-123456/secrets/db/versions/1'), endpoints), 'https://secretmanager.googleapis.com/v1/projects/p-123456/secrets/db/versions/1:access');
    assert.equal(
      accessUrl(name('projects/p-123456/locations/me-central2/secrets/db/versions/latest'), endpoints),
      'https://secretmanager.me-central2.rep.googleapis.com/v1/projects/p-123456/locations/me-central2/secrets/db/versions/latest:access',
    );
  });

  test('the exchange: federation or GKE, with their default audiences', () => {
    const common = { audience: '', stsEndpoint: 'https://sts.googleapis.com/', identityBindingEndpoint: 'https://securetoken.googleapis.com/v1/identitybindingtoken', gkeIdentityProviderBase: 'https://container.googleapis.com/v1', iamCredentialsEndpoint: 'https://iamcredentials.googleapis.com', tokenLifetimeSeconds: 3600 };
    const provider = '//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool/providers/prov';
    const federation = exchangeSettings({ ...common, workloadIdentityProvider: provider, gkeCluster: '' });
    assert.equal(federation.form, 'federation');
    assert.equal(federation.exchangeUrl, 'https://sts.googleapis.com/v1/token');
    assert.equal(federation.stsAudience, provider);
    assert.equal(federation.tokenAudience, `https:${provider}`);
    const gke = exchangeSettings({ ...common, workloadIdentityProvider: '', gkeCluster: 'projects/my-proj/locations/us-east1/clusters/c1' });
    assert.equal(gke.form, 'gke');
    assert.equal(gke.exchangeUrl, 'https://securetoken.googleapis.com/v1/identitybindingtoken');
    assert.equal(gke.stsAudience, 'identitynamespace:my-proj.svc.id.goog:https://container.googleapis.com/v1/projects/my-proj/locations/us-east1/clusters/c1');
    assert.equal(gke.tokenAudience, 'my-proj.svc.id.goog');
    assert.equal(exchangeSettings({ ...common, audience: 'custom', workloadIdentityProvider: provider, gkeCluster: '' }).tokenAudience, 'custom');
  });
});

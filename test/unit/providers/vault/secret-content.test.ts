import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goJson, renderObject, wholeSecretJson } from '../../../../src/providers/vault/secret-content.js';
import { apiUrl } from '../../../../src/providers/vault/vault-http.js';
import type { VaultObject } from '../../../../src/providers/vault/vault-parameters.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
function object(overrides: Partial<VaultObject> = {}): VaultObject {
  return { objectName: 'o', path: 'secret/data/db', query: '', secretKey: 'password', method: 'GET', secretArgs: undefined, filePermission: undefined, encoding: 'utf-8', ...overrides };
}
const KV2 = { request_id: 'r1', lease_id: '', lease_duration: 0, renewable: false, data: { data: { password: 'p<w>&d', port: 5432, nested: { b: 1, a: [true, null] } }, metadata: { version: 3 } }, warnings: null };

describe('vault secret content, as vault-csi-provider writes it', () => {
  test('a string under secretKey is written raw (KV v2 unwrapped)', () => {
    assert.equal(text(renderObject(object(), KV2)), 'p<w>&d');
  });

  test('non-strings are compact JSON with sorted keys and Go escaping', () => {
    assert.equal(text(renderObject(object({ secretKey: 'port' }), KV2)), '5432');
    assert.equal(text(renderObject(object({ secretKey: 'nested' }), KV2)), '{"a":[true,null],"b":1}');
    assert.equal(goJson({ z: '<&>', a: '\u2028' }), '{"a":"\\u2028","z":"\\u003c\\u0026\\u003e"}');
  });

  test('KV v1 / generic responses are looked up in data', () => {
    assert.equal(text(renderObject(object({ secretKey: 'username' }), { data: { username: 'v-user' }, lease_id: 'database/creds/x/1', lease_duration: 60 })), 'v-user');
  });

  test('an empty secretKey writes the whole response in api.Secret field order', () => {
    const json = wholeSecretJson({ ...KV2, mount_type: 'kv', auth: null });
    assert.equal(
      json,
      '{"request_id":"r1","lease_id":"","lease_duration":0,"renewable":false,"data":{"data":{"nested":{"a":[true,null],"b":1},"password":"p\\u003cw\\u003e\\u0026d","port":5432},"metadata":{"version":3}},"warnings":null,"mount_type":"kv"}',
    );
    assert.equal(text(renderObject(object({ secretKey: '' }), KV2)), wholeSecretJson(KV2));
  });

  test('base64 and hex encodings are decoded; invalid input is refused without quoting it', () => {
    const response = { data: { b64: Buffer.from('hello-sync3').toString('base64'), hex: Buffer.from('hi').toString('hex'), bad: 'not-base64!' } };
    assert.equal(text(renderObject(object({ secretKey: 'b64', encoding: 'base64' }), response)), 'hello-sync3');
    assert.equal(text(renderObject(object({ secretKey: 'hex', encoding: 'hex' }), response)), 'hi');
    assert.throws(
      () => renderObject(object({ secretKey: 'bad', encoding: 'base64' }), response),
      (e: Error) => /not valid base64/.test(e.message) && !e.message.includes('not-base64!'),
    );
  });

  test('an empty answer and a wrapped answer are refused, never written', () => {
    assert.throws(() => renderObject(object({ secretKey: '' }), {}), { code: 'CM_BACKEND_NOT_FOUND', message: /empty response/ });
    assert.throws(() => renderObject(object({ secretKey: '' }), { data: null }), { code: 'CM_BACKEND_NOT_FOUND' });
    assert.throws(() => renderObject(object({ secretKey: '' }), { data: {}, wrap_info: { token: 'hvs.wrapping' } }), (e: Error) => /wrapped/.test(e.message) && !e.message.includes('hvs.'));
  });

  test('a missing key is NOT_FOUND naming key, path and object', () => {
    assert.throws(() => renderObject(object({ secretKey: 'nope' }), KV2), { code: 'CM_BACKEND_NOT_FOUND', message: /key "nope" at Vault path "secret\/data\/db" \(object "o"\)/ });
  });
});

describe('vault API URLs', () => {
  test('stay below /v1/ of the address, including a path prefix', () => {
    assert.equal(apiUrl('https://v.example:8200', 'secret/data/db', 'version=2'), 'https://v.example:8200/v1/secret/data/db?version=2');
    assert.equal(apiUrl('https://proxy.example/vault/', 'secret/data/db', ''), 'https://proxy.example/vault/v1/secret/data/db');
    for (const path of ['%2e%2e/%2e%2e/other/x', '../x', 'a/%2E%2E/%2e%2e/%2e%2e/x']) {
      assert.throws(() => apiUrl('https://proxy.example/vault', path, ''), /does not stay below the Vault API/, path);
    }
  });
});

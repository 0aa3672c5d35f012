import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceAccountUid } from '../../../src/providers/service-account-uid.js';

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: object) => `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.c2ln`;

test("serviceAccountUid reads the token's kubernetes.io.serviceaccount.uid, and '' for anything else", () => {
  const uid = '5b1f6c3e-7a0e-4f55-9d0a-2f7a3f1e9c11';
  assert.equal(serviceAccountUid(jwt({ sub: 'system:serviceaccount:demo:app', 'kubernetes.io': { namespace: 'demo', serviceaccount: { name: 'app', uid } } })), uid);
  assert.equal(serviceAccountUid(jwt({ 'kubernetes.io': { serviceaccount: { name: 'app' } } })), '');
  assert.equal(serviceAccountUid(jwt({ 'kubernetes.io': { serviceaccount: { uid: 42 } } })), '');
  assert.equal(serviceAccountUid(jwt({ sub: 'x' })), '');
  assert.equal(serviceAccountUid('not-a-jwt'), '');
});

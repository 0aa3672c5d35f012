import { Metadata, status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCodeOf, grpcCode, toServiceError } from '../../../src/csi/status-mapping.js';
import { Errors } from '../../../src/errors/catalogue.js';
import { CredmountError, type StatusName } from '../../../src/errors/credmount-error.js';

/** Every StatusName; `satisfies` makes the compiler flag a name added to the union but not here. */
const ALL_STATUSES = {
  INVALID_ARGUMENT: true,
  NOT_FOUND: true,
  ALREADY_EXISTS: true,
  ABORTED: true,
  PERMISSION_DENIED: true,
  UNAUTHENTICATED: true,
  FAILED_PRECONDITION: true,
  RESOURCE_EXHAUSTED: true,
  UNAVAILABLE: true,
  DEADLINE_EXCEEDED: true,
  INTERNAL: true,
} as const satisfies Record<StatusName, true>;
const STATUS_NAMES = Object.keys(ALL_STATUSES) as StatusName[];

const SECRET = 'hvs.CAESIJ-fake-vault-token-9f8e7d6c5b4a';

function errorCode(metadata: Metadata | undefined): unknown {
  assert.ok(metadata instanceof Metadata, 'the status carries metadata');
  return metadata.get('credmount-error-code')[0];
}

test('every StatusName maps to the @grpc/grpc-js status of the same name', () => {
  for (const name of STATUS_NAMES) {
    const expected = (status as unknown as Record<string, number>)[name];
    assert.equal(typeof expected, 'number', `@grpc/grpc-js has status ${name}`);
    assert.equal(grpcCode(name), expected, name);
  }
});

test('no StatusName maps to OK, UNKNOWN or UNIMPLEMENTED, and no two share a code', () => {
  const codes = STATUS_NAMES.map(grpcCode);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.ok(![status.OK, status.UNKNOWN, status.UNIMPLEMENTED].includes(code));
});

test('a coded error keeps its message and its code travels in credmount-error-code', () => {
  for (const name of STATUS_NAMES) {
    const error = new CredmountError(`CM_TEST_${name}`, name, `message for ${name}`);
    const mapped = toServiceError(error);
    assert.equal(mapped.code, status[name]);
    assert.equal(mapped.details, `message for ${name}`);
    assert.equal(errorCode(mapped.metadata), `CM_TEST_${name}`);
  }
});

test('a catalogue error maps to its status with its code', () => {
  const mapped = toServiceError(Errors.fieldMissing('volume_id'));
  assert.equal(mapped.code, status.INVALID_ARGUMENT);
  assert.equal(mapped.details, 'volume_id is required');
  assert.equal(errorCode(mapped.metadata), 'CM_FIELD_MISSING');
});

test('an uncoded Error becomes INTERNAL with a generic message that does not leak its text', () => {
  const error = new Error(`request to backend failed with Authorization: Bearer ${SECRET}`);
  const mapped = toServiceError(error);
  assert.equal(mapped.code, status.INTERNAL);
  assert.equal(typeof mapped.details, 'string');
  assert.ok(!(mapped.details ?? '').includes(SECRET), 'the secret is not in the details');
  assert.ok(!(mapped.details ?? '').includes('Bearer'), 'nothing of the original message is in the details');
  assert.equal(errorCode(mapped.metadata), 'CM_INTERNAL');
  assert.ok(!JSON.stringify(mapped.metadata?.getMap()).includes(SECRET), 'the secret is not in the metadata');
});

test('thrown non-Error values and look-alike objects are INTERNAL too', () => {
  const lookAlike = { code: 'CM_FIELD_MISSING', status: 'INVALID_ARGUMENT', message: SECRET };
  for (const value of [SECRET, undefined, null, 42, lookAlike, Object.assign(new Error(SECRET), { code: 'ENOENT' })]) {
    const mapped = toServiceError(value);
    assert.equal(mapped.code, status.INTERNAL);
    assert.ok(!(mapped.details ?? '').includes(SECRET));
    assert.equal(errorCode(mapped.metadata), 'CM_INTERNAL');
  }
});

test('errorCodeOf gives a coded error its code and anything else CM_INTERNAL', () => {
  assert.equal(errorCodeOf(Errors.volumeNotFound('csi-1')), 'CM_VOLUME_NOT_FOUND');
  assert.equal(errorCodeOf(new CredmountError('CM_CUSTOM', 'ABORTED', 'x')), 'CM_CUSTOM');
  assert.equal(errorCodeOf(new Error('boom')), 'CM_INTERNAL');
  assert.equal(errorCodeOf({ code: 'CM_FIELD_MISSING' }), 'CM_INTERNAL');
  assert.equal(errorCodeOf('CM_FIELD_MISSING'), 'CM_INTERNAL');
});

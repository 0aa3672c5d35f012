import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRfc3339, isDns1123Label, isDns1123Subdomain, isPodUid, parseRfc3339, parseVolumeMountGroup } from '../../../src/kubelet/index.js';

describe('parseRfc3339', () => {
  it('parses what Kubernetes writes, and other RFC 3339 forms', () => {
    assert.equal(parseRfc3339('2026-11-28T14:17:22Z')?.toISOString(), '2026-11-28T14:17:22.000Z');
    assert.equal(parseRfc3339('2026-11-28t14:17:22.5z')?.toISOString(), '2026-11-28T14:17:22.500Z');
    assert.equal(parseRfc3339('2026-11-28T15:17:22+01:00')?.toISOString(), '2026-11-28T14:17:22.000Z');
    assert.equal(parseRfc3339('2024-02-29T00:00:00Z')?.toISOString(), '2024-02-29T00:00:00.000Z');
    assert.equal(parseRfc3339('0050-01-01T00:00:00Z')?.getUTCFullYear(), 50);
  });

  it('refuses what is not RFC 3339', () => {
    for (const value of ['', '2026-11-28', '2026-11-28T14:17:22', '2026-11-28 14:17:22Z', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-28T24:00:00Z', '2026-11-28T14:17:60Z', '1795875442', 'tomorrow']) {
      assert.equal(parseRfc3339(value), undefined, value);
    }
  });

  it('formats like metav1.Time', () => {
    assert.equal(formatRfc3339(new Date(1795875442_000)), '2026-11-28T14:17:22Z');
  });
});

describe('parseVolumeMountGroup', () => {
  it('maps "" to undefined and decimal IDs to numbers', () => {
    assert.equal(parseVolumeMountGroup(''), undefined);
    assert.equal(parseVolumeMountGroup('2000'), 2000);
    assert.equal(parseVolumeMountGroup('0'), 0);
    assert.equal(parseVolumeMountGroup('2147483647'), 2147483647);
  });
  it('refuses anything else', () => {
    for (const value of ['-1', '2147483648', '99999999999', '0x10', '+5', '5 ', 'NaN']) {
      assert.throws(() => parseVolumeMountGroup(value), { code: 'CM_FIELD_INVALID', field: 'volume_capability.mount.volume_mount_group' }, value);
    }
  });
});

describe('Kubernetes names', () => {
  it('validates namespaces, names and UIDs', () => {
    assert.ok(isDns1123Label('payments'));
    assert.ok(!isDns1123Label('a'.repeat(64)));
    assert.ok(!isDns1123Label('pay.ments'));
    assert.ok(isDns1123Subdomain('billing-7d9f8c6b5-x2kqp'));
    assert.ok(isDns1123Subdomain('my.service.account'));
    assert.ok(!isDns1123Subdomain('Billing'));
    assert.ok(!isDns1123Subdomain(''));
    assert.ok(isPodUid('9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10'));
    assert.ok(isPodUid('0123456789abcdef0123456789abcdef'));
    assert.ok(!isPodUid('9f1c7a52/3d1e'));
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import * as asn1js from 'asn1js';
import { ipAddressBytes } from '../../../../src/providers/embedded/certificate-der.js';
import { generalizedTime, integer, objectIdentifier, octetString, readSubjectPublicKey, sequence, utcTime } from '../../../../src/providers/embedded/der.js';

/** asn1js as the independent reader of what der.ts writes. */
function read(der: Uint8Array): asn1js.AsnType {
  const parsed = asn1js.fromBER(der);
  assert.notEqual(parsed.offset, -1, parsed.result.error);
  assert.equal(parsed.offset, der.length, 'nothing after the value');
  return parsed.result;
}

describe('DER writer', () => {
  it('INTEGER: minimal, positive, a zero octet added only before a high bit', () => {
    assert.deepEqual([...integer(Uint8Array.of(0, 0, 5))], [0x02, 0x01, 0x05]);
    assert.deepEqual([...integer(Uint8Array.of(0x80))], [0x02, 0x02, 0x00, 0x80]);
    assert.deepEqual([...integer(Uint8Array.of(0))], [0x02, 0x01, 0x00]);
    const parsed = read(integer(Uint8Array.of(0x01, 0x00, 0x00))) as asn1js.Integer;
    assert.equal(parsed.valueBlock.valueDec, 65536);
  });

  it('OBJECT IDENTIFIER: multi-octet arcs', () => {
    for (const oid of ['1.2.840.10045.4.3.2', '2.5.29.37', '1.3.6.1.5.5.7.3.1', '2.999.16384']) {
      assert.equal((read(objectIdentifier(oid)) as asn1js.ObjectIdentifier).valueBlock.toString(), oid);
    }
  });

  it('long-form lengths (128, 255, 256, 70000 octets)', () => {
    for (const size of [127, 128, 255, 256, 70_000]) {
      const value = read(octetString(new Uint8Array(size).fill(7))) as asn1js.OctetString;
      assert.equal(value.valueBlock.valueHexView.length, size);
    }
    const nested = read(sequence(octetString(new Uint8Array(300)), integer(Uint8Array.of(1)))) as asn1js.Sequence;
    assert.equal(nested.valueBlock.value.length, 2);
  });

  it('times: UTCTime and GeneralizedTime in whole seconds, UTC', () => {
    const date = new Date('2049-12-31T23:59:58Z');
    assert.equal(Buffer.from(utcTime(date).subarray(2)).toString('ascii'), '491231235958Z');
    assert.equal((read(utcTime(date)) as asn1js.UTCTime).toDate().toISOString(), date.toISOString());
    const later = new Date('2050-01-01T00:00:01Z');
    assert.equal(Buffer.from(generalizedTime(later).subarray(2)).toString('ascii'), '20500101000001Z');
    assert.equal((read(generalizedTime(later)) as asn1js.GeneralizedTime).toDate().toISOString(), later.toISOString());
  });

  it('reads the public key bits out of SubjectPublicKeyInfo, and refuses what is not one', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const bits = readSubjectPublicKey(spki);
    assert.equal(bits.length, 65);
    assert.equal(bits[0], 0x04, 'an uncompressed point');
    const rsa = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }));
    assert.ok(readSubjectPublicKey(rsa).length > 256, 'long-form lengths too');
    assert.throws(() => readSubjectPublicKey(integer(Uint8Array.of(1))), /not a SubjectPublicKeyInfo/);
    assert.throws(() => readSubjectPublicKey(spki.subarray(0, 20)), /truncated/);
  });

  it('IP addresses as SAN octets: IPv4, IPv6 with ::, an IPv4 tail', () => {
    assert.deepEqual([...ipAddressBytes('192.0.2.1')], [192, 0, 2, 1]);
    assert.equal(Buffer.from(ipAddressBytes('2001:db8::1')).toString('hex'), '20010db8000000000000000000000001');
    assert.equal(Buffer.from(ipAddressBytes('::')).toString('hex'), '0'.repeat(32));
    assert.equal(Buffer.from(ipAddressBytes('::ffff:1.2.3.4')).toString('hex'), '00000000000000000000ffff01020304');
    assert.equal(Buffer.from(ipAddressBytes('fe80::')).toString('hex'), 'fe80' + '0'.repeat(28));
    assert.throws(() => ipAddressBytes('not-an-ip'), /not an IP address/);
  });
});

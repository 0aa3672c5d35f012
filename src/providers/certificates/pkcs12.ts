import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { ContentInfo } from '@peculiar/asn1-cms';
import { AuthenticatedSafe, CertBag, MacData, PFX, PKCS12Attribute, PKCS8ShroudedKeyBag, SafeBag, SafeContents, id_certBag, id_pkcs8ShroudedKeyBag, id_x509Certificate } from '@peculiar/asn1-pfx';
import { EncryptedData } from '@peculiar/asn1-pkcs8';
import { DigestInfo } from '@peculiar/asn1-rsa';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';

/**
 * `pkcs12-enable`: a PKCS#12 keystore (RFC 7292) with the key and the chain, for Java and .NET
 * applications. csi-driver writes go-pkcs12's `LegacyRC2` encoding; credmount writes what every
 * reader of that format also reads without OpenSSL's legacy provider:
 * - the key in a pkcs8ShroudedKeyBag, encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC;
 * - the certificates in plain certBags (they are public; RC2-40 "encryption" protected nothing);
 * - both bags tagged with localKeyId = SHA-1 of the leaf, so readers pair key and certificate;
 * - an HMAC-SHA1 MAC over the whole, keyed from the password (the PKCS#12 KDF, 2048 iterations).
 */
const OID = {
  data: '1.2.840.113549.1.7.1',
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;
const ITERATIONS = 2048;

/** The keystore for a PKCS#8 DER key and a PEM chain (leaf first). */
export function createPkcs12(keyPkcs8Der: Uint8Array, chainPem: readonly string[], password: string): Uint8Array {
  const certificates = chainPem.map(pemToDer);
  const leaf = certificates[0];
  if (leaf === undefined) throw new Error('no certificate for the keystore');
  // PKCS12Attribute's constructor ignores its argument (asn1-pfx 2.11.1): set the fields.
  const localKeyId = new PKCS12Attribute();
  localKeyId.attrId = OID.localKeyId;
  localKeyId.attrValues = [AsnConvert.serialize(new OctetString(createHash('sha1').update(leaf).digest()))];
  const secret = bmpPassword(password);

  // 1. certificates, in a plain SafeContents
  const certBags = certificates.map(
    (der, index) =>
      new SafeBag({
        bagId: id_certBag,
        bagValue: AsnConvert.serialize(new CertBag({ certId: id_x509Certificate, certValue: AsnConvert.serialize(new OctetString(der)) })),
        ...(index === 0 ? { bagAttributes: [localKeyId] } : {}),
      }),
  );
  // 2. the key, encrypted with the password
  const salt = randomBytes(8);
  const key = pkcs12Kdf(secret, salt, 1, ITERATIONS, 24);
  const iv = pkcs12Kdf(secret, salt, 2, ITERATIONS, 8);
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(keyPkcs8Der), cipher.final()]);
  const pbeParams = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: salt }), new asn1js.Integer({ value: ITERATIONS })] }).toBER();
  const keyBag = new SafeBag({
    bagId: id_pkcs8ShroudedKeyBag,
    bagValue: AsnConvert.serialize(new PKCS8ShroudedKeyBag({ encryptionAlgorithm: new AlgorithmIdentifier({ algorithm: OID.pbeSha1TripleDes, parameters: pbeParams }), encryptedData: new EncryptedData(encrypted) })),
    bagAttributes: [localKeyId],
  });
  // 3. the authenticated safe: two data ContentInfos
  const dataInfo = (der: ArrayBuffer) => new ContentInfo({ contentType: OID.data, content: AsnConvert.serialize(new OctetString(der)) });
  const authSafeDer = AsnConvert.serialize(new AuthenticatedSafe([dataInfo(AsnConvert.serialize(new SafeContents(certBags))), dataInfo(AsnConvert.serialize(new SafeContents([keyBag])))]));
  // 4. the MAC over the authenticated safe's content
  const macSalt = randomBytes(8);
  const macKey = pkcs12Kdf(secret, macSalt, 3, ITERATIONS, 20);
  const mac = createHmac('sha1', macKey).update(Buffer.from(authSafeDer)).digest();
  const pfx = new PFX({
    version: 3,
    authSafe: dataInfo(authSafeDer),
    macData: new MacData({ mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: OID.sha1, parameters: null }), digest: new OctetString(mac) }), macSalt: new OctetString(macSalt), iterations: ITERATIONS }),
  });
  return new Uint8Array(AsnConvert.serialize(pfx));
}

/** RFC 7292 B.1: the password as a BMPString (UTF-16BE) with a two-byte terminator. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 B.2 with SHA-1 (u = 20, v = 64): key material of `size` bytes for purpose `id` (1 key, 2 IV, 3 MAC). */
export function pkcs12Kdf(password: Buffer, salt: Buffer, id: 1 | 2 | 3, iterations: number, size: number): Buffer {
  const u = 20;
  const v = 64;
  const fill = (source: Buffer): Buffer => {
    if (source.length === 0) return Buffer.alloc(0);
    const length = v * Math.ceil(source.length / v);
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = source[i % source.length] as number;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < size; produced += u) {
    let A = createHash('sha1').update(D).update(I).digest();
    for (let round = 1; round < iterations; round++) A = createHash('sha1').update(A).digest();
    blocks.push(A);
    // I_j = (I_j + B + 1) mod 2^(v·8) for every v-byte block of I, B = A repeated to v bytes
    const B = fill(A);
    for (let offset = 0; offset < I.length; offset += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[offset + k] as number) + (B[k] as number) + carry;
        I[offset + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, size);
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');
}

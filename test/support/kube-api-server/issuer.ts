/**
 * A cert-manager CA issuer as seen through CertificateRequests: signs the CSR with an in-memory
 * ECDSA P-256 root, as cert-manager's CA issuer does (pkg/issuer/ca, pkg/util/pki): subject and
 * SANs from the CSR, NotBefore = now (no back-dating), NotAfter = now + spec.duration, key usages
 * and extended key usages from spec.usages, the CA flag from spec.isCA.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { x509 } from '../../../src/providers/x509.js';
import { x509Usages } from '../../../src/providers/certificates/key-usages.js';

const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export class TestCa {
  private constructor(
    readonly certificate: x509.X509Certificate,
    private readonly key: webcrypto.CryptoKey,
    readonly pem: string,
  ) {}

  static async create(name: string, now: number): Promise<TestCa> {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
      name: `CN=${name}`,
      notBefore: new Date(Math.floor(now / 1000) * 1000 - 86_400_000),
      notAfter: new Date(Math.floor(now / 1000) * 1000 + 10 * 365 * 86_400_000),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    return new TestCa(certificate, keys.privateKey, certificate.toString('pem'));
  }

  async sign(csr: x509.Pkcs10CertificateRequest, durationMs: number, usages: readonly string[], isCA: boolean, now: number): Promise<x509.X509Certificate> {
    const start = Math.floor(now / 1000) * 1000;
    const { flags, extended } = x509Usages(usages);
    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCA, undefined, true)];
    if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));
    if (extended.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
    const san = csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension);
    if (san !== undefined) extensions.push(san);
    return x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString('hex').replace(/^./, '4'),
      subject: csr.subjectName,
      issuer: this.certificate.subject,
      notBefore: new Date(start),
      notAfter: new Date(start + durationMs),
      publicKey: csr.publicKey,
      signingKey: this.key,
      signingAlgorithm: SIGNING,
      extensions,
    });
  }
}

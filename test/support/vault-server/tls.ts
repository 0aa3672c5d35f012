/**
 * Certificates for the HTTPS listener: a server CA and a server certificate for `localhost` and
 * 127.0.0.1, and a client CA with one client certificate. ECDSA P-256. Validity is on the wall
 * clock (TLS handshakes check real time), an hour back to a day ahead.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { x509 } from '../../../src/providers/x509.js';

type KeyPair = { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };

const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface TlsMaterial {
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCaPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

export async function createTlsMaterial(dnsNames: readonly string[]): Promise<TlsMaterial> {
  const serverCa = await authority('vault-test-server TLS CA');
  const server = await leaf(serverCa, 'localhost', [
    ...['localhost', ...dnsNames].map((value) => ({ type: 'dns' as const, value })),
    { type: 'ip' as const, value: '127.0.0.1' },
  ], x509.ExtendedKeyUsage.serverAuth);
  const clientCa = await authority('vault-test-server client CA');
  const client = await leaf(clientCa, 'vault-test-client', [], x509.ExtendedKeyUsage.clientAuth);
  return {
    caPem: serverCa.pem,
    serverCertPem: server.pem,
    serverKeyPem: server.keyPem,
    clientCaPem: clientCa.pem,
    clientCertPem: client.pem,
    clientKeyPem: client.keyPem,
  };
}

interface Issued {
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  readonly pem: string;
  readonly keyPem: string;
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) };
}

async function keyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as KeyPair;
}

async function authority(commonName: string): Promise<Issued> {
  const keys = await keyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^./, '4'),
    name: `CN=${commonName}`,
    ...validity(),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys, pem: certificate.toString('pem'), keyPem: exportKey(keys.privateKey) };
}

async function leaf(ca: Issued, commonName: string, sans: { type: 'dns' | 'ip'; value: string }[], usage: x509.ExtendedKeyUsage): Promise<Issued> {
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex').replace(/^./, '4'),
    subject: `CN=${commonName}`,
    issuer: ca.certificate.subject,
    ...validity(),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { certificate, keys, pem: certificate.toString('pem'), keyPem: exportKey(keys.privateKey) };
}

function exportKey(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

import { Errors } from '../../errors/catalogue.js';
import { x509 } from '../x509.js';
import { Attr } from './attributes.js';
import type { CertificateSpec, SubjectSpec } from './certificate-spec.js';
import type { NodeKey } from './key-material.js';
import { KEY_USAGE_BITS, x509Usages } from './key-usages.js';

/**
 * The PKCS#10 request for a volume, as csi-driver builds it (pkg/requestgen): the subject (a
 * literal one, or the CN and multi-valued fields in Go's pkix.Name order), the SANs, and the
 * requested key usages, extended key usages and CA flag as extensions, signed with the node key
 * (proof of possession). The private key never goes into it.
 */
export async function createCsr(spec: CertificateSpec, key: NodeKey): Promise<x509.Pkcs10CertificateRequest> {
  const extensions: x509.Extension[] = [];
  const sans = [
    ...spec.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...spec.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...spec.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  const name = subjectName(spec.subject);
  // RFC 5280 4.2.1.6: with an empty subject the SAN extension is critical.
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, name.toArrayBuffer().byteLength <= 2));
  const usages = x509Usages(spec.keyUsages);
  // As cert-manager's pki.BuildKeyUsages: a CA's key signs certificates. Its webhook adds
  // "cert sign" to spec.usages when isCA and refuses a CSR whose usages then differ.
  const flags = spec.isCA ? usages.flags | (KEY_USAGE_BITS['cert sign'] as number) : usages.flags;
  if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));
  if (usages.extended.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(usages.extended));
  if (spec.isCA) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  return x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: key.signingAlgorithm,
    extensions,
  });
}

/** Go's pkix.Name.ToRDNSequence order: C, ST, L, street, postalCode, O, OU, CN, serialNumber. */
export function subjectName(subject: SubjectSpec): x509.Name {
  if (subject.literal !== undefined) {
    try {
      return new x509.Name(subject.literal);
    } catch (error) {
      throw Errors.parameterInvalid(Attr.literalSubject, `not an RFC 4514 distinguished name: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const rdns: Record<string, string[]>[] = [];
  const add = (type: string, values: readonly string[]) => {
    if (values.length > 0) rdns.push({ [type]: [...values] });
  };
  add('C', subject.countries);
  add('ST', subject.provinces);
  add('L', subject.localities);
  add('2.5.4.9', subject.streetAddresses);
  add('2.5.4.17', subject.postalCodes);
  add('O', subject.organizations);
  add('OU', subject.organizationalUnits);
  if (subject.commonName !== undefined) add('CN', [subject.commonName]);
  if (subject.serialNumber !== undefined) add('2.5.4.5', [subject.serialNumber]);
  return new x509.Name(rdns);
}

/** The CSR as PEM (what cert-manager's `spec.request` holds base64-encoded, and Vault's `csr`). */
export function csrPem(csr: x509.Pkcs10CertificateRequest): string {
  return csr.toString('pem');
}

import { Errors } from '../../../errors/catalogue.js';
import type { DevCa } from '../../embedded/dev-ca.js';
import { subjectName } from '../csr.js';
import { x509Usages } from '../key-usages.js';
import type { SignedCertificate, SignInput, Signer } from './signer.js';

/**
 * The built-in development CA (the embedded provider's DevCa, one per driver process, its key
 * held only in memory and never exported). Signs whatever names the volume asks for: for demos
 * and development, never for production trust.
 */
export class DevCaSigner implements Signer {
  private ca: Promise<DevCa> | undefined;

  constructor(private readonly now: () => Date) {}

  async sign(input: SignInput): Promise<SignedCertificate> {
    const { spec } = input;
    // The dev CA's root has pathLen 0: a CA certificate it signed would not verify anywhere.
    if (spec.isCA) throw Errors.backendRejected('the development CA', 'it does not issue CA certificates (is-ca: "true"); use cert-manager or Vault');
    const ca = await this.load();
    const usages = x509Usages(spec.keyUsages);
    const certificate = await ca.sign({
      csr: input.csr,
      commonName: spec.subject.commonName,
      dnsNames: spec.dnsNames,
      ipAddresses: spec.ipAddresses,
      uris: spec.uris,
      ttlMs: spec.durationMs,
      now: input.now,
      subject: subjectName(spec.subject),
      keyUsages: usages.flags,
      extendedKeyUsages: usages.extended,
    });
    return { chainPem: certificate.pem, caPem: ca.certificatePem() };
  }

  /** The CA is made on the first certificate. */
  private load(): Promise<DevCa> {
    this.ca ??= import('../../embedded/dev-ca.js').then(({ DevCa }) => DevCa.create({ now: this.now() }));
    this.ca.catch(() => {
      this.ca = undefined;
    });
    return this.ca;
  }
}

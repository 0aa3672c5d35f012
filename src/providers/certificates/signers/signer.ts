import type { PodIdentity, TokenSet } from '../../provider.js';
import type { x509 } from '../../x509.js';
import type { CertificateSpec } from '../certificate-spec.js';

/** One CSR to sign, as the pod. The private key is not part of it. */
export interface SignInput {
  readonly volumeId: string;
  readonly spec: CertificateSpec;
  readonly csr: x509.Pkcs10CertificateRequest;
  readonly csrPem: string;
  readonly identity: PodIdentity;
  readonly tokens: TokenSet;
  readonly now: Date;
  readonly signal: AbortSignal;
}

export interface SignedCertificate {
  /** The leaf first, then any intermediates: what the pod gets as `tls.crt`. */
  readonly chainPem: string;
  /** The trust bundle: `ca.crt`. */
  readonly caPem: string;
}

/** A backend that turns a CSR into a certificate. Throws CredmountError. */
export interface Signer {
  sign(input: SignInput): Promise<SignedCertificate>;
  /** The volume is gone: abandon what is in flight for it. */
  release?(volumeId: string): void;
  close?(): Promise<void>;
}

/**
 * What one certificate volume asks for, after defaults, validation and templating. Built by
 * `parseCertificateAttributes` from cert-manager csi-driver's volume attributes.
 */
export type KeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';
export type KeyEncoding = 'PKCS1' | 'PKCS8';
/** Which backend signs: a cert-manager CertificateRequest, Vault PKI `sign/<role>`, or the built-in development CA. */
export type SignerKind = 'cert-manager' | 'vault' | 'dev-ca';

export interface IssuerRef {
  readonly name: string;
  readonly kind: string;
  readonly group: string;
}

/** The subject: either a literal RFC 4514 string, or a CN plus csi-driver's multi-valued fields. */
export interface SubjectSpec {
  readonly literal: string | undefined;
  readonly commonName: string | undefined;
  readonly organizations: readonly string[];
  readonly organizationalUnits: readonly string[];
  readonly countries: readonly string[];
  readonly provinces: readonly string[];
  readonly localities: readonly string[];
  readonly streetAddresses: readonly string[];
  readonly postalCodes: readonly string[];
  readonly serialNumber: string | undefined;
}

export interface VaultSignerSpec {
  readonly address: string;
  readonly authMountPath: string;
  /** The Vault auth role to log in as. */
  readonly loginRole: string;
  readonly audience: string;
  readonly pkiMount: string;
  /** The PKI role: `<pkiMount>/sign/<role>`. */
  readonly role: string;
}

export interface OutputFiles {
  readonly certificate: string;
  readonly privateKey: string;
  readonly ca: string;
  readonly pkcs12: { readonly file: string; readonly password: string } | undefined;
}

export interface CertificateSpec {
  readonly signer: SignerKind;
  readonly issuer: IssuerRef;
  readonly subject: SubjectSpec;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  readonly durationMs: number;
  /** `renew-before`; undefined: renew at 2/3 of the lifetime. */
  readonly renewBeforeMs: number | undefined;
  readonly isCA: boolean;
  /** cert-manager usage names, e.g. `digital signature`, `server auth`. */
  readonly keyUsages: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  /** RSA bits or ECDSA curve size; undefined for Ed25519. */
  readonly keySize: number | undefined;
  readonly keyEncoding: KeyEncoding;
  readonly reusePrivateKey: boolean;
  readonly files: OutputFiles;
  /** `fs-group`: files become 0640 (csi-lib's mode for group-owned files). */
  readonly fsGroup: number | undefined;
  /** Attributes of other domains, copied onto the CertificateRequest as annotations (as csi-driver does). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly vault: VaultSignerSpec | undefined;
  /** The token audience the signer needs; undefined for the development CA. */
  readonly audience: string | undefined;
}

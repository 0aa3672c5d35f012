import { isIP } from 'node:net';
import { Errors } from '../../errors/catalogue.js';
import type { CredmountError } from '../../errors/credmount-error.js';
import type { PodIdentity } from '../provider.js';
import type { CertificateSpec, IssuerRef, KeyAlgorithm, KeyEncoding, SignerKind, SubjectSpec, VaultSignerSpec } from './certificate-spec.js';
import { formatGoDuration, parseGoDuration } from './go-duration.js';
import { KEY_USAGES } from './key-usages.js';
import { expandTemplate, TEMPLATE_VARIABLES } from './templating.js';

/**
 * cert-manager csi-driver's volume attributes (pkg/apis/v1alpha1/types.go), with its defaults
 * (pkg/apis/defaults/defaults.go) and checks (pkg/apis/validation/validation.go), so that a pod
 * written for csi-driver works with only the driver name changed. docs/cert-manager-csi-compat.md
 * lists every attribute, its default and where upstream defines it.
 *
 * Differences, all stricter: unknown `csi.cert-manager.io/*` keys, empty list items and
 * attributes without a domain are refused instead of ignored (they hide typos).
 */
export const CSI_PREFIX = 'csi.cert-manager.io/';
/** credmount's own additions (signer selection, SPIFFE, Vault PKI); never copied as annotations. */
export const CREDMOUNT_PREFIX = 'credmount.dev/';
/** The issuer group that selects a signer built into credmount instead of cert-manager. */
export const CREDMOUNT_ISSUER_GROUP = 'credmount.dev';

export const Attr = {
  issuerName: `${CSI_PREFIX}issuer-name`,
  issuerKind: `${CSI_PREFIX}issuer-kind`,
  issuerGroup: `${CSI_PREFIX}issuer-group`,
  literalSubject: `${CSI_PREFIX}literal-subject`,
  commonName: `${CSI_PREFIX}common-name`,
  organizations: `${CSI_PREFIX}organizations`,
  organizationalUnits: `${CSI_PREFIX}organizationalunits`,
  countries: `${CSI_PREFIX}countries`,
  provinces: `${CSI_PREFIX}provinces`,
  localities: `${CSI_PREFIX}localities`,
  streetAddresses: `${CSI_PREFIX}streetaddresses`,
  postalCodes: `${CSI_PREFIX}postalcodes`,
  serialNumber: `${CSI_PREFIX}serialnumber`,
  dnsNames: `${CSI_PREFIX}dns-names`,
  ipSans: `${CSI_PREFIX}ip-sans`,
  uriSans: `${CSI_PREFIX}uri-sans`,
  duration: `${CSI_PREFIX}duration`,
  isCA: `${CSI_PREFIX}is-ca`,
  keyUsages: `${CSI_PREFIX}key-usages`,
  keyAlgorithm: `${CSI_PREFIX}key-algorithm`,
  keyEncoding: `${CSI_PREFIX}key-encoding`,
  keySize: `${CSI_PREFIX}key-size`,
  caFile: `${CSI_PREFIX}ca-file`,
  certFile: `${CSI_PREFIX}certificate-file`,
  keyFile: `${CSI_PREFIX}privatekey-file`,
  fsGroup: `${CSI_PREFIX}fs-group`,
  renewBefore: `${CSI_PREFIX}renew-before`,
  reusePrivateKey: `${CSI_PREFIX}reuse-private-key`,
  pkcs12Enable: `${CSI_PREFIX}pkcs12-enable`,
  pkcs12File: `${CSI_PREFIX}pkcs12-filename`,
  pkcs12Password: `${CSI_PREFIX}pkcs12-password`,
  // credmount additions
  spiffeTrustDomain: `${CREDMOUNT_PREFIX}spiffe-trust-domain`,
  vaultAddress: `${CREDMOUNT_PREFIX}vault-address`,
  vaultAuthMount: `${CREDMOUNT_PREFIX}vault-auth-mount`,
  vaultRole: `${CREDMOUNT_PREFIX}vault-role`,
  vaultAudience: `${CREDMOUNT_PREFIX}vault-audience`,
  vaultPkiMount: `${CREDMOUNT_PREFIX}vault-pki-mount`,
} as const;

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.values(Attr));

/** cert-manager's `DefaultCertificateDuration` (90 days), as csi-driver defaults `duration`. */
export const DEFAULT_DURATION_MS = 2160 * 3_600_000;
/** csi-driver's default key usages. */
export const DEFAULT_KEY_USAGES = ['digital signature', 'key encipherment'] as const;
/** cert-manager's `pki.MinRSAKeySize` / `MaxRSAKeySize`. */
const RSA_SIZES = { min: 2048, max: 8192 } as const;
const EC_SIZES = [256, 384, 521] as const;
/** cert-manager refuses certificates shorter than this (`cmapi.MinimumCertificateDuration` is 1 h); credmount allows short-lived ones down to a minute. */
const MIN_DURATION_MS = 60_000;

export interface AttributeDefaults {
  /** For `credmount.dev` VaultPKI issuers. */
  readonly vaultAddress: string;
  readonly vaultAuthMountPath: string;
  readonly vaultAudience: string;
  readonly vaultPkiMount: string;
  /** Addresses a volume may name besides the default (`*`: any). */
  readonly vaultAllowedAddresses: readonly string[];
  /** Longest certificate a volume may ask for. */
  readonly maxDurationMs: number;
}

/** Validate and default a certificate volume's attributes. Pure; throws INVALID_ARGUMENT naming the attribute. */
export function parseCertificateAttributes(raw: Readonly<Record<string, string>>, identity: PodIdentity, defaults: AttributeDefaults): CertificateSpec {
  const attrs = new Map<string, string>();
  const annotations: Record<string, string> = {};
  // 1. sort the keys: ours, kubelet's (ignored), other domains (annotations), unknown
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('csi.storage.k8s.io/')) continue;
    if (KNOWN_KEYS.has(key)) attrs.set(key, value);
    else if (key.startsWith(CSI_PREFIX) || key.startsWith(CREDMOUNT_PREFIX)) throw invalid(key, `unknown attribute (known: ${[...KNOWN_KEYS].filter((k) => k.startsWith(key.startsWith(CSI_PREFIX) ? CSI_PREFIX : CREDMOUNT_PREFIX)).join(', ')})`);
    else if (key.includes('/')) annotations[key] = value;
    else throw invalid(key, `not a certificate attribute: certificate volumes take ${CSI_PREFIX}* attributes (set provider: to use another provider)`);
  }
  const get = (key: string): string | undefined => {
    const value = attrs.get(key);
    return value === undefined || value === '' ? undefined : value;
  };

  // 2. issuer, and from it the signer
  const issuerName = get(Attr.issuerName);
  if (issuerName === undefined) throw Errors.parameterInvalid(Attr.issuerName, 'is required: the name of the issuer that signs the certificate');
  const issuer: IssuerRef = { name: issuerName, kind: get(Attr.issuerKind) ?? 'Issuer', group: get(Attr.issuerGroup) ?? 'cert-manager.io' };
  const signer = signerFor(issuer);

  // 3. key: algorithm (case-insensitive, default RSA), then size and encoding defaults by algorithm
  const keyAlgorithm = parseAlgorithm(get(Attr.keyAlgorithm));
  const keyEncoding = parseEncoding(get(Attr.keyEncoding), keyAlgorithm);
  const keySize = parseKeySize(get(Attr.keySize), keyAlgorithm);

  // 4. lifetime and renewal
  const durationMs = goDuration(Attr.duration, get(Attr.duration)) ?? DEFAULT_DURATION_MS;
  if (durationMs < MIN_DURATION_MS) throw invalid(Attr.duration, `${formatGoDuration(durationMs)} is shorter than the minimum of 1m`);
  if (durationMs > defaults.maxDurationMs) throw invalid(Attr.duration, `${formatGoDuration(durationMs)} is longer than this driver allows (${formatGoDuration(defaults.maxDurationMs)})`);
  const renewBeforeMs = goDuration(Attr.renewBefore, get(Attr.renewBefore));
  if (renewBeforeMs !== undefined && renewBeforeMs <= 0) throw invalid(Attr.renewBefore, 'must be longer than zero');

  // 5. names, templated with the pod's identity
  const template = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const expanded = expandTemplate(value, identity);
    if ('unknown' in expanded) throw invalid(key, `undefined variable ${expanded.unknown.map((v) => JSON.stringify(v)).join(', ')}; known variables: ${TEMPLATE_VARIABLES.join(', ')}`);
    return expanded.value;
  };
  const subject = parseSubject(template);
  const dnsNames = splitList(Attr.dnsNames, template(Attr.dnsNames)).map((name) => ia5(Attr.dnsNames, name));
  const ipAddresses = splitList(Attr.ipSans, get(Attr.ipSans)).map((ip) => {
    if (isIP(ip) === 0) throw invalid(Attr.ipSans, `${JSON.stringify(ip)} is not an IP address`);
    return ip;
  });
  const uris = splitList(Attr.uriSans, template(Attr.uriSans)).map((uri) => checkUri(Attr.uriSans, ia5(Attr.uriSans, uri)));
  const trustDomain = get(Attr.spiffeTrustDomain);
  if (trustDomain !== undefined) {
    if (!/^[a-z0-9._-]+$/.test(trustDomain)) throw invalid(Attr.spiffeTrustDomain, 'a SPIFFE trust domain is lower-case letters, digits, ".", "-" and "_"');
    uris.push(`spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccountName}`);
  }
  if (subject.commonName === undefined && subject.literal === undefined && dnsNames.length + ipAddresses.length + uris.length === 0) {
    throw invalid(Attr.commonName, `a certificate needs a common name or at least one of ${Attr.dnsNames}, ${Attr.ipSans}, ${Attr.uriSans}, ${Attr.spiffeTrustDomain}`);
  }

  // 6. usages and flags
  const keyUsages = (get(Attr.keyUsages)?.split(',') ?? [...DEFAULT_KEY_USAGES]).map((u) => u.trim());
  for (const usage of keyUsages) if (!KEY_USAGES.has(usage)) throw invalid(Attr.keyUsages, `${JSON.stringify(usage)} is not a valid key usage (cert-manager names, e.g. "digital signature", "server auth")`);
  const isCA = parseBool(Attr.isCA, get(Attr.isCA)) ?? false;
  const reusePrivateKey = parseBool(Attr.reusePrivateKey, get(Attr.reusePrivateKey)) ?? false;

  // 7. files: names, uniqueness, PKCS#12
  const files = parseFiles(attrs, get);
  const fsGroupText = get(Attr.fsGroup);
  let fsGroup: number | undefined;
  if (fsGroupText !== undefined) {
    fsGroup = /^\d+$/.test(fsGroupText) ? Number(fsGroupText) : Number.NaN;
    if (!Number.isSafeInteger(fsGroup) || fsGroup <= 0 || fsGroup > 0xfffffffe) throw invalid(Attr.fsGroup, `${JSON.stringify(fsGroupText)} is not a group id (an integer from 1 to 4294967294)`);
  }

  // 8. Vault PKI settings (only for credmount.dev VaultPKI issuers)
  const vault = signer === 'vault' ? parseVault(issuer, get, defaults) : undefined;
  if (signer !== 'vault') {
    for (const key of [Attr.vaultAddress, Attr.vaultAuthMount, Attr.vaultRole, Attr.vaultAudience, Attr.vaultPkiMount]) {
      if (attrs.has(key)) throw invalid(key, `applies only to issuer-kind VaultPKI with issuer-group ${CREDMOUNT_ISSUER_GROUP}`);
    }
  }

  return {
    signer,
    issuer,
    subject,
    dnsNames,
    ipAddresses,
    uris,
    durationMs,
    renewBeforeMs,
    isCA,
    keyUsages,
    keyAlgorithm,
    keySize,
    keyEncoding,
    reusePrivateKey,
    files,
    fsGroup,
    annotations,
    vault,
    audience: signer === 'cert-manager' ? '' : signer === 'vault' ? vault?.audience : undefined,
  };
}

function signerFor(issuer: IssuerRef): SignerKind {
  if (issuer.group !== CREDMOUNT_ISSUER_GROUP) return 'cert-manager';
  if (issuer.kind === 'DevCA') return 'dev-ca';
  if (issuer.kind === 'VaultPKI') return 'vault';
  throw invalid(Attr.issuerKind, `issuer group ${CREDMOUNT_ISSUER_GROUP} has the kinds DevCA and VaultPKI, not ${JSON.stringify(issuer.kind)}`);
}

function parseAlgorithm(value: string | undefined): KeyAlgorithm {
  if (value === undefined) return 'RSA';
  const found = (['RSA', 'ECDSA', 'Ed25519'] as const).find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw invalid(Attr.keyAlgorithm, `${JSON.stringify(value)} is not supported (RSA, ECDSA, Ed25519)`);
  return found;
}

function parseEncoding(value: string | undefined, algorithm: KeyAlgorithm): KeyEncoding {
  if (value === undefined) return algorithm === 'RSA' ? 'PKCS1' : 'PKCS8';
  const found = (['PKCS1', 'PKCS8'] as const).find((e) => e.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw invalid(Attr.keyEncoding, `${JSON.stringify(value)} is not supported (PKCS1, PKCS8)`);
  if (found === 'PKCS1' && algorithm !== 'RSA') throw invalid(Attr.keyEncoding, `PKCS1 cannot be used with ${algorithm}; use PKCS8`);
  return found;
}

function parseKeySize(value: string | undefined, algorithm: KeyAlgorithm): number | undefined {
  if (algorithm === 'Ed25519') {
    if (value !== undefined) throw invalid(Attr.keySize, 'must be empty when the key algorithm is Ed25519');
    return undefined;
  }
  if (value === undefined) return algorithm === 'RSA' ? 2048 : 256;
  const size = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (algorithm === 'RSA') {
    if (!Number.isSafeInteger(size) || size < RSA_SIZES.min || size > RSA_SIZES.max || size % 8 !== 0) {
      throw invalid(Attr.keySize, `${JSON.stringify(value)} is not an RSA key size (a multiple of 8 from ${RSA_SIZES.min} to ${RSA_SIZES.max}; usually 2048 or 4096)`);
    }
    return size;
  }
  if (!(EC_SIZES as readonly number[]).includes(size)) throw invalid(Attr.keySize, `${JSON.stringify(value)} is not an ECDSA curve size (256, 384, 521)`);
  return size;
}

function parseSubject(template: (key: string) => string | undefined): SubjectSpec {
  const list = (key: string): string[] => splitEscaped(key, template(key));
  const literal = template(Attr.literalSubject);
  const subject: SubjectSpec = {
    literal,
    commonName: template(Attr.commonName),
    organizations: list(Attr.organizations),
    organizationalUnits: list(Attr.organizationalUnits),
    countries: list(Attr.countries),
    provinces: list(Attr.provinces),
    localities: list(Attr.localities),
    streetAddresses: list(Attr.streetAddresses),
    postalCodes: list(Attr.postalCodes),
    serialNumber: template(Attr.serialNumber),
  };
  if (literal !== undefined) {
    // As upstream: a literal subject replaces every other subject field.
    const mixed = [Attr.commonName, Attr.organizations, Attr.organizationalUnits, Attr.countries, Attr.provinces, Attr.localities, Attr.streetAddresses, Attr.postalCodes, Attr.serialNumber].find(
      (key) => template(key) !== undefined,
    );
    if (mixed !== undefined) throw invalid(mixed, `cannot be combined with ${Attr.literalSubject}, which sets the whole subject`);
  }
  return subject;
}

function parseFiles(attrs: ReadonlyMap<string, string>, get: (key: string) => string | undefined): CertificateSpec['files'] {
  const certificate = fileName(Attr.certFile, get(Attr.certFile) ?? 'tls.crt');
  const privateKey = fileName(Attr.keyFile, get(Attr.keyFile) ?? 'tls.key');
  const ca = fileName(Attr.caFile, get(Attr.caFile) ?? 'ca.crt');
  let pkcs12: CertificateSpec['files']['pkcs12'];
  const enable = attrs.get(Attr.pkcs12Enable);
  if (enable !== undefined && enable !== '') {
    if (enable !== 'true' && enable !== 'false') throw invalid(Attr.pkcs12Enable, 'must be "true" or "false"');
    const password = attrs.get(Attr.pkcs12Password);
    if (password === undefined || password === '') throw invalid(Attr.pkcs12Password, `is required when ${Attr.pkcs12Enable} is set`);
    const file = fileName(Attr.pkcs12File, get(Attr.pkcs12File) ?? 'keystore.p12');
    if (enable === 'true') pkcs12 = { file, password };
  } else {
    for (const key of [Attr.pkcs12File, Attr.pkcs12Password]) if (attrs.has(key)) throw invalid(key, `cannot be used without ${Attr.pkcs12Enable} set to "true" or "false"`);
  }
  const names: [string, string][] = [
    [Attr.certFile, certificate],
    [Attr.keyFile, privateKey],
    [Attr.caFile, ca],
    ...(pkcs12 === undefined ? [] : ([[Attr.pkcs12File, pkcs12.file]] as [string, string][])),
  ];
  for (const [i, [key, name]] of names.entries()) {
    const other = names.slice(0, i).find(([, n]) => n === name);
    if (other !== undefined) throw invalid(key, `${JSON.stringify(name)} is also the name of ${other[0]}`);
  }
  return { certificate, privateKey, ca, pkcs12 };
}

/** validation.go `filename`: relative, no `/`, not starting with `..`, ≤ 255, no outer spaces. */
function fileName(key: string, name: string): string {
  if (name.startsWith('/')) throw invalid(key, 'must not be an absolute path');
  if (name.startsWith('..')) throw invalid(key, "must not start with '..'");
  if (name.includes('/')) throw invalid(key, "must not include '/'");
  if (name.length > 255) throw invalid(key, 'must be no longer than 255 characters');
  if (name !== name.trim()) throw invalid(key, 'must not have leading or trailing spaces');
  if (name === '.' || name.startsWith('..data') || name.includes('\0')) throw invalid(key, `${JSON.stringify(name)} is reserved`);
  return name;
}

function parseVault(issuer: IssuerRef, get: (key: string) => string | undefined, defaults: AttributeDefaults): VaultSignerSpec {
  const address = get(Attr.vaultAddress) ?? defaults.vaultAddress;
  if (address === '') throw invalid(Attr.vaultAddress, 'is required: the driver has no --vault-address');
  if (!URL.canParse(address) || !/^https?:$/.test(new URL(address).protocol)) throw invalid(Attr.vaultAddress, 'must be an http(s) URL');
  const origin = new URL(address).origin;
  if (address !== defaults.vaultAddress && !defaults.vaultAllowedAddresses.includes('*') && !defaults.vaultAllowedAddresses.some((a) => URL.canParse(a) && new URL(a).origin === origin)) {
    throw invalid(Attr.vaultAddress, `${origin} is not the driver's --vault-address nor in --vault-allowed-addresses`);
  }
  const path = (key: string, value: string): string => {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value) || value.split('/').some((p) => p === '.' || p === '..')) throw invalid(key, `${JSON.stringify(value)} is not a Vault path`);
    return value;
  };
  return {
    address,
    authMountPath: path(Attr.vaultAuthMount, get(Attr.vaultAuthMount) ?? defaults.vaultAuthMountPath),
    loginRole: path(Attr.vaultRole, get(Attr.vaultRole) ?? issuer.name),
    audience: get(Attr.vaultAudience) ?? defaults.vaultAudience,
    pkiMount: path(Attr.vaultPkiMount, get(Attr.vaultPkiMount) ?? defaults.vaultPkiMount),
    role: path(Attr.issuerName, issuer.name),
  };
}

function goDuration(key: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = parseGoDuration(value);
  if ('reason' in parsed) throw invalid(key, parsed.reason);
  return parsed.ms;
}

function parseBool(key: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalid(key, 'may only be "true" or "false"');
  return value === 'true';
}

/** csi-driver's `splitList`: comma-separated, trimmed. Empty items are refused here. */
function splitList(key: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw invalid(key, 'has an empty item (a stray comma?)');
  return items;
}

/** cert-manager's `SplitWithEscapeCSV`: commas split, `\,` is a literal comma. */
function splitEscaped(key: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && value[i + 1] === ',') {
      current += ',';
      i += 1;
    } else if (c === ',') {
      items.push(current.trim());
      current = '';
    } else current += c;
  }
  items.push(current.trim());
  if (items.some((s) => s === '')) throw invalid(key, 'has an empty item (a stray comma?)');
  return items;
}

/**
 * dNSName and uniformResourceIdentifier SANs are IA5String (RFC 5280 4.2.1.6): ASCII only. Go's
 * x509 refuses anything else when csi-driver builds the CSR; the dev CA would write mangled bytes.
 */
function ia5(key: string, name: string): string {
  if (!/^[\x20-\x7e]+$/.test(name)) throw invalid(key, `${JSON.stringify(name)} is not ASCII (an internationalised name goes in its xn-- form, a URI percent-encoded)`);
  return name;
}

function checkUri(key: string, uri: string): string {
  if (!URL.canParse(uri) || !/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw invalid(key, `${JSON.stringify(uri)} is not an absolute URI`);
  return uri;
}

function invalid(key: string, reason: string): CredmountError {
  return Errors.parameterInvalid(key, reason);
}

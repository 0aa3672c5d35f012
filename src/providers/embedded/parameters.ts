import { isIP } from 'node:net';
import { Errors } from '../../errors/catalogue.js';
import type { ParsedParameters, PodIdentity } from '../provider.js';
import { parseDuration } from './duration.js';
import { describeType, isPlainObject, parseYaml, quoteList } from './yaml-input.js';

/**
 * The embedded provider's volume parameters, in the SecretProviderClass style of
 * vault-csi-provider: an `objects` YAML list and an optional `audience`.
 *
 * ```yaml
 * objects: |
 *   - objectName: db-password
 *     secretPath: payments/db-password
 *     filePermission: "0640"
 *   - objectName: tls
 *     certificate:
 *       dnsNames: ["${POD_NAME}.payments.svc"]
 *       ttl: 10m
 * ```
 * Parsing is pure. Every error is `Errors.parameterInvalid` naming the exact field
 * (`objects[1].certificate.ttl`); list indexes count from 0.
 */

export type KeyAlgorithm = 'ECDSA' | 'RSA' | 'Ed25519';

export interface SecretObjectSpec {
  readonly kind: 'secret';
  readonly objectName: string;
  /** Relative to the store's `secrets/`, already checked not to contain `..` or empty elements. */
  readonly secretPath: string;
  readonly mode: number | undefined;
}

export interface CertificateObjectSpec {
  readonly kind: 'certificate';
  readonly objectName: string;
  /** Applies to `<objectName>.crt` and `<objectName>.key`; the key defaults to 0600. */
  readonly mode: number | undefined;
  /** Names after `${POD_NAME}`-style templating. */
  readonly commonName: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  /** Requested lifetime; undefined means the provider's default. The policy may shorten it. */
  readonly ttlMs: number | undefined;
  readonly keyAlgorithm: KeyAlgorithm;
  /** RSA modulus bits or ECDSA curve size; undefined for Ed25519. */
  readonly keySize: number | undefined;
}

export type ObjectSpec = SecretObjectSpec | CertificateObjectSpec;

export interface EmbeddedParameters {
  /** The token audience this volume authenticates with. */
  readonly audience: string;
  readonly objects: readonly ObjectSpec[];
}

export const PARAMETER_NAMES = ['objects', 'audience'] as const;
const OBJECT_FIELDS = ['objectName', 'secretPath', 'filePermission', 'certificate'] as const;
const CERTIFICATE_FIELDS = ['commonName', 'dnsNames', 'ipAddresses', 'uris', 'ttl', 'keyAlgorithm', 'keySize'] as const;
const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA', 'RSA', 'Ed25519'];
const KEY_SIZES: Readonly<Record<'ECDSA' | 'RSA', readonly number[]>> = { ECDSA: [256, 384, 521], RSA: [2048, 3072, 4096] };
const DEFAULT_KEY_SIZE = { ECDSA: 256, RSA: 2048 } as const;

/** The name of the CA bundle written next to certificates. */
export const CA_FILE_NAME = 'ca.crt';

/** Keys kubelet adds to volume attributes; volumes/ strips them, and parsing tolerates them anyway. */
const KUBELET_PREFIX = 'csi.storage.k8s.io/';

/** Hints for parameters that other providers have and this one deliberately does not. */
const FOREIGN_PARAMETER_HINTS: Readonly<Record<string, string>> = {
  roleName: 'the embedded provider has no roles: policy.yaml in its store decides by namespace and service account',
  vaultAddress: 'the embedded provider is built in and has no address',
};
const FOREIGN_FIELD_HINTS: Readonly<Record<string, string>> = {
  secretKey: 'every embedded secret is one whole file; store each key as its own file instead',
};

/** The objects YAML is small by nature; this bounds the work a hostile value can cause. */
const MAX_OBJECTS_BYTES = 64 * 1024;
const MAX_OBJECTS = 256;

export interface ParameterDefaults {
  /** The provider's configured audience, used when the volume does not set `audience`. */
  readonly audience: string;
}

export function parseEmbeddedParameters(
  parameters: Readonly<Record<string, string>>,
  identity: PodIdentity,
  defaults: ParameterDefaults,
): ParsedParameters<EmbeddedParameters> {
  for (const name of Object.keys(parameters)) {
    if ((PARAMETER_NAMES as readonly string[]).includes(name) || name.startsWith(KUBELET_PREFIX)) continue;
    const hint = FOREIGN_PARAMETER_HINTS[name];
    throw Errors.parameterInvalid(name, `unknown parameter for provider "embedded" (it accepts ${quoteList(PARAMETER_NAMES)})${hint === undefined ? '' : `; ${hint}`}`);
  }

  let audience = defaults.audience;
  const audienceValue = parameters['audience'];
  if (audienceValue !== undefined) {
    if (audienceValue.trim() === '') throw Errors.parameterInvalid('audience', 'must not be empty (omit it to use the provider default)');
    audience = audienceValue;
  }

  const objectsText = parameters['objects'];
  if (objectsText === undefined || objectsText.trim() === '') throw Errors.parameterInvalid('objects', 'is required: a YAML list of objects with objectName and secretPath or certificate');
  if (Buffer.byteLength(objectsText, 'utf8') > MAX_OBJECTS_BYTES) throw Errors.parameterInvalid('objects', `is longer than ${MAX_OBJECTS_BYTES} bytes`);
  const parsed = parseYaml(objectsText);
  if ('reason' in parsed) throw Errors.parameterInvalid('objects', parsed.reason);
  if (!Array.isArray(parsed.value)) throw Errors.parameterInvalid('objects', `must be a YAML list of objects, not ${describeType(parsed.value)}`);
  if (parsed.value.length === 0) throw Errors.parameterInvalid('objects', 'must list at least one object');
  if (parsed.value.length > MAX_OBJECTS) throw Errors.parameterInvalid('objects', `lists ${parsed.value.length} objects, more than the limit of ${MAX_OBJECTS}`);

  const objects = parsed.value.map((entry: unknown, index) => parseObject(entry, `objects[${index}]`, identity));
  checkFileNamesAreDistinct(objects);

  return {
    value: { audience, objects },
    audiences: [audience],
    // Private keys are per pod; secrets are the same for every pod of the service account.
    scope: objects.some((o) => o.kind === 'certificate') ? 'pod' : 'serviceAccount',
  };
}

/** The files an object produces, relative to the volume root. */
export function filesOf(object: ObjectSpec): string[] {
  return object.kind === 'secret' ? [object.objectName] : [`${object.objectName}.crt`, `${object.objectName}.key`];
}

function parseObject(entry: unknown, where: string, identity: PodIdentity): ObjectSpec {
  if (!isPlainObject(entry)) throw Errors.parameterInvalid(where, `each object must be a mapping with objectName, not ${describeType(entry)}`);
  for (const key of Object.keys(entry)) {
    if ((OBJECT_FIELDS as readonly string[]).includes(key)) continue;
    const hint = FOREIGN_FIELD_HINTS[key];
    throw Errors.parameterInvalid(`${where}.${key}`, `unknown field (an object has ${quoteList(OBJECT_FIELDS)})${hint === undefined ? '' : `; ${hint}`}`);
  }

  const objectName = requiredString(entry['objectName'], `${where}.objectName`);
  const nameProblem = relativePathProblem(objectName);
  if (nameProblem !== undefined) throw Errors.parameterInvalid(`${where}.objectName`, `${JSON.stringify(objectName)} is not a usable file name: ${nameProblem}`);
  if (objectName.startsWith('..')) throw Errors.parameterInvalid(`${where}.objectName`, `names starting with ".." are reserved for the volume's internal entries`);

  const mode = parseFilePermission(entry['filePermission'], `${where}.filePermission`);
  const hasSecret = entry['secretPath'] !== undefined;
  const hasCertificate = entry['certificate'] !== undefined;
  if (hasSecret && hasCertificate) throw Errors.parameterInvalid(`${where}.certificate`, 'an object has either secretPath or certificate, not both');
  if (!hasSecret && !hasCertificate) throw Errors.parameterInvalid(`${where}.secretPath`, 'is required (or give a certificate)');

  if (hasSecret) {
    const secretPath = requiredString(entry['secretPath'], `${where}.secretPath`);
    const problem = relativePathProblem(secretPath);
    if (problem !== undefined) throw Errors.parameterInvalid(`${where}.secretPath`, `${JSON.stringify(secretPath)} is not a path inside the store: ${problem}`);
    return { kind: 'secret', objectName, secretPath, mode };
  }
  return { kind: 'certificate', objectName, mode, ...parseCertificate(entry['certificate'], `${where}.certificate`, identity) };
}

function parseCertificate(value: unknown, where: string, identity: PodIdentity): Omit<CertificateObjectSpec, 'kind' | 'objectName' | 'mode'> {
  if (!isPlainObject(value)) throw Errors.parameterInvalid(where, `must be a mapping (commonName, dnsNames, ...), not ${describeType(value)}`);
  for (const key of Object.keys(value)) {
    if (!(CERTIFICATE_FIELDS as readonly string[]).includes(key)) throw Errors.parameterInvalid(`${where}.${key}`, `unknown field (a certificate has ${quoteList(CERTIFICATE_FIELDS)})`);
  }

  let commonName: string | undefined;
  if (value['commonName'] !== undefined) {
    commonName = expand(requiredString(value['commonName'], `${where}.commonName`), `${where}.commonName`, identity);
    // X.520 ub-common-name: longer CNs make certificates some libraries refuse.
    if (commonName.length > 64) throw Errors.parameterInvalid(`${where}.commonName`, `is ${commonName.length} characters after templating, more than 64`);
  }
  const dnsNames = stringList(value['dnsNames'], `${where}.dnsNames`).map((raw, i) => {
    const name = expand(raw, `${where}.dnsNames[${i}]`, identity);
    if (!isDnsName(name)) throw Errors.parameterInvalid(`${where}.dnsNames[${i}]`, `${JSON.stringify(name)} is not a DNS name`);
    return name;
  });
  const ipAddresses = stringList(value['ipAddresses'], `${where}.ipAddresses`).map((ip, i) => {
    if (isIP(ip) === 0) throw Errors.parameterInvalid(`${where}.ipAddresses[${i}]`, `${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
    return ip;
  });
  const uris = stringList(value['uris'], `${where}.uris`).map((raw, i) => {
    const uri = expand(raw, `${where}.uris[${i}]`, identity);
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri) || !URL.canParse(uri)) throw Errors.parameterInvalid(`${where}.uris[${i}]`, `${JSON.stringify(uri)} is not an absolute URI`);
    return uri;
  });
  if (commonName === undefined && dnsNames.length + ipAddresses.length + uris.length === 0) {
    throw Errors.parameterInvalid(where, 'needs at least one of commonName, dnsNames, ipAddresses or uris');
  }

  let ttlMs: number | undefined;
  if (value['ttl'] !== undefined) {
    const ttl = value['ttl'];
    if (typeof ttl !== 'string') throw Errors.parameterInvalid(`${where}.ttl`, `must be a duration like "10m", not ${describeType(ttl)}`);
    const duration = parseDuration(ttl);
    if ('reason' in duration) throw Errors.parameterInvalid(`${where}.ttl`, duration.reason);
    ttlMs = duration.ms;
  }

  const algorithmValue = value['keyAlgorithm'] ?? 'ECDSA';
  const keyAlgorithm = KEY_ALGORITHMS.find((a) => a === algorithmValue);
  if (keyAlgorithm === undefined) throw Errors.parameterInvalid(`${where}.keyAlgorithm`, `must be one of ${quoteList(KEY_ALGORITHMS)}`);

  let keySize: number | undefined;
  const sizeValue = value['keySize'];
  if (keyAlgorithm === 'Ed25519') {
    if (sizeValue !== undefined) throw Errors.parameterInvalid(`${where}.keySize`, 'Ed25519 keys have a fixed size; remove keySize');
  } else if (sizeValue === undefined) {
    keySize = DEFAULT_KEY_SIZE[keyAlgorithm];
  } else {
    const size = typeof sizeValue === 'string' && /^\d+$/.test(sizeValue) ? Number(sizeValue) : sizeValue;
    const allowed = KEY_SIZES[keyAlgorithm];
    if (typeof size !== 'number' || !allowed.includes(size)) throw Errors.parameterInvalid(`${where}.keySize`, `must be one of ${allowed.join(', ')} for ${keyAlgorithm}`);
    keySize = size;
  }
  return { commonName, dnsNames, ipAddresses, uris, ttlMs, keyAlgorithm, keySize };
}

/** `"0640"` (or `"640"`) → 0o640. YAML numbers are refused: unquoted `0640` is decimal 640 in YAML 1.2. */
function parseFilePermission(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw Errors.parameterInvalid(where, `must be a quoted octal string like "0640", not ${describeType(value)}`);
  if (!/^0?[0-7]{3}$/.test(value)) throw Errors.parameterInvalid(where, `${JSON.stringify(value)} is not an octal permission like "0640" (special bits are not allowed)`);
  return Number.parseInt(value, 8);
}

function requiredString(value: unknown, where: string): string {
  if (value === undefined || value === null) throw Errors.parameterInvalid(where, 'is required');
  if (typeof value !== 'string') throw Errors.parameterInvalid(where, `must be a string, not ${describeType(value)}`);
  if (value === '') throw Errors.parameterInvalid(where, 'must not be empty');
  return value;
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw Errors.parameterInvalid(where, `must be a list of strings, not ${describeType(value)}`);
  return value.map((item: unknown, i) => requiredString(item, `${where}[${i}]`));
}

/**
 * Why a relative path is unusable, or undefined. Used for objectName (a file in the volume) and
 * secretPath (a file under `secrets/`): both must stay below their root, so `..`, absolute paths
 * and the ambiguous cases (empty elements, backslashes, NUL) are refused up front.
 */
function relativePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'it contains a NUL character';
  if (path.includes('\\')) return 'it contains a backslash';
  if (path.startsWith('/')) return 'it is an absolute path';
  for (const element of path.split('/')) {
    if (element === '') return 'it has an empty path element';
    if (element === '.' || element === '..') return `it contains a ${JSON.stringify(element)} element`;
    if (Buffer.byteLength(element, 'utf8') > 255) return 'a path element is longer than 255 bytes';
  }
  return undefined;
}

function isDnsName(name: string): boolean {
  if (name.length > 253) return false;
  const labels = (name.startsWith('*.') ? name.slice(2) : name).split('.');
  return labels.every((label) => /^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$/.test(label));
}

/** `${POD_NAME}`, `${POD_NAMESPACE}`, `${SERVICE_ACCOUNT_NAME}`, `${POD_UID}` — as cert-manager's csi-driver. */
function expand(template: string, where: string, identity: PodIdentity): string {
  const variables: Readonly<Record<string, string>> = {
    POD_NAME: identity.podName,
    POD_NAMESPACE: identity.namespace,
    POD_UID: identity.podUid,
    SERVICE_ACCOUNT_NAME: identity.serviceAccountName,
  };
  const expanded = template.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    const value = variables[name];
    if (value === undefined) throw Errors.parameterInvalid(where, `unknown variable ${whole} (known: ${Object.keys(variables).map((v) => `\${${v}}`).join(', ')})`);
    return value;
  });
  if (expanded.includes('${')) throw Errors.parameterInvalid(where, 'has an unterminated "${"');
  return expanded;
}

/** Two objects must not write the same file, and nothing may shadow the CA bundle. */
function checkFileNamesAreDistinct(objects: readonly ObjectSpec[]): void {
  const owners = new Map<string, number>();
  const names = new Map<string, number>();
  objects.forEach((object, index) => {
    const earlier = names.get(object.objectName);
    if (earlier !== undefined) throw Errors.parameterInvalid(`objects[${index}].objectName`, `${JSON.stringify(object.objectName)} is already used by objects[${earlier}]`);
    names.set(object.objectName, index);
    for (const file of filesOf(object)) {
      const owner = owners.get(file);
      if (owner !== undefined) throw Errors.parameterInvalid(`objects[${index}].objectName`, `its file ${JSON.stringify(file)} is also written by objects[${owner}]`);
      owners.set(file, index);
    }
  });
  const firstCertificate = objects.findIndex((o) => o.kind === 'certificate');
  if (firstCertificate === -1) return;
  const clash = owners.get(CA_FILE_NAME);
  if (clash !== undefined) throw Errors.parameterInvalid(`objects[${clash}].objectName`, `${JSON.stringify(CA_FILE_NAME)} is reserved for the CA bundle that objects[${firstCertificate}] (a certificate) brings`);
}

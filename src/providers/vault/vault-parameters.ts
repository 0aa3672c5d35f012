import { posix } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { Errors } from '../../errors/catalogue.js';
import type { VaultTlsOptions } from './vault-tls.js';

/**
 * The Vault provider's volume parameters: the same names, defaults and rules as
 * hashicorp/vault-csi-provider's SecretProviderClass parameters (docs/vault-csi-provider-compat.md),
 * so an existing SecretProviderClass works with only the driver name changed. Two deliberate
 * differences: unknown parameters are refused (upstream ignores them, hiding typos), and a
 * `secretPath` that climbs out of the API root with `..` is refused.
 */

export type VaultMethod = 'GET' | 'PUT' | 'POST';
export type VaultEncoding = 'utf-8' | 'base64' | 'hex';

export interface VaultObject {
  readonly objectName: string;
  /** API path below `/v1/`, cleaned, without a query. */
  readonly path: string;
  /** The query string as upstream sends it: keys sorted, re-encoded; '' when none. */
  readonly query: string;
  readonly secretKey: string;
  readonly method: VaultMethod;
  readonly secretArgs: Readonly<Record<string, unknown>> | undefined;
  readonly filePermission: number | undefined;
  readonly encoding: VaultEncoding;
}

export interface VaultParameters {
  readonly roleName: string;
  readonly address: string;
  readonly namespace: string | undefined;
  readonly authMountPath: string;
  readonly audience: string;
  readonly tls: VaultTlsOptions;
  readonly objects: readonly VaultObject[];
}

/** Driver-level defaults and limits (`--vault-*` flags). */
export interface VaultDefaults {
  readonly address: string;
  readonly authMountPath: string;
  readonly audience: string;
  readonly caCertPath: string | undefined;
  /**
   * Origins a volume may name in `vaultAddress` (`*`: any). The default address is always
   * allowed. Pods cannot point the node's driver (and their token) at arbitrary URLs otherwise.
   */
  readonly allowedAddresses?: readonly string[];
  /** Directories TLS files named by volumes must be in (they are read by the driver, on the node). */
  readonly tlsDirectories?: readonly string[];
  /** Whether a volume may turn off server certificate checks. */
  readonly allowSkipTlsVerify?: boolean;
}

export const VAULT_PARAMETERS = [
  'roleName',
  'vaultAddress',
  'vaultNamespace',
  'vaultKubernetesMountPath',
  'vaultAuthMountPath',
  'audience',
  'vaultSkipTLSVerify',
  'vaultCACertPath',
  'vaultCADirectory',
  'vaultTLSServerName',
  'vaultTLSClientCertPath',
  'vaultTLSClientKeyPath',
  'objects',
] as const;
const OBJECT_FIELDS = ['objectName', 'secretPath', 'secretKey', 'secretArgs', 'method', 'filePermission', 'encoding'];
/** Go's strconv.ParseBool, which upstream uses for vaultSkipTLSVerify. */
const GO_BOOLS: Readonly<Record<string, boolean>> = { 1: true, t: true, T: true, TRUE: true, true: true, True: true, 0: false, f: false, F: false, FALSE: false, false: false, False: false };
const MAX_OBJECTS_BYTES = 64 * 1024;

export function parseVaultParameters(parameters: Readonly<Record<string, string>>, defaults: VaultDefaults): VaultParameters {
  for (const name of Object.keys(parameters)) {
    if (!(VAULT_PARAMETERS as readonly string[]).includes(name)) {
      throw Errors.parameterInvalid(name, `unknown parameter for provider "vault" (it accepts ${VAULT_PARAMETERS.join(', ')})`);
    }
  }
  const get = (name: (typeof VAULT_PARAMETERS)[number]): string | undefined => parameters[name];

  const roleName = get('roleName');
  if (roleName === undefined || roleName === '') throw Errors.parameterInvalid('roleName', 'is required: the Vault role the pod logs in as');
  if (get('vaultKubernetesMountPath') !== undefined && get('vaultAuthMountPath') !== undefined) {
    throw Errors.parameterInvalid('vaultAuthMountPath', 'set either vaultAuthMountPath or vaultKubernetesMountPath (deprecated), not both');
  }
  const authMountPath = trimSlashes(get('vaultAuthMountPath') ?? get('vaultKubernetesMountPath') ?? defaults.authMountPath);
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(authMountPath) || authMountPath.split('/').includes('..')) {
    throw Errors.parameterInvalid('vaultAuthMountPath', 'must be an auth mount path such as "kubernetes" or "jwt" (letters, digits, "_", "-", "." and "/")');
  }

  const address = get('vaultAddress') ?? defaults.address;
  checkAddress(address, defaults);

  const skip = get('vaultSkipTLSVerify');
  const skipVerify = skip === undefined ? false : Object.hasOwn(GO_BOOLS, skip) ? GO_BOOLS[skip] : undefined;
  if (skipVerify === undefined) throw Errors.parameterInvalid('vaultSkipTLSVerify', `must be true or false, not ${JSON.stringify(skip)}`);
  if (skipVerify && defaults.allowSkipTlsVerify !== true) {
    throw Errors.parameterInvalid('vaultSkipTLSVerify', 'this driver does not let volumes turn off TLS verification (--vault-allow-skip-tls-verify)');
  }
  const tlsFile = (name: (typeof VAULT_PARAMETERS)[number]): string | undefined => checkTlsPath(nonEmpty(get(name)), name, defaults);
  const clientCertPath = tlsFile('vaultTLSClientCertPath');
  const clientKeyPath = tlsFile('vaultTLSClientKeyPath');
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    throw Errors.parameterInvalid(clientCertPath === undefined ? 'vaultTLSClientCertPath' : 'vaultTLSClientKeyPath', 'a client certificate needs both vaultTLSClientCertPath and vaultTLSClientKeyPath');
  }

  return {
    roleName,
    address,
    namespace: nonEmpty(get('vaultNamespace')),
    authMountPath,
    // Empty means "the default", as upstream treats it.
    audience: nonEmpty(get('audience')) ?? defaults.audience,
    tls: {
      caCertPath: tlsFile('vaultCACertPath') ?? defaults.caCertPath,
      caDirectory: tlsFile('vaultCADirectory'),
      serverName: nonEmpty(get('vaultTLSServerName')),
      clientCertPath,
      clientKeyPath,
      skipVerify,
    },
    objects: parseObjects(get('objects')),
  };
}

function parseObjects(text: string | undefined): VaultObject[] {
  if (text === undefined || text.trim() === '') throw Errors.parameterInvalid('objects', 'is required: a YAML list of objects with objectName and secretPath');
  if (Buffer.byteLength(text) > MAX_OBJECTS_BYTES) throw Errors.parameterInvalid('objects', `is longer than ${MAX_OBJECTS_BYTES} bytes`);
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) throw Errors.parameterInvalid('objects', `is not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? ''}`);
  const root = document.contents;
  if (!isSeq(root)) throw Errors.parameterInvalid('objects', 'must be a YAML list of objects');
  if (root.items.length === 0) throw Errors.parameterInvalid('objects', 'must list at least one object');
  const seen = new Set<string>();
  return root.items.map((item, index) => {
    const object = parseObject(item as YamlNode, `objects[${index}]`);
    if (seen.has(object.objectName)) throw Errors.parameterInvalid(`objects[${index}].objectName`, `${JSON.stringify(object.objectName)} is listed twice`);
    seen.add(object.objectName);
    return object;
  });
}

function parseObject(node: YamlNode, where: string): VaultObject {
  if (!isMap(node)) throw Errors.parameterInvalid(where, 'each object must be a mapping with objectName and secretPath');
  const fields = new Map<string, YamlNode>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!OBJECT_FIELDS.includes(key)) throw Errors.parameterInvalid(`${where}.${key}`, `unknown field (an object has ${OBJECT_FIELDS.join(', ')})`);
    fields.set(key, pair.value as YamlNode);
  }
  const text = (field: string): string | undefined => {
    const value = fields.get(field);
    if (value === undefined || (isScalar(value) && value.value === null)) return undefined;
    if (!isScalar(value) || typeof value.value === 'object') throw Errors.parameterInvalid(`${where}.${field}`, 'must be a string');
    return String(value.value);
  };

  const objectName = text('objectName') ?? '';
  if (objectName === '') throw Errors.parameterInvalid(`${where}.objectName`, 'is required: the file name in the volume');
  if (objectName.startsWith('/') || objectName.split('/').includes('..') || posix.normalize(objectName) !== objectName) {
    throw Errors.parameterInvalid(`${where}.objectName`, `${JSON.stringify(objectName)} must be a relative path without ".." or "//"`);
  }
  const secretPath = text('secretPath') ?? '';
  if (secretPath === '') throw Errors.parameterInvalid(`${where}.secretPath`, 'is required: the Vault API path to read, e.g. secret/data/db');
  const { path, query } = splitSecretPath(secretPath, `${where}.secretPath`);

  const method = (text('method') ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'PUT' && method !== 'POST') throw Errors.parameterInvalid(`${where}.method`, `must be GET, PUT or POST, not ${JSON.stringify(method)}`);
  const encodingText = (text('encoding') ?? 'utf-8').toLowerCase();
  if (encodingText !== 'utf-8' && encodingText !== 'base64' && encodingText !== 'hex') {
    throw Errors.parameterInvalid(`${where}.encoding`, `must be utf-8, base64 or hex, not ${JSON.stringify(encodingText)}`);
  }
  const argsNode = fields.get('secretArgs');
  let secretArgs: Record<string, unknown> | undefined;
  if (argsNode !== undefined && !(isScalar(argsNode) && argsNode.value === null)) {
    if (!isMap(argsNode)) throw Errors.parameterInvalid(`${where}.secretArgs`, 'must be a mapping (sent as the JSON body)');
    secretArgs = argsNode.toJSON() as Record<string, unknown>;
  }
  return {
    objectName,
    path,
    query,
    secretKey: text('secretKey') ?? '',
    method,
    secretArgs,
    filePermission: parseFilePermission(fields.get('filePermission'), `${where}.filePermission`),
    encoding: encodingText,
  };
}

/**
 * `secret/data/db?version=2` → path and query as upstream sends them: a leading `/v1` is
 * optional, the path is cleaned, and the query's keys are sorted and re-encoded (Go's url.Values).
 */
export function splitSecretPath(secretPath: string, field: string): { path: string; query: string } {
  if (secretPath.includes('#')) throw Errors.parameterInvalid(field, 'must not contain "#"');
  const at = secretPath.indexOf('?');
  const rawPath = at < 0 ? secretPath : secretPath.slice(0, at);
  const rawQuery = at < 0 ? '' : secretPath.slice(at + 1);
  // Judge the path as the URL parser will see it: %2e%2e is "..".
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw Errors.parameterInvalid(field, 'has an invalid percent-encoding');
  }
  const cleaned = posix.normalize(`/${rawPath}`);
  if (cleaned.startsWith('/..') || decoded.split('/').includes('..') || decoded.includes('\\')) throw Errors.parameterInvalid(field, 'must not contain ".."');
  const path = trimSlashes(cleaned.replace(/^\/v1(\/|$)/, '/'));
  if (path === '') throw Errors.parameterInvalid(field, 'names no Vault path');
  const params = new URLSearchParams(rawQuery);
  params.sort();
  return { path, query: params.toString() };
}

/**
 * Like Go's yaml.v3 reading into an int: `0600` and `0o600` are octal, `420` is decimal. A quoted
 * value is an error upstream and here; 0 or absent means the default (0644).
 */
function parseFilePermission(node: YamlNode | undefined, field: string): number | undefined {
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isScalar(node) || node.type !== 'PLAIN') throw Errors.parameterInvalid(field, 'must be a number such as 0600 (unquoted)');
  const source = (node.source ?? String(node.value)).trim();
  let mode: number;
  if (/^0o?[0-7]+$/i.test(source)) mode = Number.parseInt(source.replace(/^0o?/i, '') || '0', 8);
  else if (/^\d+$/.test(source)) mode = Number(source);
  else throw Errors.parameterInvalid(field, `must be a number such as 0600, not ${JSON.stringify(source)}`);
  if (mode > 0o777) throw Errors.parameterInvalid(field, `${source} is not a permission (at most 0777)`);
  return mode === 0 ? undefined : mode;
}

/** An http(s) origin (optionally with a path prefix), allowed by the operator. */
function checkAddress(address: string, defaults: VaultDefaults): void {
  if (address === '') throw Errors.parameterInvalid('vaultAddress', 'is not set and the driver has no --vault-address default');
  const url = URL.canParse(address) ? new URL(address) : undefined;
  if (url === undefined || !/^https?:$/.test(url.protocol)) throw Errors.parameterInvalid('vaultAddress', `must be an http(s) URL, not ${JSON.stringify(address)}`);
  if (url.username !== '' || url.password !== '' || address.includes('?') || address.includes('#')) {
    throw Errors.parameterInvalid('vaultAddress', 'must not carry credentials, a query or a fragment');
  }
  const allowed = defaults.allowedAddresses ?? [];
  const defaultOrigin = URL.canParse(defaults.address) ? new URL(defaults.address).origin : undefined;
  if (url.origin !== defaultOrigin && !allowed.includes('*') && !allowed.some((a) => URL.canParse(a) && new URL(a).origin === url.origin)) {
    throw Errors.parameterInvalid('vaultAddress', `${url.origin} is not an address this driver may call (--vault-allowed-addresses)`);
  }
}

/**
 * TLS files are read by the driver on the node, so a volume may only name files in directories
 * the operator listed (or the driver's own default CA). Checked lexically here; the agent checks
 * again after resolving symlinks.
 */
function checkTlsPath(path: string | undefined, name: string, defaults: VaultDefaults): string | undefined {
  if (path === undefined || path === defaults.caCertPath) return path;
  const normalized = posix.normalize(path);
  if (!path.startsWith('/') || normalized !== path) throw Errors.parameterInvalid(name, 'must be an absolute, normalised path');
  const dirs = defaults.tlsDirectories ?? [];
  if (!dirs.some((dir) => isWithin(path, dir))) {
    throw Errors.parameterInvalid(name, `must be inside a directory the driver allows for Vault TLS files (--vault-tls-dirs: ${dirs.length === 0 ? 'none' : dirs.join(', ')})`);
  }
  return path;
}

export function isWithin(path: string, dir: string): boolean {
  const base = dir.replace(/\/+$/, '');
  return path === base || path.startsWith(`${base}/`);
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { Errors } from '../../errors/catalogue.js';
import { parseSecretVersionName, type SecretVersionName } from './resource-name.js';

/**
 * The GCP provider's volume parameters: the names and rules of the Secrets Store CSI driver's
 * GCP provider (GoogleCloudPlatform/secrets-store-csi-driver-provider-gcp, config/config.go), so
 * an existing SecretProviderClass works with only the driver name changed. Differences, on
 * purpose: unknown parameters and unknown secret fields are refused (upstream ignores them,
 * hiding typos), `auth: provider-adc` is refused (this driver holds no Google credentials), and
 * impersonation may also be asked for with the service-account annotation's keys as parameters.
 */

export interface GcpSecret {
  readonly resource: SecretVersionName;
  /** Where the file goes: `path`, or upstream's older `fileName`. */
  readonly path: string;
  readonly mode: number | undefined;
  readonly extractJSONKey: string | undefined;
  readonly extractYAMLKey: string | undefined;
}

export interface Impersonation {
  /** The Google service account's email. */
  readonly serviceAccount: string;
  /** Emails of the delegation chain, in order (each may mint tokens for the next). */
  readonly delegates: readonly string[];
}

export interface GcpParameters {
  readonly secrets: readonly GcpSecret[];
  readonly impersonation: Impersonation | undefined;
}

/** The annotation keys upstream reads from the Kubernetes service account, accepted as parameters. */
export const SERVICE_ACCOUNT_KEY = 'iam.gke.io/gcp-service-account';
export const DELEGATES_KEY = 'iam.gke.io/gcp-service-account-delegates';
export const GCP_PARAMETERS = ['secrets', 'auth', SERVICE_ACCOUNT_KEY, DELEGATES_KEY] as const;
const SECRET_FIELDS = ['resourceName', 'path', 'fileName', 'mode', 'extractJSONKey', 'extractYAMLKey'];
const MAX_SECRETS_BYTES = 64 * 1024;
const MAX_SECRETS = 100;
/** Google service-account emails (user-managed, default and Google-managed ones). */
const EMAIL = /^[a-z0-9][a-z0-9._-]{0,99}@[a-z0-9][a-z0-9.-]{0,200}\.[a-z]{2,}$/;

export function parseGcpParameters(parameters: Readonly<Record<string, string>>): GcpParameters {
  for (const name of Object.keys(parameters)) {
    if (!(GCP_PARAMETERS as readonly string[]).includes(name)) {
      throw Errors.parameterInvalid(name, `unknown parameter for provider "gcp" (it accepts ${GCP_PARAMETERS.join(', ')})`);
    }
  }
  // 1. auth: pod-adc (or empty) is the pod's own identity; provider-adc would be the driver's.
  const auth = parameters['auth'] ?? '';
  if (auth === 'provider-adc') {
    throw Errors.parameterInvalid(
      'auth',
      '"provider-adc" (the driver\'s own Google credentials) is not supported: this driver holds no Google credentials and reads secrets only as the pod, through workload identity; remove auth or set it to "pod-adc"',
    );
  }
  if (auth !== '' && auth !== 'pod-adc') throw Errors.parameterInvalid('auth', `${JSON.stringify(auth)} is not a supported auth mode (use "pod-adc", the default)`);

  // 2. secrets: a YAML list.
  const text = parameters['secrets'];
  if (text === undefined || text.trim() === '') throw Errors.parameterInvalid('secrets', 'is required: a YAML list of {resourceName, path}');
  if (Buffer.byteLength(text) > MAX_SECRETS_BYTES) throw Errors.parameterInvalid('secrets', `is longer than ${MAX_SECRETS_BYTES} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw Errors.parameterInvalid('secrets', `is not valid YAML: ${(doc.errors[0]?.message ?? '').split('\n')[0]}`);
  const root = doc.contents as YamlNode | null;
  if (!isSeq(root)) throw Errors.parameterInvalid('secrets', 'must be a YAML list of {resourceName, path} entries');
  if (root.items.length === 0) throw Errors.parameterInvalid('secrets', 'lists no secrets');
  if (root.items.length > MAX_SECRETS) throw Errors.parameterInvalid('secrets', `lists ${root.items.length} secrets; at most ${MAX_SECRETS} are allowed`);
  const secrets = root.items.map((item, index) => parseSecret(item as YamlNode, index));
  const seen = new Set<string>();
  for (const [index, secret] of secrets.entries()) {
    if (seen.has(secret.path)) throw Errors.parameterInvalid(`secrets[${index}].path`, `${JSON.stringify(secret.path)} is used by another secret`);
    seen.add(secret.path);
  }

  // 3. impersonation, as the service-account annotations would ask for it.
  const impersonation = parseImpersonation(parameters[SERVICE_ACCOUNT_KEY], parameters[DELEGATES_KEY], (key, reason) => Errors.parameterInvalid(key, reason));
  return { secrets, impersonation };
}

/**
 * The service account to impersonate and its delegates (a JSON list of emails), from volume
 * parameters or from the Kubernetes service account's annotations; `fail` names the source.
 */
export function parseImpersonation(serviceAccount: string | undefined, delegatesText: string | undefined, fail: (key: string, reason: string) => Error): Impersonation | undefined {
  if (serviceAccount === undefined || serviceAccount === '') {
    if (delegatesText !== undefined && delegatesText !== '') throw fail(DELEGATES_KEY, `needs ${SERVICE_ACCOUNT_KEY}`);
    return undefined;
  }
  if (!EMAIL.test(serviceAccount)) throw fail(SERVICE_ACCOUNT_KEY, `${JSON.stringify(serviceAccount)} is not a service account email`);
  return { serviceAccount, delegates: parseDelegates(delegatesText, fail) };
}

function parseSecret(item: YamlNode, index: number): GcpSecret {
  const at = `secrets[${index}]`;
  if (!isMap(item)) throw Errors.parameterInvalid(at, 'must be a map with resourceName and path');
  const fields = new Map<string, YamlNode>();
  for (const pair of item.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!SECRET_FIELDS.includes(key)) throw Errors.parameterInvalid(`${at}.${key}`, `unknown field (a secret has ${SECRET_FIELDS.join(', ')})`);
    fields.set(key, pair.value as YamlNode);
  }
  const str = (field: string): string | undefined => {
    const node = fields.get(field);
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) return undefined;
    if (!isScalar(node) || typeof node.value === 'object') throw Errors.parameterInvalid(`${at}.${field}`, 'must be a string');
    return String(node.value);
  };
  const resourceName = str('resourceName');
  if (resourceName === undefined || resourceName === '') throw Errors.parameterInvalid(`${at}.resourceName`, 'is required');
  const resource = parseSecretVersionName(resourceName);
  if (typeof resource === 'string') throw Errors.parameterInvalid(`${at}.resourceName`, `${JSON.stringify(resourceName)}: ${resource}`);
  // Upstream's PathString(): path wins over fileName.
  const path = str('path') || str('fileName');
  if (path === undefined || path === '') throw Errors.parameterInvalid(`${at}.path`, 'is required (or fileName)');
  const pathField = str('path') ? 'path' : 'fileName';
  if (path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '.' || part === '') || path.includes('\0')) {
    throw Errors.parameterInvalid(`${at}.${pathField}`, `${JSON.stringify(path)} must be a relative path inside the volume (no "..", ".", empty segments or leading "/")`);
  }
  // `..data` and friends are the volume writer's own entries (kubelet's AtomicWriter reserves them
  // too): refused here, before any token is exchanged, rather than by storage after the reads.
  if (path.startsWith('..')) throw Errors.parameterInvalid(`${at}.${pathField}`, `${JSON.stringify(path)}: names starting with ".." are reserved for the volume's internal entries`);
  const extractJSONKey = str('extractJSONKey') || undefined;
  const extractYAMLKey = str('extractYAMLKey') || undefined;
  if (extractJSONKey !== undefined && extractYAMLKey !== undefined) throw Errors.parameterInvalid(`${at}.extractYAMLKey`, 'cannot be set together with extractJSONKey');
  return { resource, path, mode: parseMode(fields.get('mode'), `${at}.mode`), extractJSONKey, extractYAMLKey };
}

/**
 * Upstream decodes `mode` with yaml.v3 into an int32: `0400` and `0o400` are octal, `256`
 * decimal, and the value must be 0–511 (0000–0777). The YAML source text is read here because
 * YAML 1.2's core schema would take `0400` as decimal.
 */
function parseMode(node: YamlNode | undefined, field: string): number | undefined {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return undefined;
  if (!isScalar(node)) throw Errors.parameterInvalid(field, 'must be a number such as 0400 (octal) or 256 (decimal)');
  const source = String((node as { source?: unknown }).source ?? node.value).trim();
  let value: number;
  if (/^0[0-7]+$/.test(source)) value = Number.parseInt(source.slice(1), 8);
  else if (/^0o[0-7]+$/i.test(source)) value = Number.parseInt(source.slice(2), 8);
  else if (/^(0|[1-9]\d{0,9})$/.test(source)) value = Number(source);
  else throw Errors.parameterInvalid(field, `${JSON.stringify(source)} is not a number such as 0400 (octal) or 256 (decimal)`);
  if (value > 0o777) throw Errors.parameterInvalid(field, `${source} is out of range: use an octal value between 0000 and 0777 or a decimal value between 0 and 511`);
  return value;
}

/** `["a@p.iam.gserviceaccount.com", ...]`, a JSON list as in upstream's delegates annotation. */
function parseDelegates(text: string | undefined, fail: (key: string, reason: string) => Error): string[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail(DELEGATES_KEY, 'must be a JSON list of service account emails');
  }
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw fail(DELEGATES_KEY, 'must be a JSON list of service account emails');
  for (const email of value as string[]) if (!EMAIL.test(email)) throw fail(DELEGATES_KEY, `${JSON.stringify(email)} is not a service account email`);
  return value as string[];
}

import { Errors } from '../../errors/catalogue.js';
import type { VaultResponse } from './vault-http.js';
import type { VaultEncoding, VaultObject } from './vault-parameters.js';

/**
 * What goes into a file for one object, byte for byte as vault-csi-provider writes it
 * (docs/vault-csi-provider-compat.md §2), so a pod switching drivers reads the same files.
 */
export function renderObject(object: VaultObject, response: VaultResponse): Uint8Array {
  const where = `Vault path ${JSON.stringify(object.path)} (object ${JSON.stringify(object.objectName)})`;
  // A wrapped response carries a single-use wrapping token, not the secret: never write it.
  if (response['wrap_info'] !== undefined && response['wrap_info'] !== null) throw Errors.backendRejected(where, 'the response is wrapped (response wrapping is not supported)');
  // As upstream: nothing to write is an error, not an empty or "data":null file.
  if (response.data === undefined || response.data === null) throw Errors.notFound(`${where}: empty response`);
  if (object.secretKey === '') return utf8(wholeSecretJson(response));
  const value = lookupKey(response, object.secretKey, object);
  const raw = typeof value === 'string' ? utf8(value) : utf8(goJson(value));
  return decode(raw, object.encoding, object);
}

/**
 * An empty secretKey writes the whole response as Go's `json.Marshal(api.Secret)` does: the
 * struct's fields in declaration order, the optional ones only when present, map keys sorted.
 */
export function wholeSecretJson(response: VaultResponse): string {
  const fields: [string, unknown][] = [
    ['request_id', response.request_id ?? ''],
    ['lease_id', response.lease_id ?? ''],
    ['lease_duration', response.lease_duration ?? 0],
    ['renewable', response.renewable ?? false],
    ['data', response.data ?? null],
    ['warnings', response.warnings ?? null],
  ];
  for (const optional of ['auth', 'wrap_info', 'mount_type']) {
    const value = response[optional];
    if (value !== undefined && value !== null && value !== '') fields.push([optional, value]);
  }
  return `{${fields.map(([key, value]) => `${goJson(key)}:${goJson(value)}`).join(',')}}`;
}

/**
 * With secretKey: look in `data.data` when that is an object (KV v2 — and, as upstream does, any
 * engine answering that shape), else in `data`. Exact key match, no dotted paths.
 */
function lookupKey(response: VaultResponse, secretKey: string, object: VaultObject): unknown {
  const data = isObject(response.data) ? response.data : {};
  const inner = isObject(data['data']) ? data['data'] : data;
  if (!Object.hasOwn(inner, secretKey)) {
    throw Errors.notFound(`key ${JSON.stringify(secretKey)} at Vault path ${JSON.stringify(object.path)} (object ${JSON.stringify(object.objectName)})`);
  }
  return inner[secretKey];
}

function decode(raw: Uint8Array, encoding: VaultEncoding, object: VaultObject): Uint8Array {
  if (encoding === 'utf-8') return raw;
  const text = Buffer.from(raw).toString('latin1');
  const valid = encoding === 'base64' ? /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) : /^(?:[0-9a-fA-F]{2})*$/.test(text);
  if (!valid) {
    // Never quote the value: it is the secret.
    throw Errors.backendRejected(`object ${JSON.stringify(object.objectName)}`, `the value of ${JSON.stringify(object.secretKey)} is not valid ${encoding}`);
  }
  return new Uint8Array(Buffer.from(text, encoding === 'base64' ? 'base64' : 'hex'));
}

/** Go's encoding/json: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

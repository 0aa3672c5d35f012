import { Errors } from '../../errors/catalogue.js';
import { crc32c } from './crc32c.js';
import { googleRequest } from './google-http.js';
import type { SecretVersionName } from './resource-name.js';

export interface SecretManagerEndpoints {
  /** `https://secretmanager.googleapis.com` */
  readonly global: string;
  /** `https://secretmanager.{location}.rep.googleapis.com` */
  readonly regional: string;
}

/** One accessed version: its full name (with the resolved version number) and its bytes. */
export interface AccessedVersion {
  /** e.g. `projects/123/secrets/db/versions/7` — what `latest` resolved to; not secret. */
  readonly name: string;
  readonly data: Uint8Array;
}

interface AccessResponse {
  readonly name?: unknown;
  readonly payload?: { readonly data?: unknown; readonly dataCrc32c?: unknown };
}

/** The URL of `versions/*:access`: regional secrets must be read from their region's endpoint. */
export function accessUrl(resource: SecretVersionName, endpoints: SecretManagerEndpoints): string {
  const base = resource.location === undefined ? endpoints.global : endpoints.regional.replaceAll('{location}', resource.location);
  return `${base.replace(/\/+$/, '')}/v1/${resource.name}:access`;
}

/**
 * `GET /v1/{name}:access` (AccessSecretVersion). The payload arrives base64-encoded with its
 * CRC32C as a decimal int64 string; a payload that does not match is refused, so a corrupted
 * answer never reaches the volume.
 */
export async function accessSecretVersion(resource: SecretVersionName, accessToken: string, endpoints: SecretManagerEndpoints, signal: AbortSignal): Promise<AccessedVersion> {
  const what = `Secret Manager secret version ${resource.name}`;
  const response = await googleRequest<AccessResponse>({ url: accessUrl(resource, endpoints), method: 'GET', accessToken, signal, what, service: 'Secret Manager' });
  const data = response.payload?.data;
  // An empty secret still has a payload (`{}`: proto3 JSON omits empty bytes); an answer without
  // one is broken and must not become an empty file.
  const payload: unknown = response.payload;
  if (typeof response.name !== 'string' || typeof payload !== 'object' || payload === null || (data !== undefined && typeof data !== 'string')) throw Errors.backendUnavailable('Secret Manager', `${what}: the answer has no name or payload`);
  const bytes = Buffer.from(data ?? '', 'base64');
  const expected = response.payload?.dataCrc32c;
  // Versions added before checksums existed have none; every other answer carries one.
  if (expected !== undefined && expected !== null) {
    if (!(typeof expected === 'string' || typeof expected === 'number') || String(crc32c(bytes)) !== String(expected)) throw Errors.checksumMismatch(what, 'CRC32C');
  }
  return { name: response.name, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

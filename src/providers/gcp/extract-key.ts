import { parse as parseYaml } from 'yaml';

/**
 * `extractJSONKey` / `extractYAMLKey`: write one top-level string value of a JSON or YAML secret
 * instead of the whole payload, as upstream's util/key_extractor.go does (only string values;
 * anything else is refused). Reasons never quote the payload: parser messages can contain it.
 * The YAML parser's warnings are silenced too: by default `yaml` hands them to
 * process.emitWarning, which prints them on stderr, and some quote the document (a map key that
 * is a collection is repeated in full).
 */
export function extractKey(payload: Uint8Array, format: 'JSON' | 'YAML', key: string): Uint8Array | string {
  const text = Buffer.from(payload).toString('utf8');
  let data: unknown;
  try {
    data = format === 'JSON' ? JSON.parse(text) : parseYaml(text, { prettyErrors: false, logLevel: 'error' });
  } catch {
    return `the secret is not valid ${format}`;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return `the secret is not a ${format} object`;
  if (!Object.hasOwn(data, key)) return `key ${JSON.stringify(key)} not found in the ${format} secret`;
  const value = (data as Record<string, unknown>)[key];
  if (typeof value !== 'string') return `the value of key ${JSON.stringify(key)} is not a string`;
  return new TextEncoder().encode(value);
}

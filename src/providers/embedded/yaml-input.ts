import { parseDocument } from 'yaml';

type YamlResult = { value: unknown } | { reason: string };

/**
 * The last few parse results by text. Every pod of a Deployment carries the same `objects`
 * text, and parsing it is ~0.5 ms of each first publish; a rollout parses it once. Values are
 * deep-frozen, so a caller cannot change what the next caller gets.
 */
const recent = new Map<string, YamlResult>();
const RECENT_LIMIT = 16;

/** Parse YAML written by a person, or return why it cannot be parsed (first error, with its line). */
export function parseYaml(text: string): YamlResult {
  const cached = recent.get(text);
  if (cached !== undefined) return cached;
  const result = deepFreeze(parseYamlUncached(text));
  if (recent.size >= RECENT_LIMIT) recent.delete(recent.keys().next().value as string);
  recent.set(text, result);
  return result;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseYamlUncached(text: string): YamlResult {
  // YAML 1.2 core schema: `yes`/`no` stay strings and `0640` is not silently octal.
  const document = parseDocument(text, { version: '1.2', uniqueKeys: true, prettyErrors: true });
  const [first] = document.errors;
  if (first !== undefined) return { reason: `it is not valid YAML: ${first.message.split('\n')[0] ?? first.code}` };
  try {
    // maxAliasCount keeps a "billion laughs" document from exhausting memory.
    return { value: document.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (error: unknown) {
    return { reason: `it is not valid YAML: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `"a"`, `"b"` and `"c"` — for "allowed fields" lists in messages. */
export function quoteList(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

/** Describe a YAML value's type for a message without echoing the value itself. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

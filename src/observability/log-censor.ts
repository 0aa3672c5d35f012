/**
 * Censoring of sensitive keys at any depth of a log line's object, before pino serializes it.
 *
 * Why not pino's wildcard redact paths (`*.token`, `*.*.token`)? pino runs every key of every line
 * through them — @pinojs/redact 0.4.0 re-parses each path for each value — and the first-publish
 * benchmark measured them at ~90 µs of CPU and ~130 KB of garbage per line: more than half of
 * everything the driver allocated (bench/README.md, session 5). This walk costs microseconds,
 * allocates only where it censors, and reaches any depth instead of two levels. pino's redact
 * paths stay for the top-level keys (logger.ts), where pino censors without a walk.
 */

export const CENSORED = '[REDACTED]';

/**
 * How deep the walk goes. pino writes nothing below depth 5 (its `depthLimit`: deeper objects
 * become "[Object]"), so what lies below this depth never reaches a line.
 */
const MAX_DEPTH = 8;

/** What a reference back to an object being walked becomes (pino's own stringifier says the same). */
const CIRCULAR = '[Circular]';

export type SensitiveKeys = ReadonlySet<string>;

/**
 * `value` with the value of every key in `sensitive` replaced by CENSORED, at any depth of plain
 * objects, arrays, class instances and errors. Copy-on-write: what needs no censoring is returned
 * as is (the caller's object is never modified); a copy keeps its prototype and its
 * non-enumerable properties, so an Error stays an Error for pino's `err` serializer. Buffers,
 * typed arrays, Dates, Maps and Sets are not walked (they serialize without their keys).
 */
export function censorSensitiveKeys<T>(value: T, sensitive: SensitiveKeys): T {
  return censor(value, sensitive, []) as T;
}

/**
 * `ancestors`: the objects being walked above this one. A cycle is cut where it closes: a copy
 * that pointed back at its uncensored original would put the original's keys on the line.
 */
function censor(value: unknown, sensitive: SensitiveKeys, ancestors: object[]): unknown {
  if (value === null || typeof value !== 'object' || ancestors.length > MAX_DEPTH) return value;
  if (ancestors.includes(value)) return CIRCULAR;
  const isArray = Array.isArray(value);
  if (!isArray && !isWalkable(value)) return value;
  ancestors.push(value);
  try {
    return isArray ? censorArray(value as unknown[], sensitive, ancestors) : censorObject(value as Record<string, unknown>, sensitive, ancestors);
  } finally {
    ancestors.pop();
  }
}

function censorObject(source: Record<string, unknown>, sensitive: SensitiveKeys, ancestors: object[]): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const item = source[key];
    const censored = sensitive.has(key) ? CENSORED : censor(item, sensitive, ancestors);
    if (censored !== item) {
      copy ??= shallowCopy(source);
      Object.defineProperty(copy, key, { value: censored, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy ?? source;
}

function censorArray(items: readonly unknown[], sensitive: SensitiveKeys, ancestors: object[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    const censored = censor(item, sensitive, ancestors);
    if (censored !== item) {
      copy ??= items.slice();
      copy[index] = censored;
    }
  }
  return copy ?? (items as unknown[]);
}

function isWalkable(value: object): boolean {
  return !(ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof Map || value instanceof Set);
}

/**
 * Same prototype, every own property (enumerable or not: an Error's message and stack) as a
 * value, each redefinable: the source may be frozen (configs are), the copy is ours to censor.
 */
function shallowCopy(source: Record<string, unknown>): Record<string, unknown> {
  const descriptors: PropertyDescriptorMap = Object.getOwnPropertyDescriptors(source);
  for (const key of Reflect.ownKeys(descriptors)) {
    const { enumerable } = descriptors[key as string] as PropertyDescriptor;
    // Values, not accessors: a getter may read the source's internal slots, which a copy lacks —
    // V8 12 (Node.js 24) makes an Error's `stack` such an accessor.
    descriptors[key as string] = { value: (source as Record<PropertyKey, unknown>)[key], enumerable: enumerable === true, writable: true, configurable: true };
  }
  return Object.create(Object.getPrototypeOf(source) as object | null, descriptors) as Record<string, unknown>;
}

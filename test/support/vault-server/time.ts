/**
 * Time for the Vault test server: a clock tests can move, and the few ways Vault writes and reads
 * durations and instants (Go's `time.Duration.String`, Vault's `humanDuration`, Go's
 * `RFC3339Nano`, and `parseutil.ParseDurationSecond` for TTL inputs).
 */

/** Milliseconds since the epoch, as `Date.now` gives them. */
export type Now = () => number;

/** A clock that only moves when a test says so. */
export class ManualClock {
  private ms: number;

  constructor(startMs: number = Date.UTC(2030, 0, 1, 0, 0, 0)) {
    this.ms = startMs;
  }

  /** Bound, so it can be passed as `now` directly. */
  readonly now: Now = () => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }

  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}

/** Go's `time.Duration.String()` for a whole number of seconds: `0s`, `45s`, `1m30s`, `1h0m0s`. */
export function goDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  if (total === 0) return '0s';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Vault's `humanDuration` (sdk/framework/lease.go): Go's form without zero minutes/seconds. */
export function humanDuration(seconds: number): string {
  let text = goDuration(seconds);
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  const index = text.indexOf('h0m');
  if (index > 0) text = text.slice(0, index + 1) + text.slice(index + 3);
  return text;
}

/** Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros, none when zero. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2030-01-01T00:00:00.120Z
  return iso.replace(/\.(\d{3})Z$/, (_match, fraction: string) => {
    const trimmed = fraction.replace(/0+$/, '');
    return trimmed === '' ? 'Z' : `.${trimmed}Z`;
  });
}

/** Go's `time.RFC3339` in UTC (whole seconds). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A TTL parameter as Vault accepts it (`parseutil.ParseDurationSecond`): an integer number of
 * seconds (number or digit string) or a Go duration string such as `1h30m`, with `d` for days.
 * Returns undefined for values that are absent or cannot be parsed.
 */
export function parseDurationSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    total += Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  }
  return Math.floor(total);
}

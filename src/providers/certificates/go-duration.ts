/**
 * Go's `time.ParseDuration`, which cert-manager's csi-driver uses for `duration` and
 * `renew-before`: an optionally signed sequence of decimal numbers with units
 * `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h` — e.g. `2160h`, `1h30m`, `90s`, `1.5h`. There is no `d`.
 */
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds (rounded down to whole ms), or a reason it is not a Go duration. Never throws. */
export function parseGoDuration(text: string): { ms: number } | { reason: string } {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  // Go accepts a bare "0" (and only zero) without a unit.
  if (rest === '0') return { ms: 0 };
  if (rest === '') return { reason: `${JSON.stringify(text)} is not a duration (Go syntax: "2160h", "1h30m", "90s")` };
  let total = 0;
  while (rest !== '') {
    const match = PART.exec(rest);
    if (match === null) return { reason: `${JSON.stringify(text)} is not a duration (Go syntax: "2160h", "1h30m", "90s")` };
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return { reason: `${JSON.stringify(text)} is too long` };
  return { ms: sign * Math.floor(total) };
}

/** Go's `Duration.String()` for whole seconds: `2160h0m0s`, `1m30s`, `0s`. */
export function formatGoDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

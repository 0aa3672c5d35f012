/**
 * Durations as Kubernetes and Vault users write them: a sequence of `<number><unit>` with the
 * units `d`, `h`, `m`, `s` (`90s`, `5m`, `1h30m`, `1.5h`). Certificates carry second-precision
 * times, so a duration must come out as a whole, positive number of seconds.
 */

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?[dhms])+$/;
const PART = /(\d+(?:\.\d+)?)([dhms])/g;

/** A duration in milliseconds, or a reason it is not one (never throws). */
export function parseDuration(text: string): { ms: number } | { reason: string } {
  if (!WHOLE.test(text)) return { reason: `${JSON.stringify(text)} is not a duration; write it like "90s", "5m" or "1h30m" (units d, h, m, s)` };
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) return { reason: `${JSON.stringify(text)} is too long` };
  if (ms <= 0) return { reason: `${JSON.stringify(text)} must be longer than zero` };
  if (ms % 1_000 !== 0) return { reason: `${JSON.stringify(text)} must be a whole number of seconds` };
  return { ms };
}

/** `300000` → `"5m"`, for messages and docs. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1_000);
  let text = '';
  for (const [unit, size] of [['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text === '' ? '0s' : text;
}

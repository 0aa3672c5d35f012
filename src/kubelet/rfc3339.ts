/**
 * Strict RFC 3339 date-time parsing. `Date.parse` is too lenient (it accepts "2026-02-30",
 * dates without a zone, and implementation-specific formats), and a token's expiry is
 * something we compare against, so we accept only what RFC 3339 §5.6 allows. Kubernetes
 * (metav1.Time) writes second precision in UTC, e.g. `2026-01-01T00:00:00Z`.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** The instant, or undefined when `value` is not an RFC 3339 date-time. */
export function parseRfc3339(value: string): Date | undefined {
  const match = RFC3339.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  // Leap seconds (60) are legal in RFC 3339 but Go's time.Parse, and so Kubernetes, never emits them.
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;

  let offsetMinutes = 0;
  if (zulu === undefined) {
    const offsetHours = Number(oh);
    const offsetMins = Number(om);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly.
  date.setUTCFullYear(year, month - 1, day);
  return new Date(date.getTime() - offsetMinutes * 60_000);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** RFC 3339 in UTC at second precision, the way Kubernetes writes metav1.Time. */
export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `90s`, `5m`, `1h30m`, `250ms` or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = trimmed;
  const part = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  if (rest === '') throw new Error(`${what}: empty duration`);
  while (rest !== '') {
    const match = part.exec(rest);
    if (match === null) throw new Error(`${what}: ${JSON.stringify(text)} is not a duration (use e.g. 90s, 5m, 1h)`);
    total += Number(match[1]) * (units[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return total;
}

import { readFileSync } from 'node:fs';

/** The version from package.json (dist/src/cli → the package root is three levels up). */
export function readPackageVersion(): string {
  const raw = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(raw) as { version: string }).version;
}

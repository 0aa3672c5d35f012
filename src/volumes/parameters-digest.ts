import { createHash } from 'node:crypto';

/**
 * A stable digest of what a pod asked for (provider + parameters), stored in metadata so a
 * re-publish with different arguments is detected after a restart without keeping the
 * arguments themselves on disk (some, like a PKCS#12 password, are sensitive).
 */
export function parametersDigest(provider: string, parameters: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify([provider, Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Key under which identical fetches are shared: same provider, identity and parameters. */
export function fetchKey(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Policy patterns for secret paths. A path is `/`-separated, relative to the store's `secrets/`.
 * - `*` matches any characters within one path element (never `/`);
 * - `**` as a whole element matches any number of elements: `payments/**` is everything under
 *   `payments/`, `**` is everything, `**\/db` is every `db` at any depth;
 * - everything else matches itself.
 * Patterns are compiled once, when the policy is loaded.
 */

export type SecretGlob = (secretPath: string) => boolean;

/** Compile a pattern, or return why it is not a valid one. */
export function compileSecretGlob(pattern: string): SecretGlob | { reason: string } {
  if (pattern.length === 0) return { reason: 'a pattern must not be empty' };
  if (pattern.startsWith('/')) return { reason: 'patterns are relative to secrets/ and must not start with "/"' };
  const elements = pattern.split('/');
  let source = '';
  for (const [index, element] of elements.entries()) {
    const last = index === elements.length - 1;
    if (element === '' ) return { reason: 'a pattern must not contain an empty path element ("//" or a trailing "/")' };
    if (element === '.' || element === '..') return { reason: `a pattern must not contain a ${JSON.stringify(element)} element` };
    if (element === '**') {
      // 1. a trailing `**` needs at least one more element (`a/**` is what is *under* a);
      // 2. an inner one may match none (`a/**/b` matches `a/b`).
      source += last ? '[^/]+(?:/[^/]+)*' : '(?:[^/]+/)*';
      continue;
    }
    if (element.includes('**')) return { reason: '"**" must be a whole path element, as in "a/**" or "a/**/b"' };
    source += element
      .split('*')
      .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
    if (!last) source += '/';
  }
  const regex = new RegExp(`^${source}$`, 'u');
  return (secretPath: string) => regex.test(secretPath);
}

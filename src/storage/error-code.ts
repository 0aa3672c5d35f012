/**
 * Node reports file-system failures as errors with a string `code` (`ENOENT`, `EINVAL`, ...).
 * Catch variables are `unknown`, so narrow safely instead of casting: a non-Error throw (or an
 * error without a code) yields `undefined` and is treated as unexpected by callers.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Run `script` as an ES module in a child Node.js process: for what a test cannot do in its own
 * process — other V8 flags (`--throw-deprecation`, a small young generation, `--expose-gc`), a heap
 * of its own to measure, a hang that must not stop the test runner. Rejects when the child fails
 * or outlives `timeoutMs`; resolves to what it printed.
 */
export async function runModuleScript(script: string, options: { readonly nodeFlags?: readonly string[]; readonly timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const args = [...(options.nodeFlags ?? []), '--input-type=module', '-e', script];
  return promisify(execFile)(process.execPath, args, { timeout: options.timeoutMs ?? 30_000 });
}

/** The URL of a built module of the driver (`path` under src/, e.g. `cli/malloc-trim.js`), for a script's `import()`. */
export function sourceModule(path: string): string {
  return JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);
}

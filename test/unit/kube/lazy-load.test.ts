import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DIST = resolve(fileURLToPath(import.meta.url), '../../../..');

/**
 * @kubernetes/client-node costs ~0.7 s of CPU and ~70 MiB of RSS to load: the driver must not load
 * it at start (cold start and RSS are benchmarked), only for the first class reference or event.
 * A child process records every module it loads through a module-resolution hook.
 */
describe('the Kubernetes client is loaded lazily', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-lazy-'));
    // Resolution hooks run on their own thread: they append each resolved URL to a file.
    await writeFile(
      join(dir, 'hooks.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function resolve(specifier, context, next) {',
        '  const result = await next(specifier, context);',
        "  appendFileSync(process.env.CREDMOUNT_LOADED_LOG, result.url + '\\n');",
        '  return result;',
        '}',
      ].join('\n'),
    );
    await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadedBy(script: string, name: string): Promise<string[]> {
    const log = join(dir, `${name}.log`);
    await writeFile(join(dir, `${name}.mjs`), script);
    await run(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, `${name}.mjs`)], { env: { ...process.env, CREDMOUNT_LOADED_LOG: log }, timeout: 60_000 });
    return (await readFile(log, 'utf8')).split('\n').filter((line) => line.includes('@kubernetes/client-node'));
  }

  test('a driver started with events on and a kubeconfig does not load it; the first API call does', async () => {
    const start = `
      import { parseDriverConfig } from ${JSON.stringify(pathToFileURL(join(DIST, 'src/cli/config.js')).href)};
      import { startDriver } from ${JSON.stringify(pathToFileURL(join(DIST, 'src/cli/driver-app.js')).href)};
      import { silentLogger } from ${JSON.stringify(pathToFileURL(join(DIST, 'src/observability/logger.js')).href)};
      const dir = ${JSON.stringify(dir)};
      const config = parseDriverConfig(['--endpoint', 'unix://' + dir + '/csi.sock', '--state-dir', dir + '/state', '--providers', 'vault', '--default-provider', 'vault',
        '--vault-address', 'http://127.0.0.1:1', '--kube-events', 'true', '--kubeconfig', dir + '/kubeconfig']);
      const app = await startDriver(config, { logger: silentLogger() });
      await app.stop();
    `;
    assert.deepEqual(await loadedBy(start, 'start'), [], 'nothing of @kubernetes/client-node at start');

    const firstCall = `
      import { KubeApi } from ${JSON.stringify(pathToFileURL(join(DIST, 'src/kube/kube-api.js')).href)};
      const api = new KubeApi({ kubeconfig: ${JSON.stringify(join(dir, 'absent-kubeconfig'))}, requestTimeoutMs: 1000 });
      await api.getSecretProviderClass('demo', 'x').catch(() => undefined);
    `;
    assert.ok((await loadedBy(firstCall, 'first-call')).length > 0, 'the first call loads it (the check above can see it)');
  });
});

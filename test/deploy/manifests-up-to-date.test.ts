import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, helmBinary, parseManifests } from './chart-support.js';
import { validateAgainstOpenApi } from './openapi-validate.js';

const run = promisify(execFile);

it('deploy/manifests/ is what scripts/render-manifests.sh renders from the chart now', async () => {
  const out = await mkdtemp(join(tmpdir(), 'credmount-manifests-'));
  try {
    await run('bash', [join(REPO_ROOT, 'scripts/render-manifests.sh'), out], { env: { ...process.env, HELM: await helmBinary() } });
    const committedDir = join(REPO_ROOT, 'deploy/manifests');
    const files = (await readdir(out)).sort();
    assert.deepEqual(files, ['credmount.yaml', 'secretproviderclass-crd.yaml']);
    assert.deepEqual((await readdir(committedDir)).filter((f) => f.endsWith('.yaml')).sort(), files);
    for (const file of files) {
      const fresh = await readFile(join(out, file), 'utf8');
      assert.equal(await readFile(join(committedDir, file), 'utf8'), fresh, `deploy/manifests/${file} is stale: run scripts/render-manifests.sh`);
      const objects = parseManifests(fresh);
      assert.ok(objects.length > 0);
      for (const object of objects) await validateAgainstOpenApi(object);
    }
    const main = parseManifests(await readFile(join(committedDir, 'credmount.yaml'), 'utf8')).map((o) => o.kind);
    assert.ok(!main.includes('CustomResourceDefinition'), 'the CRD is a separate file, applied only when missing');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

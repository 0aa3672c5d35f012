import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmbeddedProvider } from '../../../../src/providers/embedded/embedded-provider.js';
import { writeSampleStore } from '../../../../src/providers/embedded/sample-store.js';
import type { PodIdentity } from '../../../../src/providers/provider.js';
import { fetchRequest, tempDir, tokenSet, TokenIssuer } from './support.js';

describe('sample store', () => {
  it('writes a store the demo pod (demo/app) can read secrets and certificates from', async () => {
    const dir = await tempDir();
    try {
      const storeDir = join(dir.path, 'store');
      const store = await writeSampleStore(storeDir);
      assert.equal(store.namespace, 'demo');
      assert.equal(store.serviceAccount, 'app');
      assert.deepEqual(store.secretPaths, ['demo/db-password', 'demo/api-key']);
      assert.equal((await stat(join(storeDir, 'secrets/demo/db-password'))).mode & 0o777, 0o600);

      const issuer = await TokenIssuer.create();
      const jwksFile = join(dir.path, 'jwks.json');
      await writeFile(jwksFile, JSON.stringify(issuer.jwks));
      const provider = await createEmbeddedProvider({ storeDir, jwksFile });
      try {
        const pod: PodIdentity = { namespace: 'demo', serviceAccountName: 'app', podName: 'app-0', podUid: '7e1d4c2a-0000-4000-8000-000000000001' };
        const parsed = provider.parse({ objects: store.objectsParameter }, pod);
        const result = await provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint({ identity: pod })), pod));
        assert.deepEqual(result.files.map((f) => f.path).sort(), ['api-key', 'ca.crt', 'db-password', 'tls.crt', 'tls.key']);
        const dbPassword = result.files.find((f) => f.path === 'db-password');
        assert.deepEqual(dbPassword?.content, new Uint8Array(await readFile(join(storeDir, 'secrets/demo/db-password'))));

        // another service account of the namespace gets nothing
        const other: PodIdentity = { ...pod, serviceAccountName: 'default' };
        const otherParsed = provider.parse({ objects: store.objectsParameter }, other);
        await assert.rejects(provider.fetch(fetchRequest(otherParsed.value, tokenSet(await issuer.mint({ identity: other })), other)), /access denied/);
      } finally {
        await provider.close();
      }

      // a second run keeps the secret values
      const before = await readFile(join(storeDir, 'secrets/demo/api-key'));
      await writeSampleStore(storeDir);
      assert.deepEqual(await readFile(join(storeDir, 'secrets/demo/api-key')), before);
    } finally {
      await dir.cleanup();
    }
  });
});

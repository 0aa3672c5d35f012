import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCredmountError, type CredmountError } from '../../../../src/errors/credmount-error.js';
import { createEmbeddedProvider, type EmbeddedProvider } from '../../../../src/providers/embedded/embedded-provider.js';
import type { FetchResult } from '../../../../src/providers/provider.js';
import { BILLING, createStore, fetchRequest, tempDir, text, tokenSet, TokenIssuer, writeFiles } from './support.js';

describe('embedded provider: secrets', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let issuer: TokenIssuer;
  let storeDir: string;
  let provider: EmbeddedProvider;
  let clock: number;

  before(async () => {
    dir = await tempDir();
    issuer = await TokenIssuer.create();
    const jwksFile = join(dir.path, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(issuer.jwks));
    storeDir = await createStore(dir.path);
    clock = Date.now();
    provider = await createEmbeddedProvider({ storeDir, jwksFile, refreshIntervalMs: 120_000, reloadIntervalMs: 1_000, now: () => new Date(clock) });
  });
  after(async () => {
    await provider.close();
    await dir.cleanup();
  });

  async function fetchObjects(objects: string, now = new Date()): Promise<FetchResult> {
    const parsed = provider.parse({ objects }, BILLING);
    return provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint()), BILLING, now));
  }

  async function fetchError(objects: string): Promise<CredmountError> {
    try {
      await fetchObjects(objects);
    } catch (error: unknown) {
      assert.ok(isCredmountError(error), String(error));
      return error;
    }
    assert.fail('fetch should have failed');
  }

  it('returns every object with its mode, a file-metadata version and refreshAt = now + refreshInterval', async () => {
    const now = new Date();
    const result = await fetchObjects('- {objectName: db, secretPath: payments/db-password, filePermission: "0640"}\n- {objectName: conf/api-key, secretPath: payments/api-key}', now);
    assert.deepEqual(
      result.files.map((f) => [f.path, text(f.content), f.mode]),
      [
        ['db', 's3cr3t-db-password', 0o640],
        ['conf/api-key', 'api-key-value', undefined],
      ],
    );
    const info = await stat(join(storeDir, 'secrets/payments/db-password'));
    assert.equal(result.versions['db'], `${info.mtimeMs}-${info.ctimeMs}-${info.ino}`);
    assert.equal(result.refreshAt.getTime(), now.getTime() + 120_000);
    assert.equal(result.expiresAt, undefined);
  });

  it('derives versions from file metadata, never from the value', async () => {
    await writeFiles(storeDir, { 'secrets/payments/twin-a': 'same-value', 'secrets/payments/twin-b': 'same-value' });
    const first = await fetchObjects('- {objectName: a, secretPath: payments/twin-a}\n- {objectName: b, secretPath: payments/twin-b}');
    const [a, b] = [first.versions['a'] ?? '', first.versions['b'] ?? ''];
    // identical values, different files → different versions
    assert.notEqual(a, b);
    const digests = ['hex', 'base64', 'base64url'].map((encoding) => createHash('sha256').update('same-value').digest(encoding as 'hex'));
    for (const version of [a, b]) {
      assert.ok(!version.includes('same-value'));
      for (const digest of digests) assert.ok(!version.includes(digest) && !version.includes(digest.slice(0, 8)));
      assert.match(version, /^[\d.]+-[\d.]+-\d+$/);
    }

    // a new value (same length) in place changes the version; the old value does not come back
    await writeFile(join(storeDir, 'secrets/payments/twin-a'), 'diff-value');
    await utimes(join(storeDir, 'secrets/payments/twin-a'), new Date(), new Date(Date.now() + 5_000));
    const second = await fetchObjects('- {objectName: a, secretPath: payments/twin-a}');
    assert.notEqual(second.versions['a'], a);
    assert.equal(text(second.files[0]?.content ?? new Uint8Array()), 'diff-value');
  });

  it('answers NOT_FOUND naming the path of a missing secret', async () => {
    const error = await fetchError('- {objectName: x, secretPath: payments/does-not-exist}');
    assert.equal(error.status, 'NOT_FOUND');
    assert.match(error.message, /secret "payments\/does-not-exist" does not exist/);
    const directory = await fetchError('- {objectName: x, secretPath: payments/reports}');
    assert.equal(directory.status, 'NOT_FOUND'); // "payments/*" allows it, but it is a directory
    assert.match(directory.message, /secret "payments\/reports" as a regular file/);
  });

  it('refuses a symlink that leads out of secrets/', async () => {
    await writeFile(join(dir.path, 'outside'), 'host-secret');
    await symlink(join(dir.path, 'outside'), join(storeDir, 'secrets/payments/escape'));
    await symlink('../../policy.yaml', join(storeDir, 'secrets/payments/policy-link'));
    for (const path of ['payments/escape', 'payments/policy-link']) {
      const error = await fetchError(`- {objectName: x, secretPath: ${path}}`);
      assert.equal(error.status, 'PERMISSION_DENIED', path);
      assert.match(error.message, /outside the store's secrets\/ directory/);
      assert.ok(!error.message.includes('host-secret'));
    }
  });

  it('refuses a directory symlink that leads out of secrets/', async () => {
    const other = await tempDir();
    try {
      const jwksFile = join(dir.path, 'jwks.json');
      const store = join(other.path, 'store');
      await writeFiles(store, { 'policy.yaml': 'rules:\n  - {namespace: payments, serviceAccount: billing, secrets: ["**"]}\n', 'secrets/ok': 'fine' });
      await writeFiles(other.path, { 'host/etc/key': 'host-key' });
      await symlink(join(other.path, 'host'), join(store, 'secrets/linked'));
      const wide = await createEmbeddedProvider({ storeDir: store, jwksFile });
      try {
        const parsed = wide.parse({ objects: '- {objectName: x, secretPath: linked/etc/key}' }, BILLING);
        await assert.rejects(wide.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint()))), (error: unknown) => {
          assert.ok(isCredmountError(error));
          assert.equal(error.status, 'PERMISSION_DENIED');
          assert.match(error.message, /secret "linked\/etc\/key": access denied: it resolves to a file outside/);
          return true;
        });
      } finally {
        await wide.close();
      }
    } finally {
      await other.cleanup();
    }
  });

  it('follows a symlink that stays inside secrets/', async () => {
    await symlink('db-password', join(storeDir, 'secrets/payments/db-alias'));
    const result = await fetchObjects('- {objectName: x, secretPath: payments/db-alias}');
    assert.equal(text(result.files[0]?.content ?? new Uint8Array()), 's3cr3t-db-password');
  });

  it('refuses a symlink inside secrets/ that leads to a secret the policy does not allow', async () => {
    await symlink('../other/db-password', join(storeDir, 'secrets/payments/sneaky'));
    const error = await fetchError('- {objectName: x, secretPath: payments/sneaky}');
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.match(error.message, /other\/db-password/);
  });

  it('checks the policy for every object before reading any', async () => {
    const error = await fetchError('- {objectName: a, secretPath: payments/db-password}\n- {objectName: b, secretPath: other/db-password}');
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.match(error.message, /secret "other\/db-password"/);
    // a path the pod may not read is refused the same way whether or not it exists
    const missing = await fetchError('- {objectName: a, secretPath: other/nothing-here}');
    assert.equal(missing.status, 'PERMISSION_DENIED');
  });

  it('reloads policy.yaml when it changes, at most once per interval, and fails closed on a broken one', async () => {
    const objects = '- {objectName: a, secretPath: other/db-password}';
    const policyPath = join(storeDir, 'policy.yaml');
    assert.equal((await fetchError(objects)).status, 'PERMISSION_DENIED');

    // 1. a new policy (written elsewhere and renamed, as editors do) is seen after the interval
    await writeFile(`${policyPath}.tmp`, 'rules:\n  - {namespace: payments, serviceAccount: billing, secrets: ["**"]}\n');
    await rename(`${policyPath}.tmp`, policyPath);
    assert.equal((await fetchError(objects)).status, 'PERMISSION_DENIED', 'not re-checked within the interval');
    clock += 1_000;
    assert.equal(text((await fetchObjects(objects)).files[0]?.content ?? new Uint8Array()), 'other-team-password');

    // 2. a broken policy does not leave the old one in force
    await writeFile(`${policyPath}.tmp`, 'rules:\n  - {namespace: payments}\n');
    await rename(`${policyPath}.tmp`, policyPath);
    clock += 1_000;
    const broken = await fetchError(objects);
    assert.equal(broken.status, 'UNAVAILABLE');
    assert.match(broken.message, /policy\.yaml: rules\[0\]\.serviceAccount: is required/);

    // 3. removing the file denies everything, and says why
    await writeFile(`${policyPath}.tmp`, 'rules: []\n');
    await rename(`${policyPath}.tmp`, join(dir.path, 'parked-policy.yaml'));
    await rename(policyPath, join(dir.path, 'broken-policy.yaml'));
    clock += 1_000;
    assert.match((await fetchError(objects)).message, /the store has no policy file/);
  });
});

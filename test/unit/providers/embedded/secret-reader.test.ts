import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCredmountError } from '../../../../src/errors/credmount-error.js';
import { storeSecretReader } from '../../../../src/providers/embedded/secret-reader.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('storeSecretReader', () => {
  let dir: string;
  let secrets: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-secret-reader-'));
    // A store whose secrets/ is a symlink to a generation directory, as a mounted volume's is.
    for (const generation of ['gen1', 'gen2']) {
      await mkdir(join(dir, generation, 'payments'), { recursive: true });
      await writeFile(join(dir, generation, 'payments', 'a'), `${generation}-a`);
      await writeFile(join(dir, generation, 'payments', 'b'), `${generation}-b`);
    }
    secrets = join(dir, 'secrets');
    await symlink('gen1', secrets);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every secret of one fetch from the root as it was at the first read', async () => {
    const read = storeSecretReader(secrets);
    assert.equal(text(read('payments/a').content), 'gen1-a');
    // The root is swapped between two reads of one fetch (atomically, as kubelet swaps ..data).
    await symlink('gen2', join(dir, 'secrets.next'));
    await rename(join(dir, 'secrets.next'), secrets);
    assert.equal(text(read('payments/b').content), 'gen1-b', 'not a mix of generations');
    // The next fetch sees the new root.
    assert.equal(text(storeSecretReader(secrets)('payments/b').content), 'gen2-b');
  });

  it('a store without secrets/ fails on the first read, naming the secret, not when the reader is made', () => {
    const read = storeSecretReader(join(dir, 'missing'));
    assert.throws(
      () => read('payments/a'),
      (error: unknown) => isCredmountError(error) && error.code === 'CM_BACKEND_NOT_FOUND' && /secret "payments\/a" \(the store has no secrets\/ directory\)/.test(error.message),
    );
  });
});

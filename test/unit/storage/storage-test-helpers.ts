import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import type { VolumeFile, VolumeMetadata } from '../../../src/storage/storage.js';

/** Shared by the storage tests: temp dirs, tree snapshots, coded-error assertions. */

export async function makeTempDir(prefix = 'credmount-storage-'): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), prefix));
}

export function file(path: string, content: string, mode = 0o644): VolumeFile {
  return { path, content: Buffer.from(content, 'utf8'), mode };
}

/** Everything under `dir`: type, mode, gid, symlink target or content. Equal snapshots = unchanged dir. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (relative: string): Promise<void> => {
    const entries = await fs.readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const full = join(dir, path);
      const stats = await fs.lstat(full);
      const meta = `mode=${(stats.mode & 0o7777).toString(8)} gid=${stats.gid} ino=${stats.ino}`;
      if (entry.isSymbolicLink()) result[path] = `link -> ${await fs.readlink(full)}`;
      else if (entry.isDirectory()) {
        result[path] = `dir ${meta}`;
        await walk(path);
      } else result[path] = `file ${meta} ${(await fs.readFile(full)).toString('base64')}`;
    }
  };
  await walk('');
  return result;
}

/** Assert that `action` rejects with the catalogue error `code` and gRPC status `status`. */
export async function assertRejectsWithCode(action: () => Promise<unknown>, code: string, status: string): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(isCredmountError(error), `expected a CredmountError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return true;
  });
}

export function assertThrowsWithCode(action: () => unknown, code: string, status: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(isCredmountError(error), `expected a CredmountError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return true;
  });
}

/** A complete, realistic record (no secrets: the type has no field for one). */
export function sampleMetadata(volumeId: string, overrides: Partial<VolumeMetadata> = {}): VolumeMetadata {
  return {
    volumeId,
    targetPath: '/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/creds/mount',
    podUid: 'uid-1',
    podNamespace: 'team-a',
    podName: 'web-0',
    serviceAccountName: 'web',
    provider: 'vault',
    parametersDigest: 'a'.repeat(64),
    readOnly: true,
    mountGroup: 2000,
    mounterKind: 'tmpfs',
    versions: { 'db/creds': 'lease-1', 'tls.crt': '3' },
    publishedAt: '2026-01-01T00:00:00.000Z',
    refreshedAt: '2026-01-01T00:00:00.000Z',
    refreshAt: '2026-01-01T00:45:00.000Z',
    expiresAt: '2026-01-01T01:00:00.000Z',
    ...overrides,
  };
}

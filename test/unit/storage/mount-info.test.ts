import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeMountField, mountsBelow, parseMountInfo, readMountInfo, readTopMountAt, topMountAt } from '../../../src/storage/mount-info.js';

const SAMPLE = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  // No optional fields at all.
  '40 22 0:40 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1024k,mode=750,gid=2000',
  // Several optional fields, and escaped characters in the mount point.
  '41 22 0:41 / /mnt/with\\040space\\011tab\\134back rw,relatime shared:5 master:2 - tmpfs tmp\\040fs rw',
  // A bind mount stacked over the tmpfs above.
  '42 40 8:1 /srv /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount rw,relatime - ext4 /dev/sda1 rw',
  '43 40 0:43 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount/nested rw - tmpfs tmpfs rw',
  '',
].join('\n');

void describe('mount-info', () => {
  void it('parses fixed fields around a variable number of optional fields', () => {
    const entries = parseMountInfo(SAMPLE);
    assert.equal(entries.length, 5);
    assert.deepEqual(entries[1], {
      mountPoint: '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount',
      mountOptions: 'rw,nosuid,nodev,noexec,relatime',
      fsType: 'tmpfs',
      source: 'tmpfs',
      superOptions: 'rw,size=1024k,mode=750,gid=2000',
    });
    assert.equal(entries[2]?.fsType, 'tmpfs');
  });

  void it('decodes the octal escapes of mount points and sources', () => {
    const entries = parseMountInfo(SAMPLE);
    assert.equal(entries[2]?.mountPoint, '/mnt/with space\ttab\\back');
    assert.equal(entries[2]?.source, 'tmp fs');
  });

  void it('topMountAt returns the last (topmost) mount at exactly that path', () => {
    const entries = parseMountInfo(SAMPLE);
    assert.equal(topMountAt(entries, '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount')?.fsType, 'ext4');
    assert.equal(topMountAt(entries, '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v'), undefined);
  });

  void it('mountsBelow finds mounts strictly inside a directory, not siblings with a common prefix', () => {
    const entries = parseMountInfo(SAMPLE);
    assert.deepEqual(
      mountsBelow(entries, '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount').map((e) => e.mountPoint),
      ['/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount/nested'],
    );
    assert.deepEqual(mountsBelow(entries, '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mou'), []);
  });

  void it('escapeMountField is the inverse of the kernel escaping parseMountInfo decodes', () => {
    const path = '/mnt/with space\ttab\\back\nline';
    assert.equal(escapeMountField(path), '/mnt/with\\040space\\011tab\\134back\\012line');
    assert.equal(parseMountInfo(`1 1 0:1 / ${escapeMountField(path)} rw - tmpfs tmpfs rw`)[0]?.mountPoint, path);
  });

  void it('readTopMountAt finds the same entry as a full parse, for every mount point in the sample and for absent paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credmount-mountinfo-'));
    try {
      const file = join(dir, 'mountinfo');
      // The sample, plus a line whose root field (not its mount point) is a path asked about.
      const text = `${SAMPLE}44 22 8:1 /mnt/x /elsewhere rw - ext4 /dev/sda1 rw\n`;
      await writeFile(file, text);
      const entries = parseMountInfo(text);
      for (const path of [...entries.map((e) => e.mountPoint), '/mnt/x', '/var/lib/kubelet', '/nothing']) {
        assert.deepEqual(await readTopMountAt(path, file), topMountAt(entries, path), path);
      }
      assert.equal((await readTopMountAt('/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount', file))?.fsType, 'ext4');
      assert.equal(await readTopMountAt('/mnt/x', file), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('reads the real table of this process, which always has a root mount', async () => {
    const entries = await readMountInfo();
    assert.ok(entries.some((entry) => entry.mountPoint === '/'));
  });
});

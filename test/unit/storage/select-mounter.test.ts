import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirectoryMounter } from '../../../src/storage/directory-mounter.js';
import { selectMounter } from '../../../src/storage/select-mounter.js';
import { TmpfsMounter } from '../../../src/storage/tmpfs-mounter.js';

void describe('selectMounter', () => {
  void it('chooses tmpfs, without a warning, for root', () => {
    const selection = selectMounter({ uid: 0 });
    assert.ok(selection.mounter instanceof TmpfsMounter);
    assert.equal(selection.mounter.kind, 'tmpfs');
    assert.equal(selection.warning, undefined);
  });

  void it('falls back to directories, with a warning, for any other uid or an unknown one', () => {
    for (const uid of [1000, undefined]) {
      const selection = selectMounter({ uid });
      assert.ok(selection.mounter instanceof DirectoryMounter);
      assert.equal(selection.mounter.kind, 'directory');
      assert.match(selection.warning ?? '', /not running as root.*persistent storage/);
    }
  });

  void it("defaults to this process's uid", () => {
    const selection = selectMounter();
    assert.equal(selection.mounter.kind, process.getuid?.() === 0 ? 'tmpfs' : 'directory');
  });
});

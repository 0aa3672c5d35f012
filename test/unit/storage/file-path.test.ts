import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { MAX_FILE_NAME_BYTES, topLevelName, validateVolumeFilePath, validateVolumeFilePaths, validateVolumeFiles } from '../../../src/storage/file-path.js';
import { assertThrowsWithCode, file } from './storage-test-helpers.js';

const { code: PATH_INVALID, status: INVALID_ARGUMENT } = Errors.filePathInvalid;

void describe('validateVolumeFilePath', () => {
  void it('accepts ordinary relative names and normalises `.` elements away', () => {
    assert.equal(validateVolumeFilePath('tls.crt'), 'tls.crt');
    assert.equal(validateVolumeFilePath('a/b/c.json'), 'a/b/c.json');
    assert.equal(validateVolumeFilePath('./a/./b'), 'a/b');
    assert.equal(validateVolumeFilePath('.hidden'), '.hidden');
    // Only the first element is reserved: `..x` deeper down is inside a generation directory.
    assert.equal(validateVolumeFilePath('dir/..x'), 'dir/..x');
    assert.equal(validateVolumeFilePath('ü'.repeat(127)), 'ü'.repeat(127)); // 254 bytes
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['absolute', '/etc/passwd', /absolute/],
    ['parent element', '../escape', /'\.\.'/],
    ['parent element in the middle', 'a/../../b', /'\.\.'/],
    ['parent element at the end', 'a/..', /'\.\.'/],
    ['reserved ..data', '..data', /reserved/],
    ['reserved ..data_tmp', '..data_tmp', /reserved/],
    ['reserved .. prefix', '..2026_01_01', /reserved/],
    ['reserved .. prefix after ./', './..data', /reserved/],
    ['NUL', 'a\0b', /NUL/],
    ['empty element', 'a//b', /empty path element/],
    ['trailing slash', 'a/', /empty path element/],
    ['backslash', 'a\\b', /backslash/],
    ['backslash traversal', '..\\..\\x', /backslash/],
    ['volume itself', '.', /volume directory/],
    ['volume itself, spelled long', './.', /volume directory/],
    ['lone surrogate', 'a\ud800', /Unicode/],
    ['element over 255 bytes', 'x'.repeat(MAX_FILE_NAME_BYTES + 1), /255 bytes/],
    ['element over 255 bytes in UTF-8', 'ü'.repeat(128), /255 bytes/],
    ['path over 4096 bytes', Array.from({ length: 17 }, () => 'y'.repeat(250)).join('/'), /4096 bytes/],
  ];
  for (const [title, path, reason] of invalid) {
    void it(`refuses ${title}`, () => {
      assertThrowsWithCode(() => validateVolumeFilePath(path), PATH_INVALID, INVALID_ARGUMENT);
      assert.throws(() => validateVolumeFilePath(path), (error: Error) => reason.test(error.message));
    });
  }

  void it('names the file path field', () => {
    assert.throws(() => validateVolumeFilePath('/x'), { field: 'file path' });
  });
});

void describe('validateVolumeFilePaths', () => {
  void it('returns the normalised names in input order', () => {
    assert.deepEqual(validateVolumeFilePaths(['b', './a/c', 'a/d']), ['b', 'a/c', 'a/d']);
  });

  void it('refuses two entries for the same file, also when spelled differently', () => {
    assertThrowsWithCode(() => validateVolumeFilePaths(['a', 'a']), PATH_INVALID, INVALID_ARGUMENT);
    assert.throws(() => validateVolumeFilePaths(['x/a', './x/a']), /same file/);
  });

  void it('refuses a name that is both a file and a directory, in either order and at any depth', () => {
    for (const paths of [['a', 'a/b'], ['a/b', 'a'], ['a/b/c', 'a/b'], ['a/b', 'a/b/c/d']]) {
      assertThrowsWithCode(() => validateVolumeFilePaths(paths), PATH_INVALID, INVALID_ARGUMENT);
      assert.throws(() => validateVolumeFilePaths(paths), /cannot also be a directory/);
    }
  });

  void it('accepts siblings that share a directory or a name prefix', () => {
    assert.deepEqual(validateVolumeFilePaths(['a/b', 'a/c', 'ab', 'a.b']), ['a/b', 'a/c', 'ab', 'a.b']);
  });
});

void describe('validateVolumeFiles', () => {
  void it('refuses content over the limit with CM_CONTENT_TOO_LARGE', () => {
    assertThrowsWithCode(() => validateVolumeFiles([file('a', '12345'), file('b', '678')], 7), Errors.contentTooLarge.code, 'INVALID_ARGUMENT');
    assert.deepEqual(validateVolumeFiles([file('a', '12345'), file('b', '67')], 7), ['a', 'b']);
  });

  void it('refuses modes outside 0..0o777', () => {
    for (const mode of [-1, 0o1000, 0o4755, 1.5, Number.NaN]) {
      assertThrowsWithCode(() => validateVolumeFiles([file('a', 'x', mode)], 100), Errors.fieldInvalid.code, 'INVALID_ARGUMENT');
    }
  });
});

void describe('topLevelName', () => {
  void it('is the first element', () => {
    assert.equal(topLevelName('a/b/c'), 'a');
    assert.equal(topLevelName('a'), 'a');
  });
});

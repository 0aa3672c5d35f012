import * as assert from 'node:assert/strict';
import type { VolumeFile } from '../../../src/storage/storage.js';

/** The files of the generation test: two at the top, one nested. */
export const NAMES = ['a.pem', 'b.key', 'nested/c.json'] as const;
/** Big enough that a read is several syscalls' worth of work, so reads and swaps overlap. */
const FILE_BYTES = 16 * 1024;

/** Generation `g`'s content of `name`: a header naming both, padded to a fixed size. */
export function content(g: number, name: string): Buffer {
  const header = `generation=${g} file=${name};`;
  return Buffer.from(header.padEnd(FILE_BYTES, String.fromCharCode(97 + (g % 26))));
}

export function generationFiles(g: number): VolumeFile[] {
  return NAMES.map((name) => ({ path: name, content: content(g, name), mode: 0o644 }));
}

/** Check a read: a complete file of one generation (never empty, never torn); returns the generation. */
export function generationOf(name: string, data: Buffer): number {
  const match = /^generation=(\d+) file=([^;]+);/.exec(data.subarray(0, 64).toString());
  assert.ok(match, `${name}: content is empty or not a generation (${data.length} bytes)`);
  assert.equal(match[2], name);
  const g = Number(match[1]);
  assert.ok(data.equals(content(g, name)), `${name}: torn content for generation ${g}`);
  return g;
}

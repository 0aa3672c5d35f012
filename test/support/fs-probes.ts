import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Whether anything exists at `path` (following symlinks). */
export function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every regular file below `dir`, recursively, as `path\ncontent` text: for searching canaries. */
export async function readTree(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) text += await readTree(path);
    // A live state directory: a temp file can be renamed away between readdir and read.
    else if (entry.isFile()) text += `\n${path}\n${await readFile(path, 'latin1').catch(() => '')}`;
  }
  return text;
}

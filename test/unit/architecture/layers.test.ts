import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * ARCHITECTURE.md §3: rooms depend only on rooms below them. This walks the TypeScript sources
 * (not the build) and checks every relative import against that order.
 */
const ROOMS = ['cli', 'csi', 'kubelet', 'volumes', 'storage', 'providers', 'kube', 'observability', 'errors'];
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const srcRoot = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function roomOf(file: string): string {
  return relative(srcRoot, file).split('/')[0] ?? '';
}

test('every source file is in a known room', () => {
  for (const file of sourceFiles(srcRoot)) assert.ok(ROOMS.includes(roomOf(file)), `${relative(repoRoot, file)} is outside the rooms ${ROOMS.join(', ')}`);
});

test('imports flow downward only, and nothing below csi/ imports gRPC', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(srcRoot)) {
    const from = roomOf(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) {
        const to = roomOf(resolve(dirname(file), specifier));
        if (ROOMS.indexOf(to) < ROOMS.indexOf(from)) violations.push(`${relative(repoRoot, file)} (${from}) imports ${specifier} (${to})`);
      } else if (specifier.startsWith('@grpc/') && ROOMS.indexOf(from) > ROOMS.indexOf('csi')) {
        violations.push(`${relative(repoRoot, file)} (${from}) imports gRPC`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the check itself notices an upward import', () => {
  // Guard against a regex that silently matches nothing.
  const sample = "import { x } from '../csi/server.js';";
  const specifiers = [...sample.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  assert.deepEqual(specifiers, ['../csi/server.js']);
});

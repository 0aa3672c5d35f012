/**
 * Bundles the compiled `credmount` command (dist/src/cli/main.js) with its JavaScript
 * dependencies into dist/bundle/cli/: what the container image runs, the benchmarks measure and
 * the end-to-end tests start. `npm run build` runs it after tsc: `node dist/scripts/bundle.js`.
 *
 * Why: a driver process loads some 400 CommonJS and ES modules from node_modules at start-up;
 * resolving, reading and wrapping each one was ~150 ms of a ~600 ms cold start (bench/README.md,
 * optimisation log). One bundle with code splitting keeps the lazy loading of the source —
 * commands, providers and @kubernetes/client-node stay separate chunks loaded on first use.
 *
 * Layout: dist/bundle/cli/ sits at the same depth below the package root as dist/src/cli/, so the
 * relative paths the code computes from `import.meta.url` (proto/csi.proto, package.json) resolve
 * the same from either. koffi stays in node_modules: it is a native addon, loaded through
 * createRequire. Other packages' own `require` of optional modules (protobufjs's inquire) gets a
 * real `require` from the banner and resolves them from node_modules as before.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, from dist/scripts/bundle.js. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BUNDLE_DIR = 'dist/bundle/cli';

// Chunk names carry content hashes: without a clean directory, old chunks would pile up.
rmSync(join(ROOT, BUNDLE_DIR), { recursive: true, force: true });

await build({
  absWorkingDir: ROOT,
  entryPoints: ['dist/src/cli/main.js'],
  outdir: BUNDLE_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: ['koffi'],
  // Minified: V8 keeps every module's source text in memory (to compile functions lazily), and the
  // minified text is ~3 MB smaller (bench/README.md). `.name` is kept for code that reads it; stack
  // traces map back to the source with `node --enable-source-maps` and the linked .map files.
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  banner: { js: "import { createRequire as __credmountCreateRequire } from 'node:module'; const require = __credmountCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

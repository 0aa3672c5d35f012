import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { access, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CsiClient } from '../../src/cli/kubelet-sim/csi-client.js';
import { nodeFlagsFor } from '../../src/cli/runtime-flags.js';
import { REPO_ROOT } from './chart-support.js';

/**
 * There is no container engine here, so the image is tested piece by piece: the Dockerfile's
 * shape, that every COPY source exists (after `npm run build`) and passes .dockerignore, and that
 * the image's production dependency set — `npm ci --omit=dev` plus the same pruning, with the
 * bundle (dist/bundle) and proto/ laid out as in /app — starts the driver, which answers Probe, on
 * this Node.js and on Node.js 24 LTS (the image's).
 */

const run = promisify(execFile);
/** Node.js 24 LTS, the image's runtime (scripts/install-node24.sh; scripts/test.sh installs it). */
const NODE24 = join(REPO_ROOT, '.tools/node24/node_modules/node/bin/node');
const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8');
const lines = dockerfile.split('\n').map((l) => l.trim());

/** The .dockerignore semantics this file uses: `*` excludes everything, `!path` re-includes path and below. */
function inBuildContext(path: string): boolean {
  let included = true;
  for (const raw of dockerignore.split('\n')) {
    const rule = raw.trim();
    if (rule === '' || rule.startsWith('#')) continue;
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/\/$/, '');
    const matches = pattern === '*' || path === pattern || path.startsWith(`${pattern}/`);
    if (matches) included = negate;
  }
  return included;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('Dockerfile', () => {
  it('builds on Node.js 24 LTS in every stage and installs only production dependencies for the runtime', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    assert.ok(base !== undefined && /^node:24(-|$)/.test(base), `base image ${base} is Node.js 24`);
    const froms = lines.filter((l) => l.startsWith('FROM '));
    assert.equal(froms.length, 3, 'multi-stage: build, deps, runtime');
    for (const from of froms) assert.match(from, /^FROM \$\{NODE_IMAGE\}/);
    assert.match(dockerfile, /npm ci --omit=dev/);
    // The runtime stage copies node_modules from the production-only stage, never from the build stage.
    assert.ok(lines.includes('COPY --from=deps /app/node_modules ./node_modules'));
    assert.ok(!lines.some((l) => /^COPY --from=build .*node_modules/.test(l)));
  });

  it('has mount/umount and runs as root only with the reason written down', () => {
    assert.match(dockerfile, /apt-get install -y --no-install-recommends mount/);
    assert.match(dockerfile, /mount --version && umount --version/);
    const user = lines.findIndex((l) => l.startsWith('USER '));
    assert.equal(lines[user], 'USER 0:0');
    const comment = lines.slice(Math.max(0, user - 6), user).join(' ');
    assert.match(comment, /root.*only because mounting needs it/i);
  });

  it("runs the driver with the Node.js flags the benchmarks measured for the image's runtime (src/cli/runtime-flags.ts)", async () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-slim$/m);
    const { stdout: v8Version } = await run(NODE24, ['-p', 'process.versions.v8']);
    assert.deepEqual(JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)?.[1] ?? 'null'), ['node', ...nodeFlagsFor(v8Version.trim()), '/app/dist/bundle/cli/main.js']);
  });

  it('copies only sources that exist and that .dockerignore lets into the context', async () => {
    const copies = lines.filter((l) => l.startsWith('COPY '));
    assert.ok(copies.length >= 8);
    for (const copy of copies) {
      const parts = copy.split(/\s+/).slice(1);
      const from = parts[0]?.startsWith('--from=') ? parts.shift()?.slice('--from='.length) : undefined;
      const sources = parts.slice(0, -1);
      for (const source of sources) {
        if (from === undefined) {
          assert.ok(await exists(join(REPO_ROOT, source)), `${copy}: ${source} exists`);
          assert.ok(inBuildContext(source.replace(/\/$/, '')), `${copy}: ${source} is not excluded by .dockerignore`);
        } else if (from === 'build') {
          // The build stage compiles the repository at /src: its dist/ is ours after `npm run build`.
          assert.ok(source.startsWith('/src/'), `${copy}: build-stage paths are under /src`);
          assert.ok(await exists(join(REPO_ROOT, source.slice('/src/'.length), 'cli/main.js')), `${copy}: ${source} holds the compiled driver`);
        } else {
          assert.equal(from, 'deps', `${copy}: known stage`);
        }
      }
    }
    for (const excluded of ['node_modules', 'dist', '.tools', '.git', 'test', 'docs']) assert.ok(!inBuildContext(excluded), `${excluded} stays out of the build context`);
  });
});

describe('the production dependency set starts the driver', () => {
  let app = '';

  before(async () => {
    // 1. /app as the image lays it out: package.json, production node_modules (pruned), the bundle, proto.
    app = await mkdtemp(join(tmpdir(), 'credmount-image-'));
    for (const file of ['package.json', 'package-lock.json']) await cp(join(REPO_ROOT, file), join(app, file));
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
    await run('bash', [join(REPO_ROOT, 'scripts/prune-production-deps.sh'), join(app, 'node_modules')]);
    await cp(join(REPO_ROOT, 'dist/bundle'), join(app, 'dist/bundle'), { recursive: true });
    await cp(join(REPO_ROOT, 'proto'), join(app, 'proto'), { recursive: true });
  });
  after(async () => {
    await rm(app, { recursive: true, force: true });
  });

  it('holds no development dependency', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; dependencies: Record<string, string> };
    // The lockfile marks what only development needs ("dev": true); some devDependencies (e.g.
    // @types/node) are also needed by a production dependency and are then not marked.
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true);
    assert.ok(devOnly.length > 100, 'the lockfile marks development-only packages');
    for (const [path] of devOnly) assert.ok(!(await exists(join(app, path))), `${path} (development only) is not installed`);
    for (const dev of ['typescript', 'eslint', 'madge', 'kubernetes-models']) assert.ok(dev in pkg.devDependencies && !(await exists(join(app, 'node_modules', dev))), `${dev} is not installed`);
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(await exists(join(app, 'node_modules', dep, 'package.json')), `${dep} is installed`);
  });

  const runtimes: [string, string][] = [[`this Node.js (${process.version})`, process.execPath]];
  if (!process.version.startsWith('v24.')) runtimes.push(['Node.js 24 LTS (scripts/install-node24.sh)', NODE24]);

  for (const [name, nodeBinary] of runtimes) {
    it(`answers Probe and GetPluginInfo on ${name}`, async (t) => {
      assert.ok(await exists(nodeBinary), `${nodeBinary} exists: run scripts/install-node24.sh (scripts/test.sh does)`);
      const { stdout: version } = await run(nodeBinary, ['--version']);
      t.diagnostic(`node ${version.trim()}`);
      if (nodeBinary === NODE24) assert.match(version, /^v24\./);
      const work = await mkdtemp(join(tmpdir(), 'credmount-image-run-'));
      const endpoint = `unix://${join(work, 'csi.sock')}`;
      // The image's command line, from the DaemonSet: vault is the chart's default provider.
      const { stdout: v8Version } = await run(nodeBinary, ['-p', 'process.versions.v8']);
      const child = spawn(nodeBinary, [...nodeFlagsFor(v8Version.trim()), join(app, 'dist/bundle/cli/main.js'), 'driver', `--endpoint=${endpoint}`, '--node-id=image-test', `--state-dir=${join(work, 'state')}`, '--providers=vault', '--default-provider=vault', '--vault-address=https://vault.example:8200'], {
        cwd: app,
        env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const client = CsiClient.connect(endpoint);
      try {
        await Promise.race([client.waitUntilReady(30_000), exited.then((code) => Promise.reject(new Error(`driver exited with ${code}:\n${output}`)))]);
        const probe = await client.identityCall<{ ready?: { value?: boolean } }>('Probe');
        assert.equal(probe.ready?.value, true);
        const info = await client.identityCall<{ name: string; vendor_version: string }>('GetPluginInfo');
        const pkg = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as { version: string };
        assert.deepEqual([info.name, info.vendor_version], ['csi.credmount.dev', pkg.version]);
      } finally {
        client.close();
        child.kill('SIGTERM');
        await exited;
        await rm(work, { recursive: true, force: true });
      }
    });
  }

  it('is small: production node_modules + dist/bundle + proto (the image adds them to node:24-slim)', async (t) => {
    const { stdout } = await run('du', ['-sk', join(app, 'node_modules'), join(app, 'dist/bundle'), join(app, 'proto')]);
    const kib = stdout.trim().split('\n').map((l) => Number(l.split('\t')[0]));
    const total = kib.reduce((a, b) => a + b, 0);
    t.diagnostic(`node_modules ${kib[0]} KiB, dist/bundle ${kib[1]} KiB, proto ${kib[2]} KiB: ${(total / 1024).toFixed(1)} MiB on top of the base image`);
    // docs/install.md records the measurement; a new heavy dependency should be a deliberate choice.
    assert.ok(total < 80 * 1024, `the application layer is ${(total / 1024).toFixed(1)} MiB, more than the 80 MiB budget`);
  });
});

#!/usr/bin/env node
/**
 * The benchmark runner (issue 7): the real driver process, driven over its unix socket by the
 * kubelet simulator, on real tmpfs mounts (as root).
 *
 *   npm run bench                    full run: bench/results/<date>.json (<date>-2.json, … for a day's later runs) and the table in bench/README.md
 *   node dist/bench/run.js --smoke --out DIR   every measurement with tiny counts; writes only to DIR
 *   --out DIR                        write <date>.json and report.md to DIR instead of the repository
 *   --repo DIR                       the repository whose bench/ is written (default: where this build lives)
 *   --label TEXT                     what is measured, for the results (default: git describe of the repository)
 *   --driver-node PATH               start the drivers (and the bare gRPC server) on the Node.js at PATH (a path, not a name on $PATH), e.g. the image's
 *                                    Node.js 24, with that runtime's flags; the runner stays on its own
 *   --only a,b                       run only these measurements and print their raw figures (writes nothing):
 *                                    cold-start, grpc-floor, first-publish, fresh-republish, burst, steady-state
 *   --only a,b --compare MAIN [--rounds N]   the same for this build and another build's cli/main.js,
 *                                    alternately N times each (default 2), and a table side by side
 *   --only a,b --compare-flags=FLAGS [--rounds N]   the same for this build without and with more
 *                                    Node.js flags for the driver (after the image's; the = keeps a
 *                                    value that starts with - attached to the option)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DRIVER_NODE_ENV, driverRuntime } from './driver-runtime.js';
import { describeMachine } from './machine.js';
import { sampleMachineCpu, stolenPercent } from './cpu-steal.js';
import { measureEmbeddedCertificates, measureEmbeddedKv } from './measurements/backend-requests.js';
import { measureBurst } from './measurements/burst.js';
import { measureColdStart } from './measurements/cold-start.js';
import { measureFirstPublish } from './measurements/first-publish.js';
import { measureFreshRepublish } from './measurements/fresh-republish.js';
import { measureGrpcFloor } from './measurements/grpc-floor.js';
import { measureSteadyState } from './measurements/steady-state.js';
import { measureVaultLeases } from './measurements/vault-leases.js';
import { FULL_PLAN, SMOKE_PLAN, type Plan } from './plan.js';
import { renderReport, updateReadme } from './report.js';
import type { BenchResults } from './result-types.js';
import { BenchNode } from './bench-node.js';
import { runCompare } from './compare.js';
import { freeResultName } from './result-name.js';
import { settleAll } from './settle-all.js';

/** The hypervisor's share of the machine's CPU time during each step (bench/cpu-steal.ts), by step name. */
const stolenCpuPercent: Record<string, number> = {};

async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const cpuBefore = sampleMachineCpu();
  process.stderr.write(`bench: ${name}…\n`);
  const result = await work();
  const stolen = stolenPercent(cpuBefore, sampleMachineCpu());
  if (stolen !== undefined) stolenCpuPercent[name] = stolen;
  process.stderr.write(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s${stolen === undefined ? '' : `, ${stolen} % of the CPU time stolen`}\n`);
  return result;
}

/** How the driver mounts on this machine, from a short-lived node that mounts one volume. */
async function mounting(): Promise<{ mounter: string; mountMechanism: string }> {
  const node = await BenchNode.start();
  try {
    const pod = node.pod(node.secretObjects());
    await node.simulator.publish(pod);
    await node.simulator.unpublish(pod);
    return { mounter: await node.driver.mounterKind(), mountMechanism: await node.driver.mountMechanism() };
  } finally {
    await node.stop();
  }
}

/** `git describe` of the repository this build came from, when it is one. */
function describeSource(repo: string): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      repo: { type: 'string' },
      label: { type: 'string' },
      only: { type: 'string' },
      compare: { type: 'string' },
      'compare-flags': { type: 'string' },
      rounds: { type: 'string', default: '2' },
      'driver-node': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node dist/bench/run.js [--smoke] [--out DIR] [--repo DIR] [--label TEXT] [--driver-node PATH] [--only a,b [--compare MAIN | --compare-flags=FLAGS [--rounds N]]]');
    return 0;
  }
  if (values['driver-node'] !== undefined) {
    // Through the environment, so that --compare's runs (children of this one) use it too.
    process.env[DRIVER_NODE_ENV] = resolve(values['driver-node']);
  }
  const runtime = driverRuntime(); // fails here, before anything starts, on a path that is not a Node.js
  if (runtime.execPath !== process.execPath) process.stderr.write(`bench: drivers on ${runtime.version} (${runtime.execPath})\n`);
  const plan = values.smoke ? SMOKE_PLAN : FULL_PLAN;
  const compareFlags = values['compare-flags'];
  if (values.compare !== undefined || compareFlags !== undefined) {
    if (values.compare !== undefined && compareFlags !== undefined) throw new Error('--compare and --compare-flags: one at a time');
    const option = values.compare !== undefined ? '--compare' : '--compare-flags';
    if (values.only === undefined) throw new Error(`${option} needs --only: which measurements to compare`);
    const names = values.only.split(',');
    checkNames(names);
    const other = values.compare !== undefined ? { main: resolve(values.compare) } : { flags: compareFlags ?? '' };
    const { runs, table } = await runCompare({ names, other, rounds: Number(values.rounds), smoke: values.smoke, runner: fileURLToPath(import.meta.url) });
    console.log(JSON.stringify(runs, null, 2));
    console.log(table);
    return 0;
  }
  if (values.only !== undefined) return runOnly(plan, values.only.split(','));
  const repo = resolve(values.repo ?? resolve(fileURLToPath(import.meta.url), '../../..'));
  const source = values.label ?? describeSource(repo);
  const machine = describeMachine();
  const started = performance.now();
  const cpuAtStart = sampleMachineCpu();
  const date = new Date().toISOString().slice(0, 10);

  const { mounter, mountMechanism } = await step('mounting', mounting);
  const coldStart = await step('6. cold start', () => measureColdStart(plan.coldStart));
  const grpcFloor = await step('reference: bare grpc-js server', () => measureGrpcFloor(plan.grpcFloor));
  const firstPublish = await step('1. first publish', () => measureFirstPublish(plan.firstPublish));
  const freshRepublish = await step('2. fresh republish', () => measureFreshRepublish(plan.freshRepublish));
  const burst = await step('3. burst', () => measureBurst(plan.burst));
  const steadyState = await step('4. steady state', () => measureSteadyState(plan.steadyState));
  // Three nodes at once, each on its own scaled clock: only request counts are measured here.
  const [kv, certificates, dynamicLeases] = await step('5. backend requests per volume-hour', () =>
    settleAll([measureEmbeddedKv(plan.backendEmbedded), measureEmbeddedCertificates(plan.backendEmbedded), measureVaultLeases(plan.backendVault)] as const),
  );

  const results: BenchResults = {
    date,
    plan: plan.name,
    source,
    machine,
    mounter,
    mountMechanism,
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    firstPublish,
    freshRepublish,
    burst,
    steadyState,
    backendRequests: { kv, certificates, dynamicLeases },
    coldStart,
    grpcFloor,
    stolenCpuPercent: { ...(cpuAtStart === undefined ? {} : { run: stolenPercent(cpuAtStart, sampleMachineCpu()) ?? 0 }), ...stolenCpuPercent },
  };

  const json = `${JSON.stringify(results, null, 2)}\n`;
  let jsonName = `${date}.json`;
  if (values.out !== undefined) {
    const out = resolve(values.out);
    await mkdir(out, { recursive: true });
    jsonName = freeResultName(out, date);
    await writeFile(join(out, jsonName), json);
    await writeFile(join(out, 'report.md'), renderReport(results, jsonName));
  } else if (!values.smoke) {
    const resultsDir = join(repo, 'bench', 'results');
    await mkdir(resultsDir, { recursive: true });
    jsonName = freeResultName(resultsDir, date);
    await writeFile(join(resultsDir, jsonName), json);
    await updateReadme(join(repo, 'bench', 'README.md'), renderReport(results, `results/${jsonName}`));
  }
  console.log(renderReport(results, jsonName));
  return 0;
}

/** Iterating on one figure: the selected measurements only, raw JSON on stdout, nothing written. */
const MEASUREMENT_NAMES = ['cold-start', 'grpc-floor', 'first-publish', 'fresh-republish', 'burst', 'steady-state'] as const;

function checkNames(names: readonly string[]): void {
  const unknown = names.filter((name) => !(MEASUREMENT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown measurement(s) ${unknown.join(', ')} (known: ${MEASUREMENT_NAMES.join(', ')})`);
}

async function runOnly(plan: Plan, names: readonly string[]): Promise<number> {
  checkNames(names);
  const measurements: Record<(typeof MEASUREMENT_NAMES)[number], () => Promise<unknown>> = {
    'cold-start': () => measureColdStart(plan.coldStart),
    'grpc-floor': () => measureGrpcFloor(plan.grpcFloor),
    'first-publish': () => measureFirstPublish(plan.firstPublish),
    'fresh-republish': () => measureFreshRepublish(plan.freshRepublish),
    burst: () => measureBurst(plan.burst),
    'steady-state': () => measureSteadyState(plan.steadyState),
  };
  const results: Record<string, unknown> = { driverNode: driverRuntime().version };
  for (const name of names) results[name] = await step(name, measurements[name as (typeof MEASUREMENT_NAMES)[number]]);
  results['stolenCpuPercent'] = stolenCpuPercent;
  console.log(JSON.stringify(results, null, 2));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

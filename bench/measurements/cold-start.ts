import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import { writeSampleStore } from '../../src/providers/embedded/sample-store.js';
import { embeddedArgs } from '../bench-node.js';
import { DriverChild } from '../driver-child.js';
import { driverRuntime } from '../driver-runtime.js';
import type { Plan } from '../plan.js';
import { mib, sampleProcess } from '../proc-stats.js';
import type { ColdStartResult } from '../result-types.js';
import { median, summarize } from '../stats.js';

/**
 * 6. Cold start: from spawning `credmount driver` (embedded provider, empty state directory)
 * until Probe answers ready, several times, each with a new socket and state directory. The
 * socket is polled every millisecond; `node -e ""` gives the floor any Node.js process pays.
 */
export async function measureColdStart(plan: Plan['coldStart']): Promise<ColdStartResult> {
  const workdir = await mkdtemp(join(tmpdir(), 'credmount-bench-cold-'));
  const store = await writeSampleStore(join(workdir, 'store'));
  const simulator = await KubeletSimulator.start({ endpoint: `unix://${join(workdir, 'unused.sock')}`, kubeletRoot: join(workdir, 'kubelet') });
  try {
    const readyMs: number[] = [];
    const rssKiB: number[] = [];
    const baselineMs: number[] = [];
    for (let run = 0; run < plan.runs; run++) {
      const driver = new DriverChild({ dir: join(workdir, `run-${run}`), args: embeddedArgs(store, simulator.jwks.jwksUri) });
      await driver.start();
      readyMs.push(driver.coldStartMs);
      rssKiB.push((await sampleProcess(driver.pid)).rssKiB);
      await driver.stop();
      baselineMs.push(await nodeBaseline());
    }
    return { runs: plan.runs, readyMs: summarize(readyMs), nodeBaselineMs: summarize(baselineMs), rssReadyMiB: mib(median(rssKiB)) };
  } finally {
    await simulator.stop();
    await rm(workdir, { recursive: true, force: true });
  }
}

/** Spawn until exit of an empty Node.js program, on the drivers' runtime. */
async function nodeBaseline(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolveExit, reject) => {
    const child = spawn(driverRuntime().execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolveExit());
  });
  return performance.now() - started;
}

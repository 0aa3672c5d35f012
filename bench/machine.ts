import { readFileSync } from 'node:fs';
import { arch, availableParallelism, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { driverRuntime } from './driver-runtime.js';
import type { MachineDescription } from './result-types.js';

/** The machine the numbers were measured on: CPU model (/proc/cpuinfo), cores, memory, the drivers' Node.js, kernel. */
export function describeMachine(): MachineDescription {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: leave it unknown
  }
  return {
    cpuModel,
    cores: availableParallelism(),
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: driverRuntime().version,
    ...(driverRuntime().execPath === process.execPath ? {} : { runnerNode: process.version }),
    kernel: release(),
    platform: `${platform()}-${arch()}`,
    // Other work on the machine skews every timing: the 1-minute load when the run started.
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    workDirectory: tmpdir(),
  };
}

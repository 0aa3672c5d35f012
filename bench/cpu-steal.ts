import { readFileSync } from 'node:fs';

/** The machine's CPU time counters (/proc/stat, the `cpu` line), in clock ticks. */
export interface MachineCpuSample {
  /** Time the hypervisor ran other guests while this machine's vCPUs wanted to run ("steal"). */
  readonly steal: number;
  /** All time: user, nice, system, idle, iowait, irq, softirq and steal (guest time is inside user). */
  readonly total: number;
}

/**
 * Parse the `cpu` line of /proc/stat (proc(5): user nice system idle iowait irq softirq steal
 * guest guest_nice). Kernels before 2.6.11 have no steal field: it counts as 0.
 */
export function parseMachineCpu(procStat: string): MachineCpuSample {
  const line = /^cpu +(.*)$/m.exec(procStat)?.[1];
  if (line === undefined) throw new Error('/proc/stat has no "cpu" line');
  const fields = line.trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** This machine's counters now; `undefined` where there is no /proc/stat (not Linux). */
export function sampleMachineCpu(): MachineCpuSample | undefined {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU time the hypervisor gave to other guests between two samples,
 * in percent (one decimal). On a shared VM this is what makes the same build measure tens of
 * percent slower from one hour to the next: compare runs whose steal is alike.
 */
export function stolenPercent(before: MachineCpuSample | undefined, after: MachineCpuSample | undefined): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const total = after.total - before.total;
  return total > 0 ? Math.round(((after.steal - before.steal) / total) * 1000) / 10 : 0;
}

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** What /proc says about one process: memory now and at its peak, CPU used so far. */
export interface ProcessSample {
  /** VmRSS: resident memory now. */
  readonly rssKiB: number;
  /** VmHWM: the highest resident memory since the process started. */
  readonly hwmKiB: number;
  /**
   * RssAnon: the resident memory that is the process's own (heap, stacks, malloc arenas), not
   * file pages such as the node binary's, which the kernel shares and can reclaim.
   */
  readonly anonKiB: number;
  /** utime + stime of the process itself. */
  readonly cpuSeconds: number;
  /** cutime + cstime: CPU of children it waited for (mount(8), umount(8) if it forks them). */
  readonly childCpuSeconds: number;
  /** performance.now() when sampled, in this (the benchmark's) process. */
  readonly atMs: number;
}

let clockTicks: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of /proc/<pid>/stat times (100 on every common Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  // Fields after the command name (which may contain spaces), counted from field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (field: number) => Number(fields[field - 3]);
  const hz = ticksPerSecond();
  return {
    rssKiB: kib('VmRSS'),
    hwmKiB: kib('VmHWM'),
    anonKiB: kib('RssAnon'),
    cpuSeconds: (ticks(14) + ticks(15)) / hz,
    childCpuSeconds: (ticks(16) + ticks(17)) / hz,
    atMs: performance.now(),
  };
}

/** CPU seconds (own and children's) between two samples. */
export function cpuBetween(before: ProcessSample, after: ProcessSample): number {
  return after.cpuSeconds + after.childCpuSeconds - (before.cpuSeconds + before.childCpuSeconds);
}

export function mib(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10;
}

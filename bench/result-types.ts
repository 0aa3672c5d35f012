import type { LatencySummary } from './stats.js';

/** The shape of bench/results/<date>.json. Times in milliseconds unless named otherwise. */
export interface BenchResults {
  readonly date: string;
  readonly plan: 'full' | 'smoke';
  readonly machine: MachineDescription;
  /** What was measured: `git describe --always --dirty` of the repository, or `--label`. */
  readonly source: string;
  /** How the driver mounted volumes (`tmpfs` as root; `directory` otherwise). */
  readonly mounter: string;
  /** For tmpfs: `syscall` (mount(2)/umount2(2)) or `mount(8)`, as the driver logs it. */
  readonly mountMechanism: string;
  readonly durationSeconds: number;
  readonly firstPublish: FirstPublishResult;
  readonly freshRepublish: FreshRepublishResult;
  readonly burst: BurstResult;
  readonly steadyState: SteadyStateResult;
  readonly backendRequests: BackendRequestsResult;
  readonly coldStart: ColdStartResult;
  /** Reference: a bare grpc-js server with the same proto, driven the same way. */
  readonly grpcFloor: GrpcFloorResult;
  /**
   * The hypervisor's share of the machine's CPU time (/proc/stat "steal", bench/cpu-steal.ts), in
   * percent: over the whole run (`run`) and during each measurement (by its progress name). On a
   * shared VM it is what moves the figures from one hour to the next.
   */
  readonly stolenCpuPercent: Readonly<Record<string, number>>;
}

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMiB: number;
  /** The Node.js the drivers ran on (`--driver-node`; by default the runner's). */
  readonly node: string;
  /** The runner's own Node.js (its kubelet simulator and clients), when the drivers ran on another. */
  readonly runnerNode?: string;
  readonly kernel: string;
  readonly platform: string;
  /** 1-minute load average when the run started. */
  readonly loadAverage: number;
  /**
   * Where the runs' kubelet directories, state directories and sockets were made: os.tmpdir(),
   * i.e. `$TMPDIR` or /tmp. Creating files and directories there is part of every publish.
   */
  readonly workDirectory?: string;
}

export interface FirstPublishResult {
  /** NodePublishVolume round trips for new pods, one at a time (3 secrets + 1 certificate). */
  readonly latency: LatencySummary;
  readonly errors: number;
  /** Backend fetches per first publish (1 expected). */
  readonly fetchesPerPublish: number;
  /** Mean time inside the driver's handler (its own histogram), the rest being gRPC and transport. */
  readonly driverHandlerMeanMs: number;
  /** kubelet's whole set-up of each measured publish: two NodeGetCapabilities and the NodePublishVolume, a connection each. */
  readonly setUp: LatencySummary;
  /** NodeUnpublishVolume round trips of the same volumes. */
  readonly unpublish: LatencySummary;
  /** The same, measured once the driver has made `afterPublishes` first publishes (absent in results before session 9). */
  readonly inService?: { readonly afterPublishes: number; readonly latency: LatencySummary; readonly driverHandlerMeanMs: number };
}

export interface FreshRepublishResult {
  readonly volumes: number;
  /** Rounds of republishes before the measured ones (not measured). */
  readonly warmupRounds: number;
  /** After the warm-up: a driver in service. */
  readonly latency: LatencySummary;
  /** The first rounds right after the publishes, as many as measured: a driver just started. */
  readonly latencyFirstRounds: LatencySummary;
  /** kubelet's whole set-up of each measured republish: two NodeGetCapabilities and the NodePublishVolume, a connection each. */
  readonly setUp: LatencySummary;
  /** The measured republishes again, NodePublishVolume alone on one kept connection (bench/one-connection-pass.ts). */
  readonly latencyOneConnection: LatencySummary;
  readonly errors: number;
  /** Backend fetches made during the republishes (must be 0). */
  readonly backendRequests: number;
  /** Mean time inside the driver's handler (its own histogram), the rest being gRPC and transport. */
  readonly driverHandlerMeanMs: number;
  /** NodeGetVolumeStats round trips over the same volumes (kubelet asks each about once a minute). */
  readonly volumeStats: LatencySummary;
  /** The same with the NodeGetCapabilities kubelet asks before each. */
  readonly volumeStatsSetUp: LatencySummary;
  readonly volumeStatsErrors: number;
}

export interface BurstResult {
  readonly pods: number;
  readonly runs: number;
  /** Per run: from the first call until every publish answered. */
  readonly wallMs: readonly number[];
  readonly wallMsMedian: number;
  readonly wallMsMax: number;
  /** Per-call latency over every run. */
  readonly latency: LatencySummary;
  readonly errors: number;
}

export interface SteadyStateResult {
  readonly volumes: number;
  readonly intervalMs: number;
  /** Republishing before the measured window (not measured). */
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly republishes: number;
  readonly errors: number;
  readonly backendRequests: number;
  readonly latency: LatencySummary;
  /** Driver CPU (own + waited-for children) per 1,000 republishes, seconds. */
  readonly cpuSecondsPer1000: number;
  /** The same over the warm-up, while V8 still compiles the path: a driver just started. */
  readonly warmupCpuSecondsPer1000: number;
  /** The same over each third of the measured window: how much it moves within one run (absent in results before session 8). */
  readonly cpuSecondsPer1000ByThird?: readonly number[];
  readonly rssIdleMiB: number;
  readonly rssAfterPublishMiB: number;
  /** VmHWM at the end: the highest RSS over the driver's life (publishes included). */
  readonly rssPeakMiB: number;
  /** Median VmRSS over the last half of the republishing. */
  readonly rssSteadyMiB: number;
  /** VmRSS after republishing stopped and the driver sat idle for `settleSeconds`. */
  readonly rssSettledMiB: number;
  /** RssAnon when settled: the driver's own memory, without the file pages in its RSS. */
  readonly rssAnonSettledMiB: number;
}

export interface BackendRate {
  readonly content: string;
  /** What the scaled run stands for, in words. */
  readonly scaled: string;
  readonly volumes: number;
  readonly volumeHours: number;
  /** Requests per volume-hour at steady state. */
  readonly perVolumeHour: number;
  /** Republishes per volume-hour observed (what a driver that fetches on every republish would send). */
  readonly naivePerVolumeHour: number;
  /** Breakdown by request kind (Vault) or result (embedded). */
  readonly breakdown: Readonly<Record<string, number>>;
  readonly errors: number;
}

export interface BackendRequestsResult {
  readonly kv: BackendRate;
  readonly certificates: BackendRate;
  readonly dynamicLeases: BackendRate;
}

export interface ColdStartResult {
  readonly runs: number;
  /** Spawn until Probe answered ready. */
  readonly readyMs: LatencySummary;
  /** Spawn until exit of `node -e ""` on this machine: the floor for any Node.js process. */
  readonly nodeBaselineMs: LatencySummary;
  /** VmRSS right after ready, with no volumes. */
  readonly rssReadyMiB: number;
}

/** A reference server's figures under the floor measurement's calls. */
export interface FloorReference {
  /** One republish at a time, as in measurement 2: NodePublishVolume on its own connection. */
  readonly roundTrip: LatencySummary;
  /** Server CPU per 1,000 republishes (kubelet's three calls each) paced as in measurement 4. */
  readonly cpuSecondsPer1000: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** RssAnon at the end: the server's own memory, without file pages. */
  readonly rssAnonMiB: number;
}

/** The bare grpc-js server's figures, and the two references under it. */
export interface GrpcFloorResult extends FloorReference {
  /** The same NodePublishVolume calls on one kept connection. */
  readonly roundTripOneConnection: LatencySummary;
  /**
   * The same calls against node:http2 alone, answering the same bytes without a gRPC library
   * (bench/http2-floor-server.ts): Node.js's HTTP/2 share of the floor.
   */
  readonly http2Only: FloorReference;
  /**
   * The same calls against node:net alone, answering with bytes built once and decoding no
   * headers (bench/net-floor-server.ts): what any Node.js server pays for kubelet's connections.
   */
  readonly netOnly: FloorReference;
}

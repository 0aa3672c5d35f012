import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { driverNodeFlags } from '../driver-child.js';
import { driverRuntime } from '../driver-runtime.js';
import { LeanCsiCaller } from '../lean-csi-caller.js';
import { republishOnOneConnection } from '../one-connection-pass.js';
import type { Plan } from '../plan.js';
import { cpuBetween, mib, sampleProcess } from '../proc-stats.js';
import type { FloorReference, GrpcFloorResult } from '../result-types.js';
import { round, summarize, type LatencySummary } from '../stats.js';

const GRPC_SERVER = resolve(fileURLToPath(import.meta.url), '../../grpc-floor-server.js');
const HTTP2_SERVER = resolve(fileURLToPath(import.meta.url), '../../http2-floor-server.js');
const NET_SERVER = resolve(fileURLToPath(import.meta.url), '../../net-floor-server.js');
const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/**
 * Reference, not a target: the same clients and the same requests (a volume of 3 secrets and a
 * certificate, with a pod token) against a bare @grpc/grpc-js server with credmount's proto and
 * server options that answers at once, called as kubelet calls (a connection per call,
 * NodeGetCapabilities twice before each NodePublishVolume). Its round trip, CPU per 1,000 paced
 * republishes and RSS are the floor under measurements 2 and 4 on this machine; the round trip on
 * one kept connection beside. Then the same against node:http2 alone answering the same bytes
 * (`http2Only`): what Node.js's HTTP/2 costs before any gRPC library; and against node:net alone
 * (`netOnly`), which answers without decoding a header: what Node.js costs before any HTTP/2.
 */
export async function measureGrpcFloor(plan: Plan['grpcFloor']): Promise<GrpcFloorResult> {
  const { roundTripOneConnection, ...grpc } = await measureFloorServer(GRPC_SERVER, plan, { oneConnection: true });
  if (roundTripOneConnection === undefined) throw new Error('the grpc-js floor made no pass on one connection');
  const http2Only = await measureFloorServer(HTTP2_SERVER, plan, { oneConnection: false });
  const netOnly = await measureFloorServer(NET_SERVER, plan, { oneConnection: false });
  return { ...grpc, roundTripOneConnection, http2Only, netOnly };
}

/** One server's figures; the pass on one kept connection only where it is reported (`oneConnection`). */
async function measureFloorServer(server: string, plan: Plan['grpcFloor'], options: { readonly oneConnection: boolean }): Promise<FloorReference & { readonly roundTripOneConnection?: LatencySummary }> {
  const workdir = await mkdtemp(join(tmpdir(), 'credmount-bench-grpc-'));
  const socketPath = join(workdir, 'floor.sock');
  const runtime = driverRuntime();
  const child = spawn(runtime.execPath, [...runtime.flags, ...driverNodeFlags(), server, socketPath], { stdio: 'ignore' });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  let calls = 0;
  const simulator = await KubeletSimulator.start({
    endpoint: `unix://${socketPath}`,
    kubeletRoot: join(workdir, 'kubelet'),
    connect: (endpoint) => LeanCsiCaller.connect(endpoint),
    onEvent: () => {
      calls += 1;
    },
  });
  try {
    while (!(await stat(socketPath).then((s) => s.isSocket(), () => false))) await sleep(1);
    await simulator.client.waitUntilReady(10_000);
    const pid = child.pid as number;
    const objects = '- objectName: db-password\n  secretPath: demo/db-password\n- objectName: api-key\n  secretPath: demo/api-key\n- objectName: session-key\n  secretPath: demo/session-key\n- objectName: tls\n  certificate:\n    commonName: "${POD_NAME}"\n    ttl: 10m\n';
    const pods: SimulatedPod[] = Array.from({ length: plan.volumes }, () => ({
      namespace: 'demo',
      name: `floor-${randomUUID().slice(0, 8)}`,
      uid: randomUUID(),
      serviceAccountName: 'app',
      volumeName: 'creds',
      attributes: { provider: 'embedded', objects },
      audiences: ['credmount'],
    }));
    for (const pod of pods) await simulator.publish(pod);

    for (let r = 0; r < plan.warmupRounds; r++) for (const pod of pods) await simulator.publish(pod);
    const roundTrips: number[] = [];
    for (let r = 0; r < plan.rounds; r++) for (const pod of pods) roundTrips.push((await simulator.publish(pod)).ms);
    const oneConnection = options.oneConnection ? summarize((await republishOnOneConnection(simulator, `unix://${socketPath}`, pods, plan.rounds)).samples) : undefined;

    for (const pod of pods) simulator.startRepublishing(pod, plan.intervalMs);
    await sleep(plan.warmupSeconds * 1000);
    const before = await sampleProcess(pid);
    const callsBefore = calls;
    await sleep(plan.seconds * 1000);
    for (const pod of pods) simulator.stopRepublishing(pod);
    await sleep(Math.min(200, plan.intervalMs));
    const after = await sampleProcess(pid);
    const paced = calls - callsBefore;
    return { roundTrip: summarize(roundTrips), ...(oneConnection === undefined ? {} : { roundTripOneConnection: oneConnection }), cpuSecondsPer1000: round((cpuBetween(before, after) / Math.max(1, paced)) * 1000, 3), rssMiB: mib(after.rssKiB), peakRssMiB: mib(after.hwmKiB), rssAnonMiB: mib(after.anonKiB) };
  } finally {
    await simulator.stop().catch(() => undefined);
    child.kill('SIGTERM');
    await exited;
    await rm(workdir, { recursive: true, force: true });
  }
}

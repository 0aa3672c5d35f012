import type { BenchResults } from './result-types.js';

/** One line of the results table: a measured figure next to issue 7's target and reference. */
export interface TargetRow {
  readonly measurement: string;
  readonly measured: string;
  readonly target: string;
  /** undefined: reported for information, no target. */
  readonly pass: boolean | undefined;
  readonly reference: string;
}

/**
 * Issue 7's reference figures, measured on a 2-core machine: kubernetes-csi/csi-driver-host-path
 * v1.16.1 driven like kubelet, mount(8) vs mount(2) from Node.js, a bare @grpc/grpc-js server.
 */
export const REFERENCE = {
  hostPath: { publishP50: 29, publishP99: 46, republishP50: 16, burstSeconds: 5.5, cpuPer1000: 3.6, rssIdleMiB: 13, rssPeakMiB: 22, peakVolumes: 310 },
  mountForkP50Ms: 10,
  mountSyscallP50Ms: 0.012,
  atomicWriteMs: '0.1–0.3',
  grpcUnixRoundTripP50Ms: 0.6,
  grpcRssMiB: 60,
} as const;

/** Issue 7's targets (2-core machine). */
export const TARGETS = {
  publishP50Ms: 2,
  publishP99Ms: 10,
  republishP50Ms: 1,
  republishP99Ms: 5,
  burstWallMs: 1_000,
  cpuPer1000Seconds: 0.5,
  rssMiB: 80,
  coldStartMs: 500,
} as const;

const ms = (value: number) => `${value} ms`;
const atMost = (value: number, limit: number) => value <= limit;

export function evaluateTargets(r: BenchResults): TargetRow[] {
  const ref = REFERENCE.hostPath;
  const b = r.backendRequests;
  const fewer = (perHour: number, naive: number) => perHour < naive;
  return [
    { measurement: '1. first publish p50 (3 secrets + 1 certificate; NodePublishVolume on its own connection, as kubelet calls)', measured: ms(r.firstPublish.latency.p50), target: `≤ ${TARGETS.publishP50Ms} ms`, pass: atMost(r.firstPublish.latency.p50, TARGETS.publishP50Ms), reference: `host-path ${ref.publishP50} ms` },
    { measurement: '1. first publish p99', measured: ms(r.firstPublish.latency.p99), target: `≤ ${TARGETS.publishP99Ms} ms`, pass: atMost(r.firstPublish.latency.p99, TARGETS.publishP99Ms), reference: `host-path ${ref.publishP99} ms` },
    { measurement: '1. kubelet\'s whole set-up p50 / p99 (2 × NodeGetCapabilities + NodePublishVolume, a connection each)', measured: `${r.firstPublish.setUp.p50} / ${r.firstPublish.setUp.p99} ms`, target: '—', pass: undefined, reference: 'what the pod waits for' },
    ...(r.firstPublish.inService === undefined
      ? []
      : [{ measurement: `1. first publish p50 / p99 in service (after ${r.firstPublish.inService.afterPublishes} first publishes)`, measured: `${r.firstPublish.inService.latency.p50} / ${r.firstPublish.inService.latency.p99} ms`, target: '—', pass: undefined, reference: 'the same calls once V8 has optimised the publish path' }]),
    { measurement: '1. first publish errors', measured: String(r.firstPublish.errors), target: '0', pass: r.firstPublish.errors === 0, reference: '' },
    { measurement: '2. fresh republish p50', measured: ms(r.freshRepublish.latency.p50), target: `≤ ${TARGETS.republishP50Ms} ms`, pass: atMost(r.freshRepublish.latency.p50, TARGETS.republishP50Ms), reference: `host-path ${ref.republishP50} ms; bare grpc-js round trip ${REFERENCE.grpcUnixRoundTripP50Ms} ms` },
    { measurement: '2. fresh republish p99', measured: ms(r.freshRepublish.latency.p99), target: `≤ ${TARGETS.republishP99Ms} ms`, pass: atMost(r.freshRepublish.latency.p99, TARGETS.republishP99Ms), reference: '' },
    { measurement: '2. kubelet\'s whole set-up of a fresh republish p50 / p99 (3 calls, a connection each)', measured: `${r.freshRepublish.setUp.p50} / ${r.freshRepublish.setUp.p99} ms`, target: '—', pass: undefined, reference: 'what kubelet\'s pod sync waits for' },
    { measurement: '2. fresh republish p50 / p99 on one kept connection', measured: `${r.freshRepublish.latencyOneConnection.p50} / ${r.freshRepublish.latencyOneConnection.p99} ms`, target: '—', pass: undefined, reference: 'the same calls as sessions 1–10 timed them' },
    { measurement: '2. NodeGetVolumeStats p50 / p99, the same volumes (with kubelet\'s NodeGetCapabilities)', measured: `${r.freshRepublish.volumeStats.p50} / ${r.freshRepublish.volumeStats.p99} ms (${r.freshRepublish.volumeStatsSetUp.p50} / ${r.freshRepublish.volumeStatsSetUp.p99})${r.freshRepublish.volumeStatsErrors === 0 ? '' : `, ${r.freshRepublish.volumeStatsErrors} errors`}`, target: '—', pass: undefined, reference: 'kubelet asks each volume about once a minute' },
    { measurement: '2. backend requests during fresh republishes', measured: String(r.freshRepublish.backendRequests), target: '0', pass: r.freshRepublish.backendRequests === 0 && r.freshRepublish.errors === 0, reference: '' },
    { measurement: `3. burst of ${r.burst.pods}: all done (median of ${r.burst.runs})`, measured: ms(r.burst.wallMsMedian), target: `≤ ${TARGETS.burstWallMs} ms`, pass: atMost(r.burst.wallMsMedian, TARGETS.burstWallMs), reference: `host-path ${ref.burstSeconds} s` },
    { measurement: '3. burst p99 per call', measured: ms(r.burst.latency.p99), target: '—', pass: undefined, reference: '' },
    { measurement: '3. burst errors', measured: String(r.burst.errors), target: '0', pass: r.burst.errors === 0, reference: '' },
    { measurement: '4. CPU per 1,000 fresh republishes (kubelet\'s 3 calls and 3 connections each)', measured: `${r.steadyState.cpuSecondsPer1000} s`, target: `≤ ${TARGETS.cpuPer1000Seconds} s`, pass: atMost(r.steadyState.cpuSecondsPer1000, TARGETS.cpuPer1000Seconds), reference: `host-path ${ref.cpuPer1000} s; the least a Node.js server pays here (node:net alone) ${r.grpcFloor.netOnly.cpuSecondsPer1000} s` },
    { measurement: `4. RSS peak with ${r.steadyState.volumes} volumes (VmHWM)`, measured: `${r.steadyState.rssPeakMiB} MiB`, target: `≤ ${TARGETS.rssMiB} MiB`, pass: atMost(r.steadyState.rssPeakMiB, TARGETS.rssMiB), reference: `host-path ${ref.rssPeakMiB} MiB with ${ref.peakVolumes} volumes; bare grpc-js ${REFERENCE.grpcRssMiB} MiB` },
    { measurement: `4. RSS settled with ${r.steadyState.volumes} volumes`, measured: `${r.steadyState.rssSettledMiB} MiB`, target: `≤ ${TARGETS.rssMiB} MiB`, pass: atMost(r.steadyState.rssSettledMiB, TARGETS.rssMiB), reference: `host-path ${ref.rssIdleMiB} MiB idle; node:net alone ${r.grpcFloor.netOnly.rssMiB} MiB` },
    { measurement: `4. of which the driver's own (RssAnon; the rest are file pages, most of them the node binary's, shared and reclaimable)`, measured: `${r.steadyState.rssAnonSettledMiB} MiB`, target: '—', pass: undefined, reference: `node:net alone ${r.grpcFloor.netOnly.rssAnonMiB} MiB; bare grpc-js ${r.grpcFloor.rssAnonMiB} MiB` },
    { measurement: '5. KV-like content: requests per volume-hour', measured: String(b.kv.perVolumeHour), target: `< naive (${b.kv.naivePerVolumeHour})`, pass: fewer(b.kv.perVolumeHour, b.kv.naivePerVolumeHour) && b.kv.errors === 0, reference: 'naive: 60' },
    { measurement: '5. 1-hour certificates: requests per volume-hour', measured: String(b.certificates.perVolumeHour), target: `< naive (${b.certificates.naivePerVolumeHour})`, pass: fewer(b.certificates.perVolumeHour, b.certificates.naivePerVolumeHour) && b.certificates.errors === 0, reference: 'naive: 60' },
    { measurement: '5. dynamic leases: requests per volume-hour', measured: String(b.dynamicLeases.perVolumeHour), target: `< naive (${b.dynamicLeases.naivePerVolumeHour})`, pass: fewer(b.dynamicLeases.perVolumeHour, b.dynamicLeases.naivePerVolumeHour) && b.dynamicLeases.errors === 0, reference: 'naive: 60' },
    { measurement: '6. cold start p50 (spawn → Probe ready)', measured: ms(r.coldStart.readyMs.p50), target: `≤ ${TARGETS.coldStartMs} ms`, pass: atMost(r.coldStart.readyMs.p50, TARGETS.coldStartMs), reference: `node -e "" ${r.coldStart.nodeBaselineMs.p50} ms here` },
    { measurement: 'reference: bare grpc-js server, same proto, client and calls: NodePublishVolume round trip p50 / p99', measured: `${r.grpcFloor.roundTrip.p50} / ${r.grpcFloor.roundTrip.p99} ms`, target: '—', pass: undefined, reference: `issue: ${REFERENCE.grpcUnixRoundTripP50Ms} ms p50` },
    { measurement: 'reference: bare grpc-js server on one kept connection: round trip p50 / p99', measured: `${r.grpcFloor.roundTripOneConnection.p50} / ${r.grpcFloor.roundTripOneConnection.p99} ms`, target: '—', pass: undefined, reference: '' },
    { measurement: 'reference: bare grpc-js server: CPU per 1,000 paced republishes (as in 4); RSS', measured: `${r.grpcFloor.cpuSecondsPer1000} s; ${r.grpcFloor.rssMiB} MiB (own ${r.grpcFloor.rssAnonMiB})`, target: '—', pass: undefined, reference: `issue: RSS ${REFERENCE.grpcRssMiB} MiB` },
    { measurement: 'reference: node:http2 alone, no gRPC library, the same calls and answers: round trip p50 / p99; CPU per 1,000 paced republishes; RSS', measured: `${r.grpcFloor.http2Only.roundTrip.p50} / ${r.grpcFloor.http2Only.roundTrip.p99} ms; ${r.grpcFloor.http2Only.cpuSecondsPer1000} s; ${r.grpcFloor.http2Only.rssMiB} MiB (own ${r.grpcFloor.http2Only.rssAnonMiB})`, target: '—', pass: undefined, reference: '' },
    { measurement: 'reference: node:net alone, no HTTP/2 library, answers built once (the least any Node.js server pays for these calls): round trip p50 / p99; CPU per 1,000 paced republishes; RSS', measured: `${r.grpcFloor.netOnly.roundTrip.p50} / ${r.grpcFloor.netOnly.roundTrip.p99} ms; ${r.grpcFloor.netOnly.cpuSecondsPer1000} s; ${r.grpcFloor.netOnly.rssMiB} MiB (own ${r.grpcFloor.netOnly.rssAnonMiB})`, target: '—', pass: undefined, reference: '' },
  ];
}

import { readFile, writeFile } from 'node:fs/promises';
import type { BackendRate, BenchResults } from './result-types.js';
import { evaluateTargets } from './targets.js';

export const README_START = '<!-- bench:results:start -->';
export const README_END = '<!-- bench:results:end -->';

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The results as Markdown: machine, targets table, backend requests, details. */
export function renderReport(r: BenchResults, jsonName: string): string {
  const m = r.machine;
  const rows = evaluateTargets(r);
  const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'pass' : '**FAIL**');
  const s = r.steadyState;
  const lines = [
    `Measured ${r.date} on \`${r.source}\` (${r.plan} run, ${Math.round(r.durationSeconds)} s; raw figures in \`${jsonName}\`) on ${m.cpuModel}, ${m.cores} cores,`,
    `${Math.round(m.memoryMiB / 1024)} GiB, Node.js ${m.node}${m.runnerNode === undefined ? '' : ` (the drivers; the runner on ${m.runnerNode})`}, Linux ${m.kernel}, load average ${m.loadAverage} at the start${stolenNote(r.stolenCpuPercent)}; work directory \`${m.workDirectory ?? 'unrecorded'}\`; volumes: \`${r.mounter}\`, mounted with \`${r.mountMechanism}\`.`,
    '',
    '| measurement | measured | target | | reference (issue 7) |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| ${cell(row.measurement)} | ${cell(row.measured)} | ${cell(row.target)} | ${verdict(row.pass)} | ${cell(row.reference)} |`),
    '',
    'Backend requests at steady state (time scaled; see "How each figure is measured"):',
    '',
    '| content | scaled run | requests / volume-hour | naive (fetch on every republish) | breakdown over the window |',
    '|---|---|---|---|---|',
    ...[r.backendRequests.kv, r.backendRequests.certificates, r.backendRequests.dynamicLeases].map(backendRow),
    '',
    'Details:',
    '',
    `- first publish: ${r.firstPublish.latency.count} publishes, p90 ${r.firstPublish.latency.p90} ms, max ${r.firstPublish.latency.max} ms, ${r.firstPublish.fetchesPerPublish} backend fetch per publish, ${r.firstPublish.driverHandlerMeanMs} ms mean inside the driver's handler; kubelet's whole set-up (2 × NodeGetCapabilities + NodePublishVolume) p50 ${r.firstPublish.setUp.p50} ms, p99 ${r.firstPublish.setUp.p99} ms; unpublish p50 ${r.firstPublish.unpublish.p50} ms, p99 ${r.firstPublish.unpublish.p99} ms${inServiceDetail(r)}.`,
    `- fresh republish: ${r.freshRepublish.latency.count} republishes of ${r.freshRepublish.volumes} volumes after ${r.freshRepublish.warmupRounds} rounds of warm-up (the first ${r.freshRepublish.latencyFirstRounds.count}, right after the publishes: p50 ${r.freshRepublish.latencyFirstRounds.p50} ms, p99 ${r.freshRepublish.latencyFirstRounds.p99} ms), p90 ${r.freshRepublish.latency.p90} ms, max ${r.freshRepublish.latency.max} ms; ${r.freshRepublish.driverHandlerMeanMs} ms mean inside the driver's handler (the rest of the round trip is gRPC, HTTP/2 and the client); kubelet's whole set-up p50 ${r.freshRepublish.setUp.p50} ms, p99 ${r.freshRepublish.setUp.p99} ms; on one kept connection p50 ${r.freshRepublish.latencyOneConnection.p50} ms, p99 ${r.freshRepublish.latencyOneConnection.p99} ms; NodeGetVolumeStats over the same volumes (${r.freshRepublish.volumeStats.count} calls after 3 rounds of warm-up) p50 ${r.freshRepublish.volumeStats.p50} ms, p99 ${r.freshRepublish.volumeStats.p99} ms, with kubelet's NodeGetCapabilities before each p50 ${r.freshRepublish.volumeStatsSetUp.p50} ms, p99 ${r.freshRepublish.volumeStatsSetUp.p99} ms.`,
    `- burst: wall times ${r.burst.wallMs.map((w) => `${w} ms`).join(', ')}; per call p50 ${r.burst.latency.p50} ms, p99 ${r.burst.latency.p99} ms, max ${r.burst.latency.max} ms.`,
    `- steady state: ${s.volumes} volumes every ${s.intervalMs} ms for ${s.seconds} s after ${s.warmupSeconds} s of the same (CPU over those: ${s.warmupCpuSecondsPer1000} s per 1,000): ${s.republishes} republishes${s.cpuSecondsPer1000ByThird === undefined || s.cpuSecondsPer1000ByThird.length === 0 ? '' : ` (CPU per 1,000 over each third of the window: ${s.cpuSecondsPer1000ByThird.join(', ')} s)`} (p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms), ${s.errors} errors, ${s.backendRequests} backend requests; RSS idle ${s.rssIdleMiB} MiB, after ${s.volumes} publishes ${s.rssAfterPublishMiB} MiB, while republishing ${s.rssSteadyMiB} MiB, peak ${s.rssPeakMiB} MiB, settled ${s.rssSettledMiB} MiB (RssAnon ${s.rssAnonSettledMiB} MiB).`,
    `- cold start: ${r.coldStart.runs} runs, p50 ${r.coldStart.readyMs.p50} ms, max ${r.coldStart.readyMs.max} ms; \`node -e ""\` p50 ${r.coldStart.nodeBaselineMs.p50} ms; RSS when ready ${r.coldStart.rssReadyMiB} MiB.`,
    `- reference, a bare grpc-js server with the same proto and server options, same client and requests: round trip p50 ${r.grpcFloor.roundTrip.p50} ms, p99 ${r.grpcFloor.roundTrip.p99} ms (on one kept connection: p50 ${r.grpcFloor.roundTripOneConnection.p50} ms, p99 ${r.grpcFloor.roundTripOneConnection.p99} ms); ${r.grpcFloor.cpuSecondsPer1000} CPU-seconds per 1,000 republishes paced as in 4; RSS ${r.grpcFloor.rssMiB} MiB (peak ${r.grpcFloor.peakRssMiB} MiB, RssAnon ${r.grpcFloor.rssAnonMiB} MiB).`,
    `- reference, node:http2 alone answering the same bytes (no gRPC library): round trip p50 ${r.grpcFloor.http2Only.roundTrip.p50} ms, p99 ${r.grpcFloor.http2Only.roundTrip.p99} ms; ${r.grpcFloor.http2Only.cpuSecondsPer1000} CPU-seconds per 1,000 republishes paced as in 4; RSS ${r.grpcFloor.http2Only.rssMiB} MiB (peak ${r.grpcFloor.http2Only.peakRssMiB} MiB, RssAnon ${r.grpcFloor.http2Only.rssAnonMiB} MiB).`,
    `- reference, node:net alone answering every call with bytes built once (no HTTP/2 library, no header decoded): round trip p50 ${r.grpcFloor.netOnly.roundTrip.p50} ms, p99 ${r.grpcFloor.netOnly.roundTrip.p99} ms; ${r.grpcFloor.netOnly.cpuSecondsPer1000} CPU-seconds per 1,000 republishes paced as in 4; RSS ${r.grpcFloor.netOnly.rssMiB} MiB (peak ${r.grpcFloor.netOnly.peakRssMiB} MiB, RssAnon ${r.grpcFloor.netOnly.rssAnonMiB} MiB).`,
    '',
  ];
  return lines.join('\n');
}

function inServiceDetail(r: BenchResults): string {
  const later = r.firstPublish.inService;
  if (later === undefined) return '';
  return `; after ${later.afterPublishes} first publishes, ${later.latency.count} more: p50 ${later.latency.p50} ms, p90 ${later.latency.p90} ms, p99 ${later.latency.p99} ms, ${later.driverHandlerMeanMs} ms mean inside the handler`;
}

function backendRow(rate: BackendRate): string {
  const breakdown = Object.entries(rate.breakdown)
    .map(([kind, count]) => `${kind}: ${count}`)
    .join(', ');
  return `| ${cell(rate.content)} | ${cell(`${rate.volumes} volumes; ${rate.scaled}`)} | ${rate.perVolumeHour} | ${rate.naivePerVolumeHour} | ${cell(breakdown === '' ? 'none' : breakdown)}${rate.errors > 0 ? `; ${rate.errors} errors` : ''} |`;
}

/** Replace the generated section of bench/README.md (between the markers) with `markdown`. */
export async function updateReadme(readmePath: string, markdown: string): Promise<void> {
  const text = await readFile(readmePath, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`${readmePath} has no ${README_START} … ${README_END} section`);
  await writeFile(readmePath, `${text.slice(0, start + README_START.length)}\n${markdown}${text.slice(end)}`);
}

/** ", CPU time stolen by the hypervisor: 12.3 % over the run (1. first publish 20.1 %, …)", or nothing for results without it. */
function stolenNote(stolen: Readonly<Record<string, number>> | undefined): string {
  if (stolen === undefined || stolen['run'] === undefined) return '';
  const parts = Object.entries(stolen)
    .filter(([name]) => /^\d\./.test(name))
    .map(([name, percent]) => `${name} ${percent} %`);
  return `, CPU time stolen by the hypervisor ${stolen['run']} % over the run (${parts.join(', ')})`;
}

import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, logFileDestination } from '../observability/logger.js';
import { writeSampleStore, type SampleStore } from '../providers/embedded/sample-store.js';
import { parseDriverConfig } from './config.js';
import { startDriver, type DriverApp } from './driver-app.js';
import { parseDuration } from './duration.js';
import { KubeletSimulator } from './kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from './kubelet-sim/simulated-pod.js';

const USAGE = `usage: credmount demo [--duration 100s] [--republish-every 5s] [--dir DIR]

Runs the driver, the kubelet simulator and the embedded provider in one process, in a
temporary directory: a pod's volume is published, republished on a compressed kubelet
cadence, a secret is changed in the store, the pod's 1-minute certificate rotates, and
the volume is unpublished at the end. Set --duration 0 to run until Ctrl-C.`;

/** What the demo prints about a volume: names, sizes, certificate serials. Never secret values. */
async function describeVolume(target: string): Promise<Map<string, string>> {
  const lines = new Map<string, string>();
  for (const name of (await readdir(target)).filter((n) => !n.startsWith('..')).sort()) {
    const path = join(target, name);
    const info = await stat(path);
    let detail = `${info.size} bytes, mode ${(info.mode & 0o777).toString(8)}`;
    if (name.endsWith('.crt')) {
      const certificate = new X509Certificate(await readFile(path));
      detail += `, serial ${certificate.serialNumber.slice(0, 12)}…, valid until ${new Date(certificate.validTo).toISOString()}`;
      if (name !== 'ca.crt') detail += `, ${certificate.subject.replace(/\n/g, ', ')}`;
    } else {
      // A version-like fingerprint of the content that does not reveal it.
      const content = await readFile(path);
      detail += `, changes with content: ${content.length}-${[...content].reduce((a, b) => (a * 31 + b) % 65_521, 7)}`;
    }
    lines.set(name, detail);
  }
  return lines;
}

export async function runDemoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string', default: '100s' },
      'republish-every': { type: 'string', default: '5s' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const durationMs = parseDuration(values.duration, '--duration');
  const republishMs = parseDuration(values['republish-every'], '--republish-every');
  const workdir = values.dir ?? (await mkdtemp(join(tmpdir(), 'credmount-demo-')));
  await mkdir(workdir, { recursive: true });

  // 1. The embedded provider's store: two secrets and a policy for demo/app.
  const store = await writeSampleStore(join(workdir, 'store'));
  const say = (text: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

  // 2. The kubelet simulator first: its JWKS is what the embedded provider verifies tokens with.
  const endpoint = `unix://${join(workdir, 'csi.sock')}`;
  const simulator = await KubeletSimulator.start({ endpoint, kubeletRoot: join(workdir, 'kubelet') });
  let driver: DriverApp | undefined;
  try {
    // 3. The driver, logging to a file so the terminal shows what the pod sees.
    const logFile = join(workdir, 'driver.log');
    const config = parseDriverConfig([
      '--endpoint', endpoint,
      '--state-dir', join(workdir, 'state'),
      '--node-id', 'demo-node',
      '--embedded-store', store.storeDir,
      '--embedded-jwks-url', simulator.jwks.jwksUri,
      '--embedded-refresh-interval', '20s',
    ]);
    const logger = createLogger({ level: 'debug', destination: logFileDestination(logFile) });
    driver = await startDriver(config, { logger });
    say(`driver up on ${endpoint} (volumes are ${driver.mounterKind === 'tmpfs' ? 'tmpfs mounts' : 'plain directories: not root, see the log'}); log: ${logFile}`);
    return await showVolume(simulator, store, say, durationMs, republishMs);
  } finally {
    // Whatever happened, nothing the demo started keeps the process alive.
    await simulator.stop().catch(() => undefined);
    await driver?.stop().catch(() => undefined);
    if (values.dir === undefined) await rm(workdir, { recursive: true, force: true });
  }
}

/** Steps 4–6: a pod's volume published, republished and changed, then unpublished. 0 if all went as it should. */
async function showVolume(simulator: KubeletSimulator, store: SampleStore, say: (text: string) => void, durationMs: number, republishMs: number): Promise<number> {
  // 4. A pod with an inline volume: two secrets and a 1-minute certificate, as the pod itself.
  const objects = store.objectsParameter.replace('ttl: 10m', 'ttl: 1m');
  const pod: SimulatedPod = {
    namespace: store.namespace,
    name: 'app-5d8f7c9b4-k2x7q',
    uid: randomUUID(),
    serviceAccountName: store.serviceAccount,
    volumeName: 'creds',
    attributes: { provider: 'embedded', objects },
    audiences: ['credmount'],
  };
  const first = await simulator.publish(pod);
  if (!first.ok) {
    say(`publish failed: ${first.code}: ${first.message}`);
    return 1;
  }
  say(`published ${pod.namespace}/${pod.name} in ${first.ms.toFixed(1)} ms at ${first.targetPath}`);
  let previous = await describeVolume(first.targetPath);
  for (const [name, detail] of previous) say(`  ${name.padEnd(12)} ${detail}`);
  say(`try: ls -la ${first.targetPath} ; openssl x509 -noout -text -in ${join(first.targetPath, 'tls.crt')}`);

  // 5. Republish on a compressed kubelet cadence; print what changed in the volume.
  const started = Date.now();
  let secretChanged = false;
  const stopAt = durationMs === 0 ? Number.POSITIVE_INFINITY : started + durationMs;
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
  });
  while (!interrupted && Date.now() < stopAt) {
    await new Promise((resolve) => setTimeout(resolve, republishMs));
    if (!secretChanged && Date.now() - started > 15_000) {
      await writeFile(join(store.storeDir, 'secrets', store.secretPaths[0] as string), `rotated-${randomUUID()}\n`);
      secretChanged = true;
      say(`changed ${store.secretPaths[0]} in the store; the volume picks it up at its next refresh (every 20 s)`);
    }
    const event = await simulator.publish(pod);
    const now = await describeVolume(first.targetPath);
    const changed = [...now].filter(([name, detail]) => previous.get(name) !== detail).map(([name]) => name);
    const outcome = event.ok ? (changed.length === 0 ? 'nothing due, volume unchanged' : `updated ${changed.join(', ')}`) : `${event.code}: ${event.message}`;
    say(`republish (${event.ms.toFixed(1)} ms): ${outcome}`);
    for (const name of changed) say(`  ${name.padEnd(12)} ${now.get(name) ?? ''}`);
    previous = now;
  }

  // 6. Unpublish: the target goes away, as when the pod is deleted.
  const gone = await simulator.unpublish(pod);
  const targetExists = await stat(first.targetPath).then(
    () => true,
    () => false,
  );
  say(`unpublished (${gone.ok ? 'OK' : gone.code}); target ${targetExists ? 'still exists!' : 'removed'}`);
  return gone.ok && !targetExists ? 0 : 1;
}

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration.js';
import { KubeletSimulator, type SimulatorEvent } from './kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from './kubelet-sim/simulated-pod.js';

const USAGE = `usage: credmount kubelet-sim --endpoint unix:///path/csi.sock [flags]

Acts as kubelet for one pod with one inline CSI volume: mints service-account tokens (JWKS served
on 127.0.0.1), publishes, republishes on a timer, and unpublishes on exit (Ctrl-C).

  --endpoint URL            the CSI driver's socket (required)
  --kubelet-root DIR        kubelet root dir (default /tmp/credmount-kubelet)
  --namespace NS            pod namespace (default default)
  --pod NAME                pod name (default sim-pod)
  --pod-uid UID             pod UID (default random)
  --service-account SA      pod service account (default default)
  --volume NAME             inline volume name (default creds)
  --attribute KEY=VALUE     a volumeAttributes entry (repeatable)
  --attributes-file FILE    volumeAttributes as a YAML map
  --audience AUD            a CSIDriver tokenRequests audience (repeatable; "" is the API server's)
  --fs-group GID            pod fsGroup (sent as volume_mount_group)
  --tokens-in-secrets       send tokens in secrets (Kubernetes 1.35+ serviceAccountTokenInSecrets)
  --token-ttl DURATION      token lifetime (default 1h)
  --republish-every DURATION  republish interval (default 60s), jittered by --jitter (default 0.25)
  --duration DURATION       stop after this long (default: run until Ctrl-C)
  --key-file FILE           keep the signing key here (so backends keep trusting it across runs)
  --jwks-port PORT          port of the JWKS server (default: any free port)
`;

export async function runKubeletSimCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      endpoint: { type: 'string' },
      'kubelet-root': { type: 'string', default: '/tmp/credmount-kubelet' },
      namespace: { type: 'string', default: 'default' },
      pod: { type: 'string', default: 'sim-pod' },
      'pod-uid': { type: 'string', default: randomUUID() },
      'service-account': { type: 'string', default: 'default' },
      volume: { type: 'string', default: 'creds' },
      attribute: { type: 'string', multiple: true, default: [] },
      'attributes-file': { type: 'string' },
      audience: { type: 'string', multiple: true, default: [] },
      'fs-group': { type: 'string' },
      'tokens-in-secrets': { type: 'boolean', default: false },
      'token-ttl': { type: 'string', default: '1h' },
      'republish-every': { type: 'string', default: '60s' },
      jitter: { type: 'string', default: '0.25' },
      duration: { type: 'string' },
      'key-file': { type: 'string' },
      'jwks-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.endpoint === undefined) {
    console.error(`credmount kubelet-sim: --endpoint is required\n\n${USAGE}`);
    return 2;
  }
  const attributes: Record<string, string> = {};
  if (values['attributes-file'] !== undefined) {
    const loaded: unknown = parseYaml(await readFile(values['attributes-file'], 'utf8'));
    if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) throw new Error('--attributes-file must hold a YAML map');
    for (const [key, value] of Object.entries(loaded)) attributes[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  for (const pair of values.attribute) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--attribute ${JSON.stringify(pair)} must be KEY=VALUE`);
    attributes[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const pod: SimulatedPod = {
    namespace: values.namespace,
    name: values.pod,
    uid: values['pod-uid'],
    serviceAccountName: values['service-account'],
    volumeName: values.volume,
    attributes,
    audiences: values.audience,
    ...(values['fs-group'] === undefined ? {} : { fsGroup: Number(values['fs-group']) }),
  };

  const print = (event: SimulatorEvent) => {
    const outcome = event.ok ? 'OK' : `${event.code ?? 'ERROR'} ${event.errorCode ?? ''}: ${event.message ?? ''}`;
    console.log(`${new Date().toISOString()} ${event.kind.padEnd(9)} ${event.pod} ${outcome} (${event.ms.toFixed(1)} ms)`);
  };
  const simulator = await KubeletSimulator.start({
    endpoint: values.endpoint,
    kubeletRoot: values['kubelet-root'],
    tokensInSecrets: values['tokens-in-secrets'],
    tokenTtlSeconds: parseDuration(values['token-ttl'], '--token-ttl') / 1000,
    ...(values['key-file'] === undefined ? {} : { keyFile: values['key-file'] }),
    ...(values['jwks-port'] === undefined ? {} : { jwksPort: Number(values['jwks-port']) }),
    onEvent: print,
  });
  console.log(`JWKS: ${simulator.jwks.jwksUri} (issuer ${simulator.issuer.issuer})`);

  // Like kubelet: wait for the plugin to register (Probe ready), then publish; a failed call is
  // retried with kubelet's backoff (0.5 s doubling to ~2 min), a successful one is repeated at the
  // republish interval.
  let stopping = false;
  let wake: () => void = () => undefined;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (values.duration !== undefined) setTimeout(stop, parseDuration(values.duration, '--duration')).unref();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  console.log(`waiting for the driver at ${values.endpoint} ...`);
  await Promise.race([simulator.client.waitUntilReady(10 * 60_000), sleep(10 * 60_000)]).catch(() => undefined);
  const intervalMs = parseDuration(values['republish-every'], '--republish-every');
  const jitter = Number(values.jitter);
  let everPublished = false;
  let failureDelayMs = 500;
  while (!stopping) {
    const event = await simulator.publish(pod);
    if (event.ok) {
      if (!everPublished) console.log(`target: ${event.targetPath}`);
      everPublished = true;
      failureDelayMs = 500;
      await sleep(intervalMs * (1 - jitter / 2 + Math.random() * jitter));
    } else {
      await sleep(failureDelayMs);
      failureDelayMs = Math.min(failureDelayMs * 2, 122_000);
    }
  }
  await simulator.stop();
  return everPublished ? 0 : 1;
}

import { startJwksServer, type RunningJwksServer } from './jwks-server.js';
import { CsiCallError, CsiClient, type CsiCaller } from './csi-client.js';
import { buildNodePublishVolumeRequest, buildNodeUnpublishVolumeRequest, cleanUpAfterUnpublish, inlineTargetPath, inlineVolumeId, prepareTargetParent, type NodePublishVolumeRequest } from './kubelet-request-builder.js';
import type { SimulatedPod } from './simulated-pod.js';
import { TokenCache } from './token-cache.js';
import { ServiceAccountTokenIssuer } from './token-issuer.js';

export interface KubeletSimulatorOptions {
  /** The CSI driver's socket, `unix:///path/csi.sock`. */
  readonly endpoint: string;
  /** kubelet's `--root-dir`; targets are `<root>/pods/<uid>/volumes/kubernetes.io~csi/<vol>/mount`. */
  readonly kubeletRoot: string;
  /** Send tokens in `secrets` (Kubernetes 1.35+ with serviceAccountTokenInSecrets) instead of volume_context. */
  readonly tokensInSecrets?: boolean;
  /** TTL of minted tokens (kubelet's tokenRequests expirationSeconds). */
  readonly tokenTtlSeconds?: number;
  /** Reuse an issuer (and so a JWKS) across simulators, or persist its key with `keyFile`. */
  readonly issuer?: ServiceAccountTokenIssuer;
  readonly keyFile?: string;
  /** Port for the JWKS server (0: any free port). */
  readonly jwksPort?: number;
  /** Wall clock for token minting; tests of long spans pass a fake. */
  readonly now?: () => Date;
  /** Called after every CSI call, for printing or assertions. */
  readonly onEvent?: (event: SimulatorEvent) => void;
  /** The client for the plugin's socket; by default @grpc/grpc-js (CsiClient). The benchmarks pass their own. */
  readonly connect?: (endpoint: string) => CsiCaller;
}

export interface SimulatorEvent {
  readonly kind: 'publish' | 'republish' | 'unpublish' | 'stats';
  readonly pod: string;
  readonly volumeId: string;
  readonly targetPath: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly code?: string;
  readonly errorCode?: string;
  readonly message?: string;
}

/**
 * Acts as kubelet towards any CSI node plugin: mints bound service-account tokens (JWKS served on
 * loopback for backends to verify), sends NodePublishVolume with kubelet's exact volume-context
 * keys, republishes on a timer with jitter, and unpublishes.
 */
export class KubeletSimulator {
  readonly client: CsiCaller;
  private readonly tokens: TokenCache;
  private readonly published = new Map<string, SimulatedPod>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  private constructor(
    private readonly options: KubeletSimulatorOptions,
    readonly issuer: ServiceAccountTokenIssuer,
    readonly jwks: RunningJwksServer,
  ) {
    this.client = (options.connect ?? CsiClient.connect)(options.endpoint);
    this.tokens = new TokenCache(issuer, options.now === undefined ? {} : { now: options.now });
  }

  static async start(options: KubeletSimulatorOptions): Promise<KubeletSimulator> {
    const issuer = options.issuer ?? (await ServiceAccountTokenIssuer.create(options.keyFile === undefined ? {} : { keyFile: options.keyFile }));
    const jwks = await startJwksServer(issuer, options.jwksPort === undefined ? {} : { port: options.jwksPort });
    return new KubeletSimulator(options, issuer, jwks);
  }

  /** The request kubelet would send for this pod now (tokens from the cache, refreshed at 80% TTL). */
  async buildPublishRequest(pod: SimulatedPod): Promise<NodePublishVolumeRequest> {
    const tokens = await this.tokens.tokensFor(pod, this.options.tokenTtlSeconds);
    return buildNodePublishVolumeRequest(pod, tokens, { kubeletRoot: this.options.kubeletRoot, tokensInSecrets: this.options.tokensInSecrets ?? false });
  }

  /** NodePublishVolume for a new pod (or a republish: the same call again). Resolves with the event; never throws a CSI error. */
  async publish(pod: SimulatedPod): Promise<SimulatorEvent> {
    const kind = this.published.has(pod.uid) ? 'republish' : 'publish';
    const request = await this.buildPublishRequest(pod);
    await prepareTargetParent(request);
    const event = await this.timed(kind, pod, request.volume_id, request.target_path, () => this.client.nodeCall('NodePublishVolume', request));
    if (event.ok) this.published.set(pod.uid, pod);
    return event;
  }

  /**
   * NodeGetVolumeStats for a published pod's volume, as kubelet's volume-stats collector asks every
   * CSI volume about once a minute (`--volume-stats-agg-period`) of a driver with GET_VOLUME_STATS.
   * The answer (usage, condition) is not kept: `stats` events time the call.
   */
  async volumeStats(pod: SimulatedPod): Promise<SimulatorEvent> {
    const volumeId = inlineVolumeId(pod.uid, pod.volumeName);
    const targetPath = inlineTargetPath(pod, this.options.kubeletRoot);
    return this.timed('stats', pod, volumeId, targetPath, () => this.client.nodeCall('NodeGetVolumeStats', { volume_id: volumeId, volume_path: targetPath }));
  }

  /** Republish every `intervalMs` ± `jitter` (a fraction), like kubelet's pod sync loop. */
  startRepublishing(pod: SimulatedPod, intervalMs: number, jitter = 0.25): void {
    this.stopRepublishing(pod);
    const schedule = () => {
      const delay = intervalMs * (1 - jitter / 2 + Math.random() * jitter);
      const timer = setTimeout(() => {
        void this.publish(pod).finally(() => {
          if (this.timers.has(pod.uid)) schedule();
        });
      }, delay);
      this.timers.set(pod.uid, timer);
    };
    schedule();
  }

  stopRepublishing(pod: SimulatedPod): void {
    const timer = this.timers.get(pod.uid);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(pod.uid);
  }

  /** NodeUnpublishVolume, then kubelet's own clean-up of the target's parent. */
  async unpublish(pod: SimulatedPod): Promise<SimulatorEvent> {
    this.stopRepublishing(pod);
    const request = buildNodeUnpublishVolumeRequest(pod, { kubeletRoot: this.options.kubeletRoot });
    const event = await this.timed('unpublish', pod, request.volume_id, request.target_path, () => this.client.nodeCall('NodeUnpublishVolume', request));
    if (event.ok) {
      this.published.delete(pod.uid);
      this.tokens.deletePod(pod.uid);
      await cleanUpAfterUnpublish(request);
    }
    return event;
  }

  /** Unpublish every pod still published, stop the JWKS server and close the connection. */
  async stop(): Promise<void> {
    for (const pod of [...this.published.values()]) await this.unpublish(pod);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.client.close();
    await this.jwks.stop();
  }

  private async timed(kind: SimulatorEvent['kind'], pod: SimulatedPod, volumeId: string, targetPath: string, call: () => Promise<unknown>): Promise<SimulatorEvent> {
    const started = performance.now();
    let event: SimulatorEvent;
    const base = { kind, pod: `${pod.namespace}/${pod.name}`, volumeId, targetPath };
    try {
      await call();
      event = { ...base, ok: true, ms: performance.now() - started };
    } catch (error) {
      if (!(error instanceof CsiCallError)) throw error;
      event = { ...base, ok: false, ms: performance.now() - started, code: error.codeName, message: error.details, ...(error.errorCode === undefined ? {} : { errorCode: error.errorCode }) };
    }
    this.options.onEvent?.(event);
    return event;
  }
}

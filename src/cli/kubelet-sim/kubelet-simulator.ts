import { startJwksServer, type RunningJwksServer } from './jwks-server.js';
import { CsiCallError, CsiClient, type CsiCaller } from './csi-client.js';
import { buildNodePublishVolumeRequest, buildNodeUnpublishVolumeRequest, cleanUpAfterUnpublish, inlineTargetPath, inlineVolumeId, prepareTargetParent, type KubeletRequestOptions, type NodePublishVolumeRequest } from './kubelet-request-builder.js';
import type { SimulatedPod } from './simulated-pod.js';
import { TokenCache } from './token-cache.js';
import { ServiceAccountTokenIssuer, type MintedToken } from './token-issuer.js';

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
  /**
   * How kubelet's calls reach the plugin. `per-call` (default) is kubelet's way: csi_client.go
   * dials a new gRPC connection for every call and closes it after (newV1NodeClient, `defer
   * closer.Close()`). `shared` sends every call on `client`'s one connection, as a long-lived
   * client would (the benchmarks' figures of sessions 1–10).
   */
  readonly connections?: 'per-call' | 'shared';
}

export interface SimulatorEvent {
  readonly kind: 'publish' | 'republish' | 'unpublish' | 'stats';
  readonly pod: string;
  readonly volumeId: string;
  readonly targetPath: string;
  readonly ok: boolean;
  /** The event's own call (NodePublishVolume, NodeUnpublishVolume, NodeGetVolumeStats), its connection included. */
  readonly ms: number;
  /**
   * kubelet's whole operation: the NodeGetCapabilities calls it makes first (two before each
   * NodePublishVolume, one before NodeGetVolumeStats, docs/kubelet-contract.md) and the call.
   */
  readonly operationMs: number;
  readonly code?: string;
  readonly errorCode?: string;
  readonly message?: string;
}

/**
 * Acts as kubelet towards any CSI node plugin: mints bound service-account tokens (JWKS served on
 * loopback for backends to verify), sends NodePublishVolume with kubelet's exact volume-context
 * keys — after the NodeGetCapabilities calls kubelet makes first, each call on a connection of
 * its own — republishes on a timer with jitter, and unpublishes.
 */
export class KubeletSimulator {
  /** One long-lived connection: for calls of the caller's own (Probe), and every call when `connections: 'shared'`. */
  readonly client: CsiCaller;
  private readonly connectTo: (endpoint: string) => CsiCaller;
  private readonly tokens: TokenCache;
  private readonly published = new Map<string, SimulatedPod>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  private constructor(
    private readonly options: KubeletSimulatorOptions,
    readonly issuer: ServiceAccountTokenIssuer,
    readonly jwks: RunningJwksServer,
  ) {
    this.connectTo = options.connect ?? CsiClient.connect;
    this.client = this.connectTo(options.endpoint);
    this.tokens = new TokenCache(issuer, options.now === undefined ? {} : { now: options.now });
  }

  static async start(options: KubeletSimulatorOptions): Promise<KubeletSimulator> {
    const issuer = options.issuer ?? (await ServiceAccountTokenIssuer.create(options.keyFile === undefined ? {} : { keyFile: options.keyFile }));
    const jwks = await startJwksServer(issuer, options.jwksPort === undefined ? {} : { port: options.jwksPort });
    return new KubeletSimulator(options, issuer, jwks);
  }

  /**
   * The NodePublishVolume kubelet would send for this pod now (tokens from the cache, refreshed at
   * 80% TTL) to a driver that advertises what credmount does.
   */
  async buildPublishRequest(pod: SimulatedPod): Promise<NodePublishVolumeRequest> {
    return this.publishRequest(pod, await this.tokens.tokensFor(pod, this.options.tokenTtlSeconds), {});
  }

  /**
   * kubelet's SetUp of the pod's volume (a first publish, or a republish: the same again): the
   * target's parent, NodeGetCapabilities (csi_mounter.go: VOLUME_MOUNT_GROUP?), NodeGetCapabilities
   * (csi_client.go's access-mode mapper: SINGLE_NODE_MULTI_WRITER?), then NodePublishVolume built
   * from those answers. Resolves with the event; never throws a CSI error.
   */
  async publish(pod: SimulatedPod): Promise<SimulatorEvent> {
    const kind = this.published.has(pod.uid) ? 'republish' : 'publish';
    const tokens = await this.tokens.tokensFor(pod, this.options.tokenTtlSeconds);
    const base = this.eventBase(kind, pod);
    await prepareTargetParent({ target_path: base.targetPath, volume_id: base.volumeId });
    const event = await this.operation(base, async (timeCall) => {
      const mountGroup = await this.advertises('VOLUME_MOUNT_GROUP');
      const multiWriter = await this.advertises('SINGLE_NODE_MULTI_WRITER');
      const request = this.publishRequest(pod, tokens, { volumeMountGroup: mountGroup, singleNodeMultiWriter: multiWriter });
      await timeCall(() => this.nodeCall('NodePublishVolume', request));
    });
    if (event.ok) this.published.set(pod.uid, pod);
    return event;
  }

  /**
   * NodeGetVolumeStats for a published pod's volume, as kubelet's volume-stats collector asks every
   * CSI volume about once a minute (`--volume-stats-agg-period`): after a NodeGetCapabilities that
   * must list GET_VOLUME_STATS (csi_metrics.go), or kubelet does not ask. The answer (usage,
   * condition) is not kept: `stats` events time the call.
   */
  async volumeStats(pod: SimulatedPod): Promise<SimulatorEvent> {
    const base = this.eventBase('stats', pod);
    return this.operation(base, async (timeCall) => {
      if (!(await this.advertises('GET_VOLUME_STATS'))) {
        // kubelet's volume.NewNotSupportedError: no NodeGetVolumeStats call, hence no gRPC status of its own.
        throw new CsiCallError('NodeGetCapabilities', 12, 'NOT_SUPPORTED', 'the plugin does not advertise GET_VOLUME_STATS, so kubelet does not ask it for volume stats', undefined);
      }
      await timeCall(() => this.nodeCall('NodeGetVolumeStats', { volume_id: base.volumeId, volume_path: base.targetPath }));
    });
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

  /** NodeUnpublishVolume (csi_mounter.go TearDownAt: no capability check), then kubelet's own clean-up of the target's parent. */
  async unpublish(pod: SimulatedPod): Promise<SimulatorEvent> {
    this.stopRepublishing(pod);
    const request = buildNodeUnpublishVolumeRequest(pod, { kubeletRoot: this.options.kubeletRoot });
    const event = await this.operation(this.eventBase('unpublish', pod), (timeCall) => timeCall(() => this.nodeCall('NodeUnpublishVolume', request)));
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

  private publishRequest(pod: SimulatedPod, tokens: ReadonlyMap<string, MintedToken>, advertised: Pick<KubeletRequestOptions, 'volumeMountGroup' | 'singleNodeMultiWriter'>): NodePublishVolumeRequest {
    return buildNodePublishVolumeRequest(pod, tokens, { kubeletRoot: this.options.kubeletRoot, tokensInSecrets: this.options.tokensInSecrets ?? false, ...advertised });
  }

  /** One NodeGetCapabilities, as kubelet's nodeSupportsCapability asks it: is `type` listed? */
  private async advertises(type: string): Promise<boolean> {
    const answer = await this.nodeCall<{ capabilities?: { rpc?: { type?: string | number } | null }[] }>('NodeGetCapabilities', {});
    return (answer.capabilities ?? []).some((capability) => capability.rpc?.type === type);
  }

  /** A Node service call as kubelet makes it: on a connection of its own (closed after), or on the shared one. */
  private async nodeCall<T = Record<string, unknown>>(method: string, request: object): Promise<T> {
    if (this.options.connections === 'shared') return this.client.nodeCall<T>(method, request);
    const caller = this.connectTo(this.options.endpoint);
    try {
      return await caller.nodeCall<T>(method, request);
    } finally {
      caller.close();
    }
  }

  private eventBase(kind: SimulatorEvent['kind'], pod: SimulatedPod): Pick<SimulatorEvent, 'kind' | 'pod' | 'volumeId' | 'targetPath'> {
    return { kind, pod: `${pod.namespace}/${pod.name}`, volumeId: inlineVolumeId(pod.uid, pod.volumeName), targetPath: inlineTargetPath(pod, this.options.kubeletRoot) };
  }

  /**
   * Runs one kubelet operation and makes its event: `operationMs` over all of it, `ms` over the
   * call `run` passes to `timeCall`. A CSI error of any of its calls fails the event with that
   * call's status; anything else is thrown.
   */
  private async operation(base: Pick<SimulatorEvent, 'kind' | 'pod' | 'volumeId' | 'targetPath'>, run: (timeCall: (call: () => Promise<unknown>) => Promise<void>) => Promise<void>): Promise<SimulatorEvent> {
    const started = performance.now();
    let callMs: number | undefined;
    const timeCall = async (call: () => Promise<unknown>) => {
      const callStarted = performance.now();
      try {
        await call();
      } finally {
        callMs = performance.now() - callStarted;
      }
    };
    let event: SimulatorEvent;
    try {
      await run(timeCall);
      const operationMs = performance.now() - started;
      event = { ...base, ok: true, ms: callMs ?? operationMs, operationMs };
    } catch (error) {
      if (!(error instanceof CsiCallError)) throw error;
      const operationMs = performance.now() - started;
      const message = error.method === 'NodeGetCapabilities' ? `NodeGetCapabilities: ${error.details}` : error.details;
      event = { ...base, ok: false, ms: callMs ?? operationMs, operationMs, code: error.codeName, message, ...(error.errorCode === undefined ? {} : { errorCode: error.errorCode }) };
    }
    this.options.onEvent?.(event);
    return event;
  }
}

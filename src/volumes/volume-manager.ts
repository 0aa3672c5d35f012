import { Errors } from '../errors/catalogue.js';
import { CredmountError, describeError, isCredmountError } from '../errors/credmount-error.js';
import { isTimeoutOrAbort, withTimeout } from '../errors/time-limit.js';
import type { SecretProviderClassSource } from '../kube/secret-provider-class.js';
import type { Logger } from '../observability/logger.js';
import type { DriverMetrics } from '../observability/metrics.js';
import { EventReasons, type PodEventSink } from '../observability/pod-events.js';
import { podLogFields, type PodLogFields } from '../observability/pod-log-fields.js';
import type { FetchResult, ParsedParameters, Provider } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { validateVolumeFiles } from '../storage/file-path.js';
import type { AtomicWriter, MetadataStore, Mounter, VolumeFile, VolumeMetadata, VolumeUsage } from '../storage/storage.js';
import { readVolumeUsage } from '../storage/volume-usage.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { KeyedLock } from './keyed-lock.js';
import { fetchKey, parametersDigest } from './parameters-digest.js';
import type { PublishRequest } from './publish-request.js';
import { jitteredRefreshAt } from './refresh-schedule.js';
import { SingleFlight } from './single-flight.js';

/**
 * What a NodePublishVolume call did. See docs/republish-semantics.md for what kubelet sees.
 * - mounted:   first publish; tmpfs mounted and filled.
 * - fresh:     republish before the refresh time; no backend I/O at all.
 * - refreshed: republish after the refresh time; new content swapped in atomically.
 * - unchanged: republish after the refresh time; the backend's versions had not changed.
 * - kept:      the refresh failed (or is backing off) and the last good content is still valid.
 */
export type PublishOutcome = 'mounted' | 'fresh' | 'refreshed' | 'unchanged' | 'kept';

export interface VolumeManagerOptions {
  readonly registry: ProviderRegistry;
  readonly mounter: Mounter;
  readonly writer: AtomicWriter;
  readonly metadata: MetadataStore;
  readonly logger: Logger;
  readonly metrics: DriverMetrics;
  /** Most bytes of content one volume may hold; the tmpfs is sized for two generations of it. */
  readonly maxContentBytes: number;
  /** A fetch slower than this is abandoned (kubelet gives every call 2 minutes). */
  readonly fetchTimeoutMs?: number;
  readonly clock?: Clock;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Where `secretProviderClass` references are read (kube/class-cache.ts); without it they are refused. */
  readonly classes?: SecretProviderClassSource;
  /** Kubernetes Events on the pod for failed refreshes (kube/pod-event-recorder.ts when enabled). */
  readonly events?: PodEventSink;
  /**
   * Providers whose volumes are also refreshed by the background timer (startBackgroundRenewal),
   * not only when kubelet republishes. Default: `certificates` (minutes-long certificates must
   * not wait for a republish that may come late).
   */
  readonly backgroundRenewalProviders?: readonly string[];
  /**
   * Runs work that kubelet's answer need not wait for — the metadata record of a volume just
   * published or refreshed — once the answer is on its way (csi/after-answer.ts in the driver).
   * Without it the call itself waits for the record.
   */
  readonly afterAnswer?: (work: () => void) => void;
}

/** What a fetch needs from the pod's request: the provider, its view of the parameters, and their digest. */
interface Prepared {
  readonly provider: Provider;
  readonly parsed: ParsedParameters<unknown>;
  /** Digest of the provider and the parameters it was given (for a class: the class's, as read now). */
  readonly fetchDigest: string;
}

/** What one background renewal pass did for a volume (the label of credmount_background_renewals_total). */
export type BackgroundOutcome = 'refreshed' | 'unchanged' | 'kept' | 'expired' | 'tokens-expired' | 'not-mounted';

/** What the manager keeps in memory per volume; `metadata` is its persisted part. */
interface VolumeState {
  metadata: VolumeMetadata;
  refreshAtMs: number;
  expiresAtMs: number | undefined;
  /** Consecutive failed refreshes; 0 when the last fetch succeeded. */
  failures: number;
  retryAtMs: number;
  lastError: CredmountError | undefined;
  /** Whether this process has seen the volume mounted (false for volumes recovered from disk). */
  mountVerified: boolean;
  /**
   * The last call kubelet made for this volume, tokens included — in memory only, never saved —
   * so the background timer can renew as the pod while those tokens are valid.
   */
  lastRequest: PublishRequest | undefined;
  /** The background timer found the tokens expired and said so; quiet until the next republish. */
  waitingForTokens: boolean;
  /** The content's expiry was reported (log + counter); reset when new content arrives. */
  expiryReported: boolean;
  /**
   * Digest of the parameters the content was fetched with (in memory; undefined for volumes
   * recovered from disk). A class edit can change what an object reads (secretPath, secretKey)
   * while every version stays equal, so equal versions mean "unchanged" only with equal parameters.
   */
  fetchDigest?: string | undefined;
  /**
   * Provider name, class reference and attributes of the last call found compatible with this
   * volume, whose digest is `metadata.parametersDigest`. kubelet sends the same ones on every
   * republish: equal ones mean an equal digest, so parametersDigest's JSON and SHA-256 are skipped.
   */
  compatibleInput?: { readonly provider: string; readonly reference: string | undefined; readonly parameters: Readonly<Record<string, string>> };
}

const DEFAULT_FILE_MODE = 0o644;
/** Tokens that expire sooner than this (or than the fetch timeout, if longer) are not used for a background renewal. */
const TOKEN_MARGIN_MS = 10_000;
/** Room for directory entries and symlinks beside two generations of content. */
const TMPFS_SLACK_BYTES = 256 * 1024;

export class VolumeManager {
  private readonly volumes = new Map<string, VolumeState>();
  private readonly locks = new KeyedLock();
  private readonly fetches = new SingleFlight<FetchResult>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly fetchTimeoutMs: number;
  private readonly log: Logger;
  /** After recover(), the map holds every volume on disk: an unknown id needs no disk read. */
  private recovered = false;
  /** Metadata records queued behind an answer and not yet written (see saveAfterAnswer). */
  private readonly pendingSaves = new Set<Promise<void>>();

  constructor(private readonly options: VolumeManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 90_000;
    this.log = options.logger;
    this.registerGauges();
  }

  /** Load every volume recorded in the state directory, so gauges and stats work after a restart. */
  async recover(): Promise<number> {
    const records = await this.options.metadata.list();
    for (const metadata of records) {
      if (!this.volumes.has(metadata.volumeId)) this.volumes.set(metadata.volumeId, stateFromMetadata(metadata));
    }
    this.recovered = true;
    return records.length;
  }

  /**
   * NodePublishVolume, first call or republish. Bad input fails before anything changes; a
   * republish of fresh content does no parsing and no I/O beyond the in-memory lookup.
   */
  async publish(request: PublishRequest): Promise<PublishOutcome> {
    const reference = request.secretProviderClass;
    // An inline volume names its provider: an unknown one is refused before anything else. A
    // class reference is compared by its name: the class's content is read only when due.
    const inlineProvider = reference === undefined ? this.options.registry.get(request.providerName) : undefined;
    const digestOf = () => (inlineProvider === undefined ? classReferenceDigest(reference as string) : parametersDigest(inlineProvider.name, request.parameters));

    // One call per volume at a time; different volumes proceed concurrently.
    return this.locks.run(request.volumeId, async () => {
      const state = await this.find(request.volumeId);
      const known = state?.compatibleInput;
      const sameInput = known !== undefined && known.provider === request.providerName && known.reference === reference && sameEntries(known.parameters, request.parameters);
      const digest = sameInput ? (state as VolumeState).metadata.parametersDigest : digestOf();
      if (state !== undefined) {
        this.checkCompatible(state.metadata, request, digest);
        if (!sameInput) state.compatibleInput = { provider: request.providerName, reference, parameters: request.parameters };
        // Newer tokens for the background timer (an assignment: the fresh path stays free).
        state.lastRequest = request;
        state.waitingForTokens = false;
        // 1. The common case: a volume this process has seen mounted, content not yet due.
        //    No provider parsing and no Kubernetes API call (an edited class waits for the refresh).
        if (state.mountVerified && this.clock.now() < state.refreshAtMs) return 'fresh';
      }
      // 2. Everything else needs the provider's view of the parameters and the pod's tokens. An
      //    inline volume's are checked now (bad input fails every call); a class is read from the
      //    Kubernetes API, where a failure on a republish is a failed refresh like a backend's.
      const inline = inlineProvider === undefined ? undefined : this.prepareInline(inlineProvider, request);
      const prepare = inline === undefined ? () => this.prepareClass(request, reference as string) : () => Promise.resolve(inline);
      if (state === undefined) return this.firstPublish(request, await prepare(), digest);
      // 3. A volume we know of whose mount is gone (node reboot emptied the tmpfs, someone
      //    unmounted it): build it again rather than report success over nothing. Checked for
      //    volumes recovered from disk and when a refresh is due, never on the fresh path.
      if (!(await this.options.mounter.isMounted(request.targetPath))) return this.rebuild(state, request, prepare, digest);
      state.mountVerified = true;
      return this.republish(state, request, prepare, digest);
    });
  }

  /** The provider and pod identity of a volume this process knows (log and metric labels; no I/O). */
  describe(volumeId: string): { readonly provider: string; readonly log: PodLogFields } | undefined {
    const metadata = this.volumes.get(volumeId)?.metadata;
    return metadata === undefined ? undefined : { provider: metadata.provider, log: metadataLogFields(metadata) };
  }

  /**
   * NodeUnpublishVolume: unmount and remove the target; a target already gone is success. Only
   * the target this volume was published at is touched, and only a tmpfs is ever unmounted.
   */
  async unpublish(volumeId: string, targetPath: string): Promise<void> {
    await this.locks.run(volumeId, async () => {
      const state = await this.find(volumeId);
      if (state !== undefined && state.metadata.targetPath !== targetPath) {
        // Idempotent and harmless: this volume does not live there, so there is nothing of ours to remove.
        this.log.warn(metadataLogFields(state.metadata), 'unpublish names a target this volume is not published at: nothing done');
        return;
      }
      // Content is removed recursively only for a volume we know (and so wrote ourselves).
      await this.options.mounter.unmount(targetPath, { removeContent: state !== undefined });
      if (state !== undefined) {
        await this.options.metadata.remove(volumeId);
        this.volumes.delete(volumeId);
        this.releaseFromProvider(state.metadata.provider, state.metadata);
      }
    });
  }

  /** NodeGetVolumeStats: usage of the volume's tmpfs. Read-only: never caches what it looks up. */
  async stats(volumeId: string, volumePath: string): Promise<VolumeUsage> {
    const metadata = this.volumes.get(volumeId)?.metadata ?? (await this.options.metadata.load(volumeId));
    if (metadata === undefined) throw Errors.volumeNotFound(volumeId);
    if (metadata.targetPath !== volumePath) throw Errors.volumePathNotFound(volumePath);
    // statfs on a path whose tmpfs vanished would report the node's disk.
    if (!(await this.options.mounter.isMounted(volumePath))) throw Errors.volumePathNotFound(volumePath);
    try {
      return await readVolumeUsage(volumePath);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) throw Errors.volumePathNotFound(volumePath);
      throw error;
    }
  }

  // --- first publish -------------------------------------------------------------------------

  private async firstPublish(request: PublishRequest, prepared: Prepared, digest: string): Promise<PublishOutcome> {
    const now = this.clock.now();
    const { provider } = prepared;
    const stage = this.stageTimer(provider.name);
    // 1. Fetch before mounting: a refused or failing fetch leaves nothing behind.
    const result = await stage('fetch', () => this.fetch(request, prepared, undefined));
    // 2. Validate names and size before the mount, for the same reason.
    const files = this.toVolumeFiles(result);
    // 3. Mount, fill, and only then record the volume; undo the mount if filling fails.
    const gid = result.fileGroup ?? request.mountGroup;
    await stage('mount', () => this.options.mounter.mount(request.targetPath, { sizeBytes: this.tmpfsSizeBytes(), gid }));
    try {
      await stage('write', () => this.options.writer.write(request.targetPath, files, { gid, maxBytes: this.options.maxContentBytes }));
      const state = this.newState(request, provider.name, digest, result, now);
      state.fetchDigest = prepared.fetchDigest;
      this.volumes.set(request.volumeId, state);
      await this.saveAfterAnswer(state.metadata, stage);
    } catch (error) {
      await this.options.mounter.unmount(request.targetPath).catch((cleanupError: unknown) => {
        this.log.error({ ...podLogFields(request.identity, request.volumeId), err: describeError(cleanupError) }, 'could not undo a failed publish');
      });
      throw error;
    }
    return 'mounted';
  }

  /** The mount vanished: refetch and mount again, unless the backend is being backed off. */
  private async rebuild(state: VolumeState, request: PublishRequest, prepare: () => Promise<Prepared>, digest: string): Promise<PublishOutcome> {
    const now = this.clock.now();
    this.log.warn(podLogFields(request.identity, request.volumeId), 'volume known but not mounted: publishing it again');
    if (now < state.retryAtMs) throw Errors.contentExpired(request.volumeId, `its content was lost and refreshing is backing off: ${state.lastError?.message ?? ''}`);
    try {
      const prepared = await prepare();
      const outcome = await this.firstPublish(request, prepared, digest);
      if (prepared.provider.name !== state.metadata.provider) this.releaseFromProvider(state.metadata.provider, state.metadata);
      return outcome;
    } catch (error) {
      this.recordFailure(state, state.metadata.provider, error, now);
      throw error;
    }
  }

  // --- republish -----------------------------------------------------------------------------

  private async republish(state: VolumeState, request: PublishRequest, prepare: () => Promise<Prepared>, digest: string): Promise<PublishOutcome> {
    const now = this.clock.now();
    // Idempotent early return: content is fresh (a volume recovered from disk lands here once).
    if (now < state.refreshAtMs) return 'fresh';
    // Backing off after a failure: do not call the backend again before the retry time.
    if (now < state.retryAtMs) return this.keptOrExpired(state, now);

    // Read the class (if any), fetch, check and write as one step: whatever fails, the old
    // content stays and we back off.
    const started = process.hrtime.bigint();
    const previousProvider = state.metadata.provider;
    let providerName = previousProvider;
    let next: VolumeState;
    let unchanged: boolean;
    let stage: ReturnType<VolumeManager['stageTimer']> | undefined;
    try {
      const prepared = await prepare();
      providerName = prepared.provider.name;
      stage = this.stageTimer(providerName);
      const result = await stage('fetch', () => this.fetch(request, prepared, providerName === previousProvider ? state.metadata.versions : undefined));
      // An inline volume's parameters cannot change (checkCompatible); a class's can.
      const sameParameters = request.secretProviderClass === undefined || state.fetchDigest === prepared.fetchDigest;
      unchanged = providerName === previousProvider && sameParameters && sameVersions(state.metadata.versions, result.versions);
      if (!unchanged) {
        const files = this.toVolumeFiles(result);
        await stage('write', () => this.options.writer.write(request.targetPath, files, { gid: result.fileGroup ?? request.mountGroup, maxBytes: this.options.maxContentBytes }));
      }
      next = this.newState(request, providerName, digest, result, now, state.metadata.publishedAt);
      next.fetchDigest = prepared.fetchDigest;
    } catch (error) {
      const code = this.recordFailure(state, providerName, error, now);
      this.countRefresh(providerName, code, started);
      return this.keptOrExpired(state, now);
    }
    this.volumes.set(request.volumeId, next);
    // A class whose provider changed: the old provider holds nothing for this volume any more.
    if (providerName !== previousProvider) this.releaseFromProvider(previousProvider, state.metadata);
    await this.saveAfterAnswer(next.metadata, stage ?? this.stageTimer(providerName));
    const outcome = unchanged ? 'unchanged' : 'refreshed';
    this.countRefresh(providerName, outcome, started);
    return outcome;
  }

  /** credmount_refreshes_total and credmount_refresh_duration_seconds (docs/metrics.md). */
  private countRefresh(providerName: string, result: string, started: bigint): void {
    this.options.metrics.refreshes.inc({ provider: providerName, result });
    this.options.metrics.refreshSeconds.observe({ provider: providerName, result }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  // --- what the pod asks for -----------------------------------------------------------------

  /** Inline attributes: the provider's parse, then the tokens its parameters need. */
  private prepareInline(provider: Provider, request: PublishRequest): Prepared {
    return { provider, parsed: parseFor(provider, request, request.parameters), fetchDigest: parametersDigest(provider.name, request.parameters) };
  }

  /**
   * A `secretProviderClass` reference: read the class in the pod's namespace (cached briefly,
   * kube/class-cache.ts), then use its provider and parameters exactly as inline attributes.
   */
  private async prepareClass(request: PublishRequest, name: string): Promise<Prepared> {
    const namespace = request.identity.namespace;
    if (this.options.classes === undefined) throw Errors.kubeConfigInvalid('this driver has no Kubernetes API access configured, so volume_context.secretProviderClass cannot be used');
    const resolved = await this.options.classes.get(namespace, name);
    let provider: Provider;
    try {
      provider = this.options.registry.get(resolved.provider);
    } catch {
      throw Errors.classUnknownProvider(namespace, name, resolved.provider, this.options.registry.names());
    }
    try {
      return { provider, parsed: parseFor(provider, request, resolved.parameters), fetchDigest: parametersDigest(provider.name, resolved.parameters) };
    } catch (error) {
      throw inClass(error, namespace, name);
    }
  }

  /** Times a stage of a publish into `credmount_publish_stage_seconds` (also when it throws). */
  private stageTimer(providerName: string) {
    const histogram = this.options.metrics.publishStageSeconds;
    return async <T>(stage: string, work: () => Promise<T>): Promise<T> => {
      const end = histogram.startTimer({ stage, provider: providerName });
      try {
        return await work();
      } finally {
        end();
      }
    };
  }

  private releaseFromProvider(providerName: string, metadata: VolumeMetadata): void {
    const volumeId = metadata.volumeId;
    // A provider not (or no longer) loaded holds nothing.
    if (!this.options.registry.names().includes(providerName)) return;
    try {
      this.options.registry.get(providerName).release?.(volumeId);
    } catch (error) {
      // A provider no longer loaded holds nothing; a failing release must not fail the unpublish.
      this.log.debug({ ...metadataLogFields(metadata), err: describeError(error) }, 'provider release skipped');
    }
  }

  /**
   * The record of a volume whose content is on its tmpfs, written after kubelet has its answer
   * (when `afterAnswer` is given): a publish does not wait for the state disk (0.2–1 ms here,
   * bench/README.md). It is queued in the volume's lock behind the current call, so any later
   * call for the volume — an unpublish removing the record — comes after it, and settle() (the
   * driver's shutdown) waits for it. A failure is logged (saveMetadata). A crash before it is
   * written costs what any lost record costs: the next publish finds the tmpfs already mounted
   * (the mounter's idempotent path) and writes the content again.
   */
  private saveAfterAnswer(metadata: VolumeMetadata, stage: ReturnType<VolumeManager['stageTimer']>): Promise<void> {
    const save = () => stage('metadata', () => this.saveMetadata(metadata));
    const afterAnswer = this.options.afterAnswer;
    if (afterAnswer === undefined) return save();
    // saveMetadata logs its own failures; nothing here may reject unobserved.
    const saved = this.locks.run(metadata.volumeId, () => new Promise<void>((resolve) => afterAnswer(resolve)).then(save)).catch(() => undefined);
    this.pendingSaves.add(saved);
    void saved.finally(() => this.pendingSaves.delete(saved));
    return Promise.resolve();
  }

  /** Wait until every metadata record queued behind an answer is written (before the driver exits). */
  async settle(): Promise<void> {
    while (this.pendingSaves.size > 0) await Promise.all([...this.pendingSaves]);
  }

  /**
   * Metadata of a volume whose content is already on the tmpfs: a failed save is logged, not
   * fatal — memory has the truth, and the worst a crash before the next save costs is a refetch.
   */
  private async saveMetadata(metadata: VolumeMetadata): Promise<void> {
    try {
      await this.options.metadata.save(metadata);
    } catch (error) {
      this.log.error({ ...metadataLogFields(metadata), err: describeError(error) }, 'could not save volume metadata');
    }
  }

  private keptOrExpired(state: VolumeState, now: number): PublishOutcome {
    if (state.expiresAtMs !== undefined && now >= state.expiresAtMs) {
      this.reportExpired(state);
      throw Errors.contentExpired(state.metadata.volumeId, state.lastError?.message ?? 'waiting to retry');
    }
    return 'kept';
  }

  /** Expired content is loud: one error line and one count per expiry (the gauge shows it while it lasts). */
  private reportExpired(state: VolumeState): void {
    if (state.expiryReported) return;
    state.expiryReported = true;
    this.options.metrics.contentExpirations.inc({ provider: this.metricProvider(state.metadata.provider) });
    this.log.error(
      {
        ...metadataLogFields(state.metadata),
        provider: state.metadata.provider,
        expiredAt: state.metadata.expiresAt,
        code: state.lastError?.code,
        err: state.lastError?.message,
      },
      'volume content has EXPIRED: the pod holds credentials that are no longer valid and refreshing them keeps failing',
    );
  }

  private metricProvider(name: string): string {
    return this.options.registry.names().includes(name) ? name : 'unknown';
  }

  // --- background renewal --------------------------------------------------------------------

  /**
   * Start the background timer: every `intervalMs` it renews due volumes of the background
   * providers (renewDue). kubelet's republish cadence is not a promise, and a certificate of a
   * few minutes cannot wait for it. Returns the function that stops the timer.
   */
  startBackgroundRenewal(intervalMs: number): () => void {
    let running = false;
    let stopped = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.renewDue(() => stopped)
        .catch((error: unknown) => this.log.error({ err: describeError(error) }, 'background renewal pass failed'))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    return () => {
      // A pass in progress finishes its current volume and renews no other: the driver is stopping.
      stopped = true;
      clearInterval(timer);
    };
  }

  /**
   * One background pass. For each volume of a background provider whose refresh is due (and
   * not backing off):
   * 1. without a kubelet call since this process started, there are no tokens: skip;
   * 2. tokens expired (they are only those kubelet last gave): log and count once, wait for the
   *    next republish, which brings new ones;
   * 3. otherwise refresh exactly as a republish would — under the volume's lock, the old content
   *    kept on failure, the new key, certificate and CA swapped in by one rename.
   */
  async renewDue(stopped: () => boolean = () => false): Promise<Map<string, BackgroundOutcome>> {
    const outcomes = new Map<string, BackgroundOutcome>();
    const providers = this.options.backgroundRenewalProviders ?? ['certificates'];
    for (const [volumeId, candidate] of this.volumes) {
      if (stopped()) break;
      if (!providers.includes(candidate.metadata.provider) || candidate.lastRequest === undefined) continue;
      const now = this.clock.now();
      if (now < candidate.refreshAtMs || now < candidate.retryAtMs) continue;
      const outcome = await this.locks.run(volumeId, () => this.renewOne(volumeId));
      if (outcome === undefined) continue;
      outcomes.set(volumeId, outcome);
      this.options.metrics.backgroundRenewals.inc({ provider: this.metricProvider(candidate.metadata.provider), result: outcome });
    }
    return outcomes;
  }

  private async renewOne(volumeId: string): Promise<BackgroundOutcome | undefined> {
    // Re-read under the lock: a republish or unpublish may have run meanwhile.
    const state = this.volumes.get(volumeId);
    const request = state?.lastRequest;
    if (state === undefined || request === undefined) return undefined;
    const now = this.clock.now();
    if (now < state.refreshAtMs || now < state.retryAtMs) return undefined;
    // Inline parameters were valid when kubelet sent them; a class is read again (briefly cached).
    let prepared: Prepared;
    try {
      prepared =
        request.secretProviderClass === undefined
          ? this.prepareInline(this.options.registry.get(state.metadata.provider), request)
          : await this.prepareClass(request, request.secretProviderClass);
    } catch {
      return undefined; // nothing to do without kubelet: its next republish reports the problem
    }
    const { provider, parsed } = prepared;
    // 2. the tokens we hold must still be valid for a while
    //    — for the whole fetch: a signer polling up to the fetch deadline must not find its token
    //    expired halfway (then it could not even delete what it created).
    const validUntil = now + Math.max(TOKEN_MARGIN_MS, this.fetchTimeoutMs);
    const stale = parsed.audiences.filter((audience) => (request.tokens.get(audience)?.expiresAt.getTime() ?? 0) <= validUntil);
    if (stale.length > 0) {
      if (!state.waitingForTokens) {
        state.waitingForTokens = true;
        this.log.warn(
          { ...metadataLogFields(state.metadata), provider: provider.name, audiences: stale },
          "renewal due but the pod's last tokens have expired: waiting for kubelet's next republish",
        );
      }
      if (state.expiresAtMs !== undefined && now >= state.expiresAtMs) this.reportExpired(state);
      return 'tokens-expired';
    }
    if (!(await this.options.mounter.isMounted(request.targetPath))) return 'not-mounted';
    // 3. the same steps as a republish
    try {
      const outcome = await this.republish(state, request, () => Promise.resolve(prepared), state.metadata.parametersDigest);
      return outcome === 'refreshed' || outcome === 'unchanged' ? outcome : 'kept';
    } catch {
      return 'expired';
    }
  }

  /** Count, back off, log and tell the pod (an Event, when enabled); returns the error's code. */
  private recordFailure(state: VolumeState, providerName: string, error: unknown, now: number): string {
    const failure = asCredmountError(error, providerName);
    state.failures += 1;
    state.lastError = failure;
    const delay = backoffDelay(state.failures, this.backoff, failure.retryAfterMs, this.random);
    state.retryAtMs = now + delay;
    this.options.metrics.refreshFailures.inc({ provider: providerName, code: failure.code });
    this.options.metrics.backoffs.inc({ provider: providerName });
    this.log.warn(
      {
        ...metadataLogFields(state.metadata),
        provider: providerName,
        code: failure.code,
        failures: state.failures,
        retryInMs: Math.round(delay),
        err: failure.message,
      },
      'refresh failed: keeping the last good content',
    );
    // kubelet sees OK while the content is valid, so nothing else would tell the pod's owner.
    this.options.events?.warn({
      pod: { namespace: state.metadata.podNamespace, name: state.metadata.podName, uid: state.metadata.podUid },
      reason: EventReasons.refreshFailed,
      code: failure.code,
      message: `refreshing volume ${state.metadata.volumeId} failed; the last good content stays mounted: ${failure.message}`,
    });
    return failure.code;
  }

  // --- shared steps --------------------------------------------------------------------------

  private async fetch(request: PublishRequest, prepared: Prepared, previousVersions: Readonly<Record<string, string>> | undefined): Promise<FetchResult> {
    const { identity } = request;
    const { provider, parsed, fetchDigest: digest } = prepared;
    // Callers share a fetch only when everything the backend sees is the same — including the
    // tokens themselves, so every pod's own token is presented to (and verified by) the backend.
    const key = fetchKey([
      provider.name,
      identity.namespace,
      identity.serviceAccountName,
      digest,
      // Private keys are never shared: not between pods, not between two volumes of one pod.
      parsed.scope === 'pod' ? `${identity.podUid}/${request.volumeId}` : '',
      ...parsed.audiences.map((audience) => request.tokens.get(audience)?.token ?? ''),
    ]);
    try {
      const { value, shared } = await this.fetches.do(key, () =>
        withTimeout(this.fetchTimeoutMs, (signal) =>
          provider.fetch({
            volumeId: request.volumeId,
            identity,
            tokens: request.tokens,
            parameters: parsed.value,
            previousVersions,
            now: new Date(this.clock.now()),
            signal,
          }),
        ),
      );
      // Count backend work once, not once per caller that joined it.
      if (!shared) this.options.metrics.backendFetches.inc({ provider: provider.name, result: 'ok' });
      return value;
    } catch (error) {
      const failure = asCredmountError(error, provider.name);
      this.options.metrics.backendFetches.inc({ provider: provider.name, result: failure.code });
      throw failure;
    }
  }

  private toVolumeFiles(result: FetchResult): VolumeFile[] {
    const files = result.files.map((file) => ({ path: file.path, content: file.content, mode: file.mode ?? DEFAULT_FILE_MODE }));
    validateVolumeFiles(files, this.options.maxContentBytes);
    return files;
  }

  private newState(request: PublishRequest, providerName: string, digest: string, result: FetchResult, now: number, publishedAt?: string): VolumeState {
    const expiresAtMs = result.expiresAt?.getTime();
    // Never schedule the refresh after (or right at) the content's own expiry.
    const latest = expiresAtMs === undefined ? Number.POSITIVE_INFINITY : now + Math.max(0, expiresAtMs - now) * 0.9;
    const refreshAtMs = jitteredRefreshAt(now, Math.min(result.refreshAt.getTime(), latest), this.random);
    const metadata: VolumeMetadata = {
      volumeId: request.volumeId,
      targetPath: request.targetPath,
      podUid: request.identity.podUid,
      podNamespace: request.identity.namespace,
      podName: request.identity.podName,
      serviceAccountName: request.identity.serviceAccountName,
      provider: providerName,
      parametersDigest: digest,
      readOnly: request.readOnly,
      mountGroup: request.mountGroup,
      mounterKind: this.options.mounter.kind,
      versions: { ...result.versions },
      publishedAt: publishedAt ?? new Date(now).toISOString(),
      refreshedAt: new Date(now).toISOString(),
      refreshAt: new Date(refreshAtMs).toISOString(),
      expiresAt: expiresAtMs === undefined ? undefined : new Date(expiresAtMs).toISOString(),
    };
    return { metadata, refreshAtMs, expiresAtMs, failures: 0, retryAtMs: 0, lastError: undefined, mountVerified: true, lastRequest: request, waitingForTokens: false, expiryReported: false };
  }

  /** A volume is the same one only if pod, target and arguments match; only the token may differ. */
  private checkCompatible(existing: VolumeMetadata, request: PublishRequest, digest: string): void {
    const id = request.volumeId;
    if (existing.targetPath !== request.targetPath) throw Errors.volumeConflict(id, `it is published at another target_path`);
    if (existing.podUid !== request.identity.podUid) throw Errors.volumeConflict(id, 'it belongs to another pod');
    if (existing.parametersDigest !== digest) throw Errors.volumeConflict(id, 'provider or volume attributes differ');
    if (existing.readOnly !== request.readOnly) throw Errors.volumeConflict(id, 'readonly differs');
    if (existing.mountGroup !== request.mountGroup) throw Errors.volumeConflict(id, 'volume_mount_group differs');
  }

  private async find(volumeId: string): Promise<VolumeState | undefined> {
    const known = this.volumes.get(volumeId);
    if (known !== undefined) return known;
    // Every first publish asks about an id that is on no disk: once recovery has listed the state
    // directory, only this process writes it, so the map is the whole truth.
    if (this.recovered) return undefined;
    // Without recovery (a manager used directly): the state directory remembers volumes
    // published by a previous process, found one at a time.
    const metadata = await this.options.metadata.load(volumeId);
    if (metadata === undefined) return undefined;
    const state = stateFromMetadata(metadata);
    this.volumes.set(volumeId, state);
    return state;
  }

  private tmpfsSizeBytes(): number {
    return this.options.maxContentBytes * 2 + TMPFS_SLACK_BYTES;
  }

  /** What the volume gauges show, computed when Prometheus scrapes. */
  private registerGauges(): void {
    this.options.metrics.setVolumeSource(() => {
      const now = this.clock.now();
      const expiries = [...this.volumes.values()].flatMap((s) => (s.expiresAtMs === undefined ? [] : [s.expiresAtMs]));
      return {
        volumes: this.volumes.size,
        expired: expiries.filter((at) => now >= at).length,
        earliestExpirySeconds: expiries.length === 0 ? undefined : (Math.min(...expiries) - now) / 1000,
      };
    });
  }
}

/** The provider's parse, then the tokens its parameters need. Pure: nothing has changed yet. */
function parseFor(provider: Provider, request: PublishRequest, parameters: Readonly<Record<string, string>>): ParsedParameters<unknown> {
  const parsed = provider.parse(parameters, request.identity);
  if (parsed.audiences.length > 0 && request.tokens.size === 0) throw Errors.tokensMissing();
  for (const audience of parsed.audiences) {
    if (!request.tokens.has(audience)) throw Errors.tokenAudienceMissing(audience, [...request.tokens.keys()]);
  }
  return parsed;
}

/** Whether two attribute maps hold the same entries (order aside). */
function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  // The same object when the node service reused the last parse (csi/recent-publishes.ts).
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && a[key] === b[key]);
}

/** A class reference is compared by the class's name (its content may change between refreshes). */
function classReferenceDigest(name: string): string {
  return parametersDigest('secretProviderClass', { secretProviderClass: name });
}

/**
 * A provider's complaint about a class's parameters names the class and `spec.parameters.<name>`,
 * not `volume_context.<name>`, which the pod does not have.
 */
function inClass(error: unknown, namespace: string, name: string): unknown {
  if (!isCredmountError(error) || !error.message.startsWith('volume_context.')) return error;
  const rest = error.message.slice('volume_context.'.length);
  const field = error.field?.startsWith('volume_context.') === true ? `SecretProviderClass.spec.parameters.${error.field.slice('volume_context.'.length)}` : error.field;
  return new CredmountError(error.code, error.status, `SecretProviderClass ${namespace}/${name}: spec.parameters.${rest}`, { field, retryAfterMs: error.retryAfterMs });
}

function metadataLogFields(metadata: VolumeMetadata): PodLogFields {
  return podLogFields({ namespace: metadata.podNamespace, podName: metadata.podName, podUid: metadata.podUid, serviceAccountName: metadata.serviceAccountName }, metadata.volumeId);
}

function stateFromMetadata(metadata: VolumeMetadata): VolumeState {
  return {
    metadata,
    refreshAtMs: Date.parse(metadata.refreshAt),
    expiresAtMs: metadata.expiresAt === undefined ? undefined : Date.parse(metadata.expiresAt),
    failures: 0,
    retryAtMs: 0,
    lastError: undefined,
    mountVerified: false,
    lastRequest: undefined,
    waitingForTokens: false,
    expiryReported: false,
  };
}

function sameVersions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length === 0 || keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => a[key] === b[key]);
}

/** Anything a provider throws becomes a coded error; an uncoded one is treated as the backend being unavailable. */
function asCredmountError(error: unknown, providerName: string): CredmountError {
  if (isCredmountError(error)) return error;
  if (isTimeoutOrAbort(error)) {
    return Errors.backendUnavailable(providerName, 'the request timed out');
  }
  // An uncoded error's message was not written for users and may quote backend data (V8's JSON
  // errors quote their input): only its class name goes on.
  return Errors.backendUnavailable(providerName, `unexpected error (${error instanceof Error ? error.name : typeof error})`);
}

function hasErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

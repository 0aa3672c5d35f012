import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { DriverMetrics } from '../observability/metrics.js';
import type { PodEventSink, PodWarning } from '../observability/pod-events.js';
import { KubeApiError } from './kube-api.js';

export interface PodEventRecorderOptions {
  readonly api: {
    createEvent(namespace: string, body: Record<string, unknown>): Promise<unknown>;
    patchEvent(namespace: string, name: string, patch: readonly Record<string, unknown>[]): Promise<unknown>;
  };
  /** `source.component` / `reportingComponent` (the driver name). */
  readonly component: string;
  /** `source.host` / `reportingInstance` (the node). */
  readonly host: string;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics?: DriverMetrics;
  /** A repeat of the same warning updates the event's count at most this often. */
  readonly updateIntervalMs?: number;
  /** A series with no repeat for this long is forgotten; the next warning starts a new event. */
  readonly seriesIdleMs?: number;
  /** Node-wide budget of API calls: a bucket of `burst`, refilled by one every `refillMs`. */
  readonly burst?: number;
  readonly refillMs?: number;
  /** After a 403, how long to stay quiet before trying again (RBAC may be granted later). */
  readonly deniedBackoffMs?: number;
}

interface Series {
  name: string | undefined;
  count: number;
  /** How many of `count` the API server already knows. */
  sentCount: number;
  firstAt: string;
  lastAt: string;
  lastSentMs: number;
  lastSeenMs: number;
  message: string;
  busy: boolean;
}

const MAX_MESSAGE = 1024;
const MAX_SERIES = 4096;

/**
 * core v1 Events on the pod (involvedObject = the pod) for problems kubelet does not see, such as
 * a failed refresh answered OK because the last good content is still valid. Core v1 rather than
 * events.k8s.io/v1: it is what `kubectl describe pod` shows, and the RBAC the chart grants
 * (create and patch on "events" in the core group). Aggregated like client-go's correlator: the
 * first warning of a series (same pod, reason and code) creates an event, repeats bump its `count`
 * and `lastTimestamp` with a JSON patch at most every `updateIntervalMs`; a node-wide token bucket
 * caps the calls, so a failing backend with hundreds of pods cannot flood the API server.
 * Never throws and never delays the caller.
 */
export class PodEventRecorder implements PodEventSink {
  private readonly series = new Map<string, Series>();
  private tokens: number;
  private lastRefillMs: number;
  private deniedUntilMs = 0;
  private deniedLogged = false;
  private readonly updateIntervalMs: number;
  private readonly seriesIdleMs: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly deniedBackoffMs: number;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: PodEventRecorderOptions) {
    this.updateIntervalMs = options.updateIntervalMs ?? 5 * 60_000;
    this.seriesIdleMs = options.seriesIdleMs ?? 30 * 60_000;
    this.burst = options.burst ?? 25;
    this.refillMs = options.refillMs ?? 10_000;
    this.deniedBackoffMs = options.deniedBackoffMs ?? 10 * 60_000;
    this.tokens = this.burst;
    this.lastRefillMs = options.now();
  }

  warn(warning: PodWarning): void {
    const now = this.options.now();
    const key = `${warning.pod.uid}\u0000${warning.reason}\u0000${warning.code}`;
    const message = `${warning.code}: ${warning.message}`.slice(0, MAX_MESSAGE);
    const at = rfc3339(now);
    let series = this.series.get(key);
    if (series !== undefined && now - series.lastSeenMs > this.seriesIdleMs) series = undefined;
    // 1. Count the occurrence locally, whatever happens to the API call.
    if (series === undefined) {
      series = { name: undefined, count: 0, sentCount: 0, firstAt: at, lastAt: at, lastSentMs: 0, lastSeenMs: now, message, busy: false };
      this.remember(key, series);
    }
    series.count += 1;
    series.lastAt = at;
    series.lastSeenMs = now;
    series.message = message;
    // 2. Decide whether this occurrence reaches the API server now.
    if (series.busy) return;
    const isNew = series.name === undefined;
    if (!isNew && now - series.lastSentMs < this.updateIntervalMs) return;
    if (now < this.deniedUntilMs) return this.count(warning.reason, 'denied');
    if (!this.take(now)) return this.count(warning.reason, 'suppressed');
    series.busy = true;
    series.lastSentMs = now;
    const work = (isNew ? this.create(warning, series) : this.update(warning, series)).finally(() => {
      (series as Series).busy = false;
      this.pending.delete(work);
    });
    this.pending.add(work);
  }

  /** Wait for the API calls in flight (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async create(warning: PodWarning, series: Series): Promise<void> {
    // `<pod>.<16 hex>`, kept within the 253 characters of an object name (pod names may use all of them).
    const name = `${warning.pod.name.slice(0, 253 - 17).replace(/[.-]+$/, '')}.${randomBytes(8).toString('hex')}`;
    const body = {
      metadata: { name, namespace: warning.pod.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: warning.pod.namespace, name: warning.pod.name, uid: warning.pod.uid },
      reason: warning.reason,
      message: series.message,
      type: 'Warning',
      source: { component: this.options.component, host: this.options.host },
      reportingComponent: this.options.component,
      reportingInstance: this.options.host,
      firstTimestamp: series.firstAt,
      lastTimestamp: series.lastAt,
      count: series.count,
    };
    const sentCount = series.count;
    try {
      await this.options.api.createEvent(warning.pod.namespace, body);
      series.name = name;
      series.sentCount = sentCount;
      this.count(warning.reason, 'created');
    } catch (error) {
      this.failed(warning, error);
    }
  }

  private async update(warning: PodWarning, series: Series): Promise<void> {
    const sentCount = series.count;
    const patch = [
      { op: 'replace', path: '/count', value: series.count },
      { op: 'replace', path: '/lastTimestamp', value: series.lastAt },
      { op: 'replace', path: '/message', value: series.message },
    ];
    try {
      await this.options.api.patchEvent(warning.pod.namespace, series.name as string, patch);
      series.sentCount = sentCount;
      this.count(warning.reason, 'updated');
    } catch (error) {
      if (error instanceof KubeApiError && error.failure.status === 404) {
        // The API server expired the event (its TTL is an hour by default): start a new one.
        series.name = undefined;
        return this.create(warning, series);
      }
      this.failed(warning, error);
    }
  }

  private failed(warning: PodWarning, error: unknown): void {
    const status = error instanceof KubeApiError ? error.failure.status : 0;
    if (status === 403) {
      this.deniedUntilMs = this.options.now() + this.deniedBackoffMs;
      this.count(warning.reason, 'denied');
      if (!this.deniedLogged) {
        this.deniedLogged = true;
        this.options.logger.warn(
          { apiMessage: error instanceof KubeApiError ? error.failure.message : undefined, retryInMs: this.deniedBackoffMs },
          'Kubernetes Events are forbidden for the driver\'s service account (it needs "create" and "patch" on "events" in the core API group): not sending events for a while; everything else keeps working',
        );
      }
      return;
    }
    this.count(warning.reason, 'failed');
    this.options.logger.debug({ namespace: warning.pod.namespace, pod: warning.pod.name, podUid: warning.pod.uid, status, err: error instanceof Error ? error.message : String(error) }, 'could not record a Kubernetes Event');
  }

  private take(now: number): boolean {
    const refilled = Math.floor((now - this.lastRefillMs) / this.refillMs);
    if (refilled > 0) {
      this.tokens = Math.min(this.burst, this.tokens + refilled);
      this.lastRefillMs += refilled * this.refillMs;
    }
    if (this.tokens <= 0) return false;
    this.tokens -= 1;
    return true;
  }

  private remember(key: string, series: Series): void {
    this.series.delete(key);
    if (this.series.size >= MAX_SERIES) {
      const oldest = this.series.keys().next().value;
      if (oldest !== undefined) this.series.delete(oldest);
    }
    this.series.set(key, series);
  }

  private count(reason: string, result: string): void {
    this.options.metrics?.podEvents.inc({ reason, result });
  }
}

/** Event timestamps are RFC 3339 with second precision (metav1.Time). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendRequestReporter } from './backend-requests.js';

export interface VolumeSnapshot {
  readonly volumes: number;
  readonly expired: number;
  readonly earliestExpirySeconds: number | undefined;
}

/**
 * The driver's Prometheus metrics, on a registry of its own (no global state, so tests and
 * several drivers in one process do not collide). Labels carry provider names, operation names
 * and results — never pod-supplied free text, identities or anything secret.
 */
export class DriverMetrics {
  readonly registry = new Registry();

  readonly operations = new Counter({
    name: 'credmount_operations_total',
    help: 'CSI node operations by operation and result (mounted, fresh, refreshed, unchanged, kept, error code).',
    labelNames: ['operation', 'provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly operationSeconds = new Histogram({
    name: 'credmount_operation_duration_seconds',
    help: 'Latency of CSI node operations, by operation, provider and result (as in credmount_operations_total).',
    labelNames: ['operation', 'provider', 'result'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly publishStageSeconds = new Histogram({
    name: 'credmount_publish_stage_seconds',
    help: 'Time spent in each stage of a publish or refresh (fetch, mount, write, metadata), by provider.',
    labelNames: ['stage', 'provider'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  readonly backendFetches = new Counter({
    name: 'credmount_backend_fetches_total',
    help: 'Fetches from a provider backend, by provider and result.',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly refreshFailures = new Counter({
    name: 'credmount_refresh_failures_total',
    help: 'Refreshes that failed and kept the last good content, by provider and error code.',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });

  readonly backoffs = new Counter({
    name: 'credmount_backoffs_total',
    help: 'Times a volume entered or extended backoff after a failed fetch.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly refreshes = new Counter({
    name: 'credmount_refreshes_total',
    help: 'Refreshes (republishes whose content was due), by provider and result: refreshed, unchanged or the error code of a failed refresh.',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly backgroundRenewals = new Counter({
    name: 'credmount_background_renewals_total',
    help: 'Refreshes started by the background timer (not by a kubelet republish), by provider and result (refreshed, unchanged, kept, expired, tokens-expired, not-mounted).',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly refreshSeconds = new Histogram({
    name: 'credmount_refresh_duration_seconds',
    help: 'Latency of refreshes (fetch, compare, write), by provider and result.',
    labelNames: ['provider', 'result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 90],
    registers: [this.registry],
  });

  readonly backendRequests = new Counter({
    name: 'credmount_backend_requests_total',
    help: 'Requests a provider made to its backend, by provider, operation (login, read, renew...) and result (ok, HTTP status, network, timeout).',
    labelNames: ['provider', 'operation', 'result'] as const,
    registers: [this.registry],
  });

  readonly backendRequestErrors = new Counter({
    name: 'credmount_backend_request_errors_total',
    help: 'Backend requests that failed, by provider, operation and result (HTTP status, network, timeout).',
    labelNames: ['provider', 'operation', 'result'] as const,
    registers: [this.registry],
  });

  readonly backendRequestSeconds = new Histogram({
    name: 'credmount_backend_request_duration_seconds',
    help: 'Latency of backend requests, by provider and operation.',
    labelNames: ['provider', 'operation'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly kubeApiRequests = new Counter({
    name: 'credmount_kube_api_requests_total',
    help: "Requests the driver made to the Kubernetes API with its own service account, by operation and result (ok, HTTP status, network, timeout).",
    labelNames: ['operation', 'result'] as const,
    registers: [this.registry],
  });

  readonly secretProviderClassLookups = new Counter({
    name: 'credmount_secret_provider_class_lookups_total',
    help: 'SecretProviderClass lookups by result: cached (answered from the TTL cache), fetched (read from the API), or the error code.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly podEvents = new Counter({
    name: 'credmount_pod_events_total',
    help: 'Kubernetes Events about pods, by reason and result: created, updated (an aggregated repeat), suppressed (rate limit), denied (RBAC), failed.',
    labelNames: ['reason', 'result'] as const,
    registers: [this.registry],
  });

  /** A reporter bound to one provider's name, handed to the provider at construction. */
  backendReporter(provider: string): BackendRequestReporter {
    return {
      report: ({ operation, result, seconds }) => {
        this.backendRequests.inc({ provider, operation, result });
        if (result !== 'ok') this.backendRequestErrors.inc({ provider, operation, result });
        this.backendRequestSeconds.observe({ provider, operation }, seconds);
      },
    };
  }

  /** The Kubernetes API client's reporter (kube/), into credmount_kube_api_requests_total. */
  kubeApiReporter(): BackendRequestReporter {
    return { report: ({ operation, result }) => this.kubeApiRequests.inc({ operation, result }) };
  }

  readonly contentExpirations = new Counter({
    name: 'credmount_content_expirations_total',
    help: 'Times a volume was found holding content past its expiry (each expiry counted once), by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  /** Where the volume gauges read from when scraped; set by the volume manager. */
  private volumeSource: (() => VolumeSnapshot) | undefined;

  constructor(options: { collectProcessMetrics?: boolean } = {}) {
    if (options.collectProcessMetrics === true) {
      // The event-loop delay monitor samples on a timer; at prom-client's default 10 ms it cost an
      // idle driver 6.5 ms of CPU every second (bench/README.md). 100 ms still sees every stall
      // that matters to kubelet's calls.
      collectDefaultMetrics({ register: this.registry, prefix: 'credmount_', eventLoopMonitoringPrecision: 100 });
    }
    // Gauges about volumes are computed at scrape time, so the publish path pays nothing for them.
    const source = () => this.volumeSource?.();
    new Gauge({
      name: 'credmount_volumes',
      help: 'Volumes this driver currently manages.',
      registers: [this.registry],
      collect() {
        this.set(source()?.volumes ?? 0);
      },
    });
    new Gauge({
      name: 'credmount_volumes_expired',
      help: 'Volumes whose content is past its expiry because refreshing failed.',
      registers: [this.registry],
      collect() {
        this.set(source()?.expired ?? 0);
      },
    });
    new Gauge({
      name: 'credmount_earliest_expiry_seconds',
      help: 'Seconds until the earliest credential expiry among managed volumes (absent when none expires).',
      registers: [this.registry],
      collect() {
        const seconds = source()?.earliestExpirySeconds;
        // remove(), not reset(): reset() exports 0, which reads as "a credential expires now".
        if (seconds === undefined) this.remove();
        else this.set(seconds);
      },
    });
  }

  setVolumeSource(source: () => VolumeSnapshot): void {
    this.volumeSource = source;
  }
}

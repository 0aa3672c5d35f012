import { isCredmountError, type CredmountError } from '../errors/credmount-error.js';
import type { Logger } from '../observability/logger.js';
import type { DriverMetrics } from '../observability/metrics.js';
import { classReadError, kubeFailureOf } from './kube-api-error.js';
import { KubeApiError } from './kube-api.js';
import { parseSecretProviderClass, type ResolvedClass, type SecretProviderClassSource } from './secret-provider-class.js';

export interface ClassCacheOptions {
  readonly api: { getSecretProviderClass(namespace: string, name: string): Promise<unknown> };
  /** How long an answer (a class, or "it does not exist") is reused. */
  readonly ttlMs: number;
  readonly now: () => number;
  readonly metrics?: DriverMetrics;
  readonly logger?: Logger;
}

interface Entry {
  readonly atMs: number;
  readonly answer: Promise<ResolvedClass>;
}

/**
 * SecretProviderClasses read with the driver's service account and kept for a short TTL
 * (docs/secret-provider-class.md, "Caching"):
 *
 * - Lookups happen only when a volume needs the provider's view: a first publish, or a republish
 *   whose content is due. A republish that finds content fresh never gets here, so the TTL only
 *   bounds how stale a class may be when a refresh runs, and collapses the lookups of many
 *   volumes refreshing together (a Deployment's pods) into one GET.
 * - An edited class therefore takes effect at each volume's next refresh (at most `ttlMs` later).
 * - A watch was not chosen: it would hold a connection and every class of the cluster (or of
 *   every namespace with a pod here) in memory, and need list/watch RBAC, to serve lookups that
 *   happen once per refresh interval per volume; upstream's driver also reads the class per mount.
 * - "Not found" is cached like an answer (kubelet retries a failing mount every few seconds at
 *   first); forbidden, unauthenticated and unavailable answers are not cached.
 */
export class ClassCache implements SecretProviderClassSource {
  private readonly entries = new Map<string, Entry>();
  private readonly lastVersion = new Map<string, string>();

  constructor(private readonly options: ClassCacheOptions) {}

  async get(namespace: string, name: string): Promise<ResolvedClass> {
    const key = `${namespace}/${name}`;
    const now = this.options.now();
    const cached = this.entries.get(key);
    if (cached !== undefined && now - cached.atMs < this.options.ttlMs) {
      this.options.metrics?.secretProviderClassLookups.inc({ result: 'cached' });
      return cached.answer;
    }
    // 1. One GET for everyone asking now (concurrent lookups join the in-flight answer).
    const answer = this.read(namespace, name);
    this.entries.set(key, { atMs: now, answer });
    try {
      const resolved = await answer;
      this.options.metrics?.secretProviderClassLookups.inc({ result: 'fetched' });
      this.noteVersion(key, resolved);
      return resolved;
    } catch (error) {
      const code = isCredmountError(error) ? error.code : 'CM_INTERNAL';
      this.options.metrics?.secretProviderClassLookups.inc({ result: code });
      // 2. Keep only answers about the class itself; a failing API is asked again next time.
      if (code !== 'CM_CLASS_NOT_FOUND' && code !== 'CM_CLASS_INVALID' && this.entries.get(key)?.answer === answer) this.entries.delete(key);
      throw error;
    }
  }

  /** Drop every cached answer (tests; a future watch could call it). */
  clear(): void {
    this.entries.clear();
  }

  private async read(namespace: string, name: string): Promise<ResolvedClass> {
    let object: unknown;
    try {
      object = await this.options.api.getSecretProviderClass(namespace, name);
    } catch (error) {
      if (isCredmountError(error)) throw error; // configuration problems (no in-cluster environment)
      throw asClassError(namespace, name, error);
    }
    return parseSecretProviderClass(namespace, name, object);
  }

  private noteVersion(key: string, resolved: ResolvedClass): void {
    const previous = this.lastVersion.get(key);
    if (previous === resolved.resourceVersion) return;
    this.lastVersion.set(key, resolved.resourceVersion);
    const fields = { namespace: resolved.namespace, secretProviderClass: resolved.name, provider: resolved.provider, resourceVersion: resolved.resourceVersion };
    if (previous === undefined) this.options.logger?.info(fields, 'SecretProviderClass loaded');
    else this.options.logger?.info({ ...fields, previousResourceVersion: previous }, 'SecretProviderClass changed: volumes use it from their next refresh');
    if (resolved.hasSecretObjects) this.options.logger?.warn(fields, 'SecretProviderClass spec.secretObjects is ignored: credmount never writes Kubernetes Secrets');
  }
}

function asClassError(namespace: string, name: string, error: unknown): CredmountError {
  return classReadError(namespace, name, error instanceof KubeApiError ? error.failure : kubeFailureOf(error));
}

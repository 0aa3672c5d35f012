import { Errors } from '../../errors/catalogue.js';
import { describeError, isCredmountError } from '../../errors/credmount-error.js';
import { KubeApiError } from '../../kube/kube-api.js';
import { DELEGATES_KEY, SERVICE_ACCOUNT_KEY } from './gcp-parameters.js';

/**
 * Reads a service account with the driver's own Kubernetes identity (kube/kube-api.ts, through
 * @kubernetes/client-node and `--kubeconfig` or the in-cluster service account). Rejects with a
 * KubeApiError on a failed call.
 */
export type ServiceAccountReader = (namespace: string, name: string) => Promise<unknown>;

/** The impersonation a Kubernetes service account's annotations ask for (raw, validated by the caller). */
export interface AnnotatedImpersonation {
  readonly serviceAccount: string | undefined;
  readonly delegates: string | undefined;
}

interface CachedAnnotations {
  readonly value: AnnotatedImpersonation;
  readonly fetchedAtMs: number;
}

/** How long a service account's annotations are trusted before they are read again. */
const ANNOTATION_TTL_MS = 5 * 60_000;

/**
 * `iam.gke.io/gcp-service-account` and `-delegates` from the pod's Kubernetes service account, as
 * the upstream GCP provider reads them. This needs the driver's own Kubernetes identity with
 * `get` on `serviceaccounts` (a Kubernetes permission, not a Google credential), so it is off
 * unless the operator turns it on (`--gcp-service-account-annotations`).
 */
export class ServiceAccountAnnotations {
  private readonly cache = new Map<string, CachedAnnotations>();

  constructor(private readonly readAccount: ServiceAccountReader) {}

  async read(namespace: string, name: string, nowMs: number): Promise<AnnotatedImpersonation> {
    const key = `${namespace}/${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs - cached.fetchedAtMs < ANNOTATION_TTL_MS) return cached.value;
    const what = `reading the annotations of Kubernetes service account ${key}`;
    let account: unknown;
    try {
      account = await this.readAccount(namespace, name);
    } catch (error) {
      // Only the status is used: the API's message names the driver's own identity.
      const status = error instanceof KubeApiError ? error.failure.status : 0;
      if (status === 404) throw Errors.notFound(`Kubernetes service account ${key}`);
      if (status === 401 || status === 403) {
        throw Errors.providerConfigInvalid('gcp', '--gcp-service-account-annotations', `${what}: the Kubernetes API answered ${status}: the driver's service account needs "get" on "serviceaccounts"`);
      }
      if (isCredmountError(error)) throw error; // e.g. no Kubernetes API access configured
      throw Errors.backendUnavailable('the Kubernetes API', `${what}: ${status === 0 ? describeError(error) : `answered ${status}`}`);
    }
    const metadata = typeof account === 'object' && account !== null ? (account as { metadata?: { annotations?: unknown } }).metadata : undefined;
    const annotations = typeof metadata?.annotations === 'object' && metadata.annotations !== null ? (metadata.annotations as Record<string, unknown>) : {};
    const pick = (k: string) => (typeof annotations[k] === 'string' ? (annotations[k] as string) : undefined);
    const value = { serviceAccount: pick(SERVICE_ACCOUNT_KEY), delegates: pick(DELEGATES_KEY) };
    this.cache.set(key, { value, fetchedAtMs: nowMs });
    return value;
  }
}

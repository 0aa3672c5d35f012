import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import { Errors } from '../../errors/catalogue.js';
import { describeError, isCredmountError } from '../../errors/credmount-error.js';
import { DELEGATES_KEY, SERVICE_ACCOUNT_KEY } from './gcp-parameters.js';

/** Where the driver reads Kubernetes service accounts from. */
export interface KubernetesApiSettings {
  /** `https://host:port`; '' = in-cluster (KUBERNETES_SERVICE_HOST/PORT and the mounted service-account files). */
  readonly server: string;
  /** The driver's own token file (re-read on every request, as projected tokens rotate). */
  readonly tokenFile: string;
  /** '' = system roots (or the in-cluster CA when `server` is ''). */
  readonly caFile: string;
}

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
const REQUEST_TIMEOUT_MS = 10_000;
const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Connection {
  readonly base: string;
  readonly tokenFile: string;
  readonly dispatcher: Agent | undefined;
}

/**
 * `iam.gke.io/gcp-service-account` and `-delegates` from the pod's Kubernetes service account, as
 * the upstream GCP provider reads them. This needs the driver's own Kubernetes identity with
 * `get` on `serviceaccounts` (a Kubernetes permission, not a Google credential), so it is off
 * unless the operator turns it on.
 *
 * It is one GET (`/api/v1/namespaces/{ns}/serviceaccounts/{name}`) with the undici the driver
 * already has: @kubernetes/client-node 2.x needs Node 22 (its bundled undici uses zstd) while the
 * driver supports Node 20.19, and it weighs 67 MB for this one call.
 */
export class ServiceAccountAnnotations {
  private connection: Connection | undefined;
  private readonly cache = new Map<string, CachedAnnotations>();

  constructor(private readonly settings: KubernetesApiSettings) {}

  async read(namespace: string, name: string, nowMs: number): Promise<AnnotatedImpersonation> {
    const key = `${namespace}/${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs - cached.fetchedAtMs < ANNOTATION_TTL_MS) return cached.value;
    const connection = this.connection ?? (this.connection = await this.connect());
    const what = `reading the annotations of Kubernetes service account ${key}`;
    let status: number;
    let text: string;
    try {
      // Projected tokens rotate: read the file on every request.
      const token = (await readFile(connection.tokenFile, 'utf8')).trim();
      const response = await fetch(`${connection.base}/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        ...(connection.dispatcher === undefined ? {} : { dispatcher: connection.dispatcher }),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw Errors.backendUnavailable('the Kubernetes API', `${what}: ${describeError(error)}`);
    }
    // Only the status is used: the API's message names the driver's own identity.
    if (status === 404) throw Errors.notFound(`Kubernetes service account ${key}`);
    if (status === 401 || status === 403) {
      throw Errors.providerConfigInvalid('gcp', '--gcp-service-account-annotations', `${what}: the Kubernetes API answered ${status}: the driver's service account needs "get" on "serviceaccounts"`);
    }
    if (status !== 200) throw Errors.backendUnavailable('the Kubernetes API', `${what}: answered ${status}`);
    let annotations: Record<string, unknown> = {};
    try {
      const account = JSON.parse(text) as { metadata?: { annotations?: Record<string, unknown> } };
      annotations = account.metadata?.annotations ?? {};
    } catch {
      throw Errors.backendUnavailable('the Kubernetes API', `${what}: the answer is not JSON`);
    }
    const pick = (k: string) => (typeof annotations[k] === 'string' ? (annotations[k] as string) : undefined);
    const value = { serviceAccount: pick(SERVICE_ACCOUNT_KEY), delegates: pick(DELEGATES_KEY) };
    this.cache.set(key, { value, fetchedAtMs: nowMs });
    return value;
  }

  private async connect(): Promise<Connection> {
    let server = this.settings.server;
    let caFile = this.settings.caFile;
    let tokenFile = this.settings.tokenFile;
    if (server === '') {
      const host = process.env['KUBERNETES_SERVICE_HOST'];
      const port = process.env['KUBERNETES_SERVICE_PORT'];
      if (host === undefined || port === undefined) {
        throw Errors.providerConfigInvalid('gcp', '--gcp-kubernetes-api', 'is not set and the driver is not running in a cluster (KUBERNETES_SERVICE_HOST/PORT are unset)');
      }
      server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      caFile = caFile === '' ? `${IN_CLUSTER_DIR}/ca.crt` : caFile;
      tokenFile = tokenFile === '' ? `${IN_CLUSTER_DIR}/token` : tokenFile;
    }
    let dispatcher: Agent | undefined;
    if (caFile !== '') {
      try {
        dispatcher = new Agent({ connect: { ca: await readFile(caFile, 'utf8') } });
      } catch (error) {
        throw isCredmountError(error) ? error : Errors.providerConfigInvalid('gcp', '--gcp-kubernetes-ca-file', `cannot be read: ${describeError(error)}`);
      }
    }
    return { base: server.replace(/\/+$/, ''), tokenFile, dispatcher };
  }
}

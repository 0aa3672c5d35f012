import { readFileSync } from 'node:fs';
import { Errors, withRetryAfter } from '../../../errors/catalogue.js';
import type { CredmountError } from '../../../errors/credmount-error.js';
import { abortingOn, type KubeHttpLibrary } from '../../../kube/aborting-http.js';
import { CR_GROUP, CR_PLURAL, CR_VERSION, type CertificateRequestObject } from './certificate-request.js';

/**
 * CertificateRequest calls to the Kubernetes API **with the pod's token** (the bearer token of the
 * empty-audience entry kubelet sends), through @kubernetes/client-node. The library (~60 MiB,
 * ~0.5 s to load) is imported on the first request only. The driver's own credentials are never
 * used here: the API server, cert-manager's approvers and the audit log see the pod.
 */
export interface KubeApiOptions {
  /** `https://<host>:<port>`; in a pod: from KUBERNETES_SERVICE_HOST/PORT. */
  readonly server: string;
  /** CA bundle for the API server's certificate; undefined: the system's roots. */
  readonly caFile: string | undefined;
}

type ClientModule = typeof import('@kubernetes/client-node');
let loading: Promise<ClientModule> | undefined;

function clientModule(): Promise<ClientModule> {
  loading ??= import('@kubernetes/client-node');
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** The API server's CA is re-read this often (a rotated service-account CA is picked up). */
const CA_MAX_AGE_MS = 10 * 60_000;

export class CertificateRequestClient {
  private ca: { data: string; readAtMs: number } | undefined;
  private http: KubeHttpLibrary | undefined;

  constructor(private readonly options: KubeApiOptions) {}

  /** The CA bundle, base64, read once and then every 10 minutes rather than on every call. */
  private caData(): string | undefined {
    if (this.options.caFile === undefined) return undefined;
    const nowMs = Date.now();
    if (this.ca === undefined || nowMs - this.ca.readAtMs > CA_MAX_AGE_MS) {
      try {
        this.ca = { data: readFileSync(this.options.caFile).toString('base64'), readAtMs: nowMs };
      } catch (error) {
        throw Errors.backendUnavailable(`the Kubernetes API at ${this.options.server}`, `its CA file ${this.options.caFile} could not be read: ${(error as { code?: string }).code ?? 'error'}`);
      }
    }
    return this.ca.data;
  }

  /** Each call's request is aborted, its connection closed, when `signal` aborts. */
  async create(namespace: string, body: CertificateRequestObject, token: string, signal: AbortSignal): Promise<CertificateRequestObject> {
    const { api, options } = await this.api(token, signal);
    return this.call(`create a CertificateRequest in namespace ${namespace}`, () =>
      api.createNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace, plural: CR_PLURAL, body }, options),
    ) as Promise<CertificateRequestObject>;
  }

  async get(namespace: string, name: string, token: string, signal: AbortSignal): Promise<CertificateRequestObject> {
    const { api, options } = await this.api(token, signal);
    return this.call(`read CertificateRequest ${namespace}/${name}`, () => api.getNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace, plural: CR_PLURAL, name }, options)) as Promise<CertificateRequestObject>;
  }

  /** Delete; a request already gone is fine. */
  async delete(namespace: string, name: string, token: string, signal: AbortSignal): Promise<void> {
    const { api, options } = await this.api(token, signal);
    try {
      await this.call(`delete CertificateRequest ${namespace}/${name}`, () => api.deleteNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace, plural: CR_PLURAL, name }, options));
    } catch (error) {
      if ((error as CredmountError).code === Errors.notFound.code) return;
      throw error;
    }
  }

  private async api(token: string, signal: AbortSignal) {
    const k8s = await clientModule();
    this.http ??= new k8s.IsomorphicFetchHttpLibrary();
    const config = new k8s.KubeConfig();
    // A config with only this pod's token: nothing of the driver's (in-cluster account, kubeconfig) is loaded.
    // client-node refuses plain http unless told to skip TLS checks; config only allows http on
    // loopback (tests, a local proxy), and over https the certificate is always verified.
    const plainHttp = new URL(this.options.server).protocol === 'http:';
    const caData = plainHttp ? undefined : this.caData();
    config.loadFromClusterAndUser(
      { name: 'cluster', server: this.options.server, skipTLSVerify: plainHttp, ...(caData === undefined ? {} : { caData }) },
      { name: 'pod', token },
    );
    return { api: config.makeApiClient(k8s.CustomObjectsApi), options: { httpApi: abortingOn(signal, this.http) } };
  }

  /** Map the API's answers to coded errors; the token is never part of a message. */
  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw apiError(what, error, this.options.server);
    }
  }
}

/** client-node's ApiException carries `code` (HTTP status), `body` (a Status object as JSON text) and `headers`. */
export function apiError(what: string, error: unknown, server: string): CredmountError {
  const code = typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : undefined;
  if (code === undefined) {
    const reason = error instanceof Error ? (error.name === 'AbortError' ? 'the request was abandoned' : error.message.slice(0, 200)) : String(error);
    return Errors.backendUnavailable(`the Kubernetes API at ${server}`, `${what}: ${reason}`);
  }
  const message = statusMessage((error as { body?: unknown }).body);
  const answered = `the API server answered ${code}${message === '' ? '' : ` (${message})`}`;
  if (code === 401) return Errors.tokenRejected('', `${what}: ${answered}`);
  if (code === 403) return Errors.accessDenied(what, `${answered}; the pod's service account needs RBAC to create, get and delete certificaterequests.cert-manager.io in its namespace`);
  if (code === 404) return Errors.notFound(`${what} (${answered}; is cert-manager installed?)`);
  if (code === 400 || code === 422 || code === 409) return Errors.backendRejected(what, answered);
  const headers = (error as { headers?: Record<string, string> }).headers ?? {};
  const retryAfter = headers['retry-after'];
  return withRetryAfter(Errors.backendUnavailable(`the Kubernetes API at ${server}`, `${what}: ${answered}`), retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined);
}

/** A Kubernetes `Status` body's `message`, shortened; anything else: ''. */
function statusMessage(body: unknown): string {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const message = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message.slice(0, 300) : '';
}

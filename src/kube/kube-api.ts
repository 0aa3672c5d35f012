import { existsSync } from 'node:fs';
import { Errors } from '../errors/catalogue.js';
import { withTimeout } from '../errors/time-limit.js';
import { reportRequest, type BackendRequestReporter } from '../observability/backend-requests.js';
import { abortingOn, type KubeHttpLibrary } from './aborting-http.js';
import { kubeFailureOf, type KubeFailure } from './kube-api-error.js';
import { SPC_GROUP, SPC_PLURAL, SPC_VERSION } from './secret-provider-class.js';

/** How the driver reaches the Kubernetes API with its own service account. */
export interface KubeConnectionOptions {
  /** A kubeconfig file (tests, running outside a cluster); empty: in-cluster service account. */
  readonly kubeconfig: string;
  /** Each API call is abandoned after this long. */
  readonly requestTimeoutMs: number;
  /** Prefix of the in-cluster token and CA paths (client-node's pathPrefix; tests point it elsewhere). */
  readonly inClusterRoot?: string;
  readonly reporter?: BackendRequestReporter;
}

/** A failed API call: the HTTP status (0: no answer) and the API's message, nothing else. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(readonly failure: KubeFailure) {
    super(failure.message);
  }
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type ClientModule = typeof import('@kubernetes/client-node');
interface Clients {
  readonly customObjects: InstanceType<ClientModule['CustomObjectsApi']>;
  readonly core: InstanceType<ClientModule['CoreV1Api']>;
  readonly http: KubeHttpLibrary;
}

/** The per-call options every API method takes: the HTTP library, with this call's abort signal. */
interface CallOptions {
  readonly httpApi: KubeHttpLibrary;
}

/**
 * The few Kubernetes API calls the driver makes, through @kubernetes/client-node. The client is
 * loaded on the first call, not at start: it costs about a second of CPU and tens of MiB, and a
 * node whose pods never reference a SecretProviderClass (and has events off) never pays for it.
 */
export class KubeApi {
  private clients: Promise<Clients> | undefined;

  constructor(private readonly options: KubeConnectionOptions) {}

  /** GET .../namespaces/<ns>/secretproviderclasses/<name>: the raw object. */
  async getSecretProviderClass(namespace: string, name: string): Promise<unknown> {
    return this.call('get secretproviderclass', async ({ customObjects }, options) =>
      customObjects.getNamespacedCustomObject({ group: SPC_GROUP, version: SPC_VERSION, namespace, plural: SPC_PLURAL, name }, options),
    );
  }

  /** GET /api/v1/namespaces/<ns>/serviceaccounts/<name> (the gcp provider reads its impersonation annotations). */
  async getServiceAccount(namespace: string, name: string): Promise<unknown> {
    return this.call('get serviceaccount', async ({ core }, options) => core.readNamespacedServiceAccount({ namespace, name }, options));
  }

  /** POST /api/v1/namespaces/<ns>/events. */
  async createEvent(namespace: string, body: Record<string, unknown>): Promise<unknown> {
    return this.call('create event', async ({ core }, options) => core.createNamespacedEvent({ namespace, body: body as never }, options));
  }

  /** PATCH /api/v1/namespaces/<ns>/events/<name> with a JSON patch (client-node's default patch type). */
  async patchEvent(namespace: string, name: string, patch: readonly Record<string, unknown>[]): Promise<unknown> {
    return this.call('patch event', async ({ core }, options) => core.patchNamespacedEvent({ namespace, name, body: patch as never }, options));
  }

  private async call<T>(operation: string, work: (clients: Clients, options: CallOptions) => Promise<T>): Promise<T> {
    const clients = await this.load();
    return reportRequest(
      this.options.reporter,
      operation,
      async () => {
        try {
          return await withTimeout(this.options.requestTimeoutMs, (signal) => work(clients, { httpApi: abortingOn(signal, clients.http) }));
        } catch (error) {
          throw new KubeApiError(kubeFailureOf(error));
        }
      },
      (error) => {
        const status = error instanceof KubeApiError ? error.failure.status : 0;
        return status === 0 ? (error instanceof KubeApiError && error.failure.message === 'no answer in time' ? 'timeout' : 'network') : String(status);
      },
    );
  }

  private load(): Promise<Clients> {
    this.clients ??= this.createClients().catch((error: unknown) => {
      this.clients = undefined;
      throw error;
    });
    return this.clients;
  }

  private async createClients(): Promise<Clients> {
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    if (this.options.kubeconfig !== '') {
      try {
        config.loadFromFile(this.options.kubeconfig);
      } catch (error) {
        // Not the parser's message: YAML errors quote the file around the mistake, which may be the token.
        const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
        throw Errors.kubeConfigInvalid(`--kubeconfig ${this.options.kubeconfig}: ${code === 'ENOENT' ? 'does not exist' : `cannot be read or parsed (${typeof code === 'string' ? code : error instanceof Error ? error.name : 'error'})`}`);
      }
    } else {
      // In-cluster: the API server's service address from the environment kubelet sets for every
      // pod, and the driver pod's own projected service-account token and CA.
      const root = this.options.inClusterRoot ?? '';
      const dir = `${root}${SERVICE_ACCOUNT_DIR}`;
      if ((process.env['KUBERNETES_SERVICE_HOST'] ?? '') === '' || (process.env['KUBERNETES_SERVICE_PORT'] ?? '') === '') {
        throw Errors.kubeConfigInvalid('KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: not running in a pod; pass --kubeconfig');
      }
      if (!existsSync(`${dir}/token`)) throw Errors.kubeConfigInvalid(`${dir}/token does not exist: the driver pod needs automountServiceAccountToken`);
      config.loadFromCluster(root);
    }
    return { customObjects: config.makeApiClient(k8s.CustomObjectsApi), core: config.makeApiClient(k8s.CoreV1Api), http: new k8s.IsomorphicFetchHttpLibrary() };
  }
}

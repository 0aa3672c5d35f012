import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { createTlsMaterial } from '../vault-server/tls.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { badRequest, alreadyExists, forbidden, methodNotAllowed, notFound, serviceUnavailable, unauthorized, unsupportedMediaType, type StatusBody } from './status.js';

export const SPC_GROUP = 'secrets-store.csi.x-k8s.io';
export const SPC_RESOURCE = 'secretproviderclasses';

export interface KubeTestServerOptions {
  /** The bearer token the driver's service account presents; anything else is 401. */
  readonly token?: string;
  /** The user name Forbidden messages name (the driver's service account). */
  readonly user?: string;
  /** Wall clock for metadata timestamps. */
  readonly now?: () => number;
}

/** An object as stored: apiVersion, kind, metadata (with resourceVersion) and the rest. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A core v1 Event as stored (the fields credmount sets; docs/kubernetes-api.md). */
export interface EventObject extends StoredObject {
  involvedObject: { apiVersion: string; kind: string; namespace: string; name: string; uid: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  source: { component: string; host: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
}

export interface KubeRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

interface WatchEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: string;
  readonly object: StoredObject;
}

interface Route {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

const KINDS: Record<string, { apiVersion: string; kind: string; group: string }> = {
  [SPC_RESOURCE]: { apiVersion: `${SPC_GROUP}/v1`, kind: 'SecretProviderClass', group: SPC_GROUP },
  events: { apiVersion: 'v1', kind: 'Event', group: '' },
  serviceaccounts: { apiVersion: 'v1', kind: 'ServiceAccount', group: '' },
};

/** Paths: /apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>] and /api/v1[/namespaces/<ns>]/<resource>[/<name>]. */
function route(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] as string;
    version = parts[2] as string;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const resource = rest[0] as string;
  const known = KINDS[resource];
  if (known === undefined || known.group !== group || version !== 'v1') return undefined;
  return { group, version, resource, namespace, name: rest[1] };
}

/**
 * The server. Objects live in memory, keyed by resource, namespace and name; every write takes the
 * next value of one resourceVersion counter and is appended to the watch history.
 */
export class KubeTestServer {
  readonly requests: KubeRequestRecord[] = [];
  private readonly objects = new Map<string, StoredObject>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<(event: WatchEvent) => void>();
  private readonly denied = new Set<string>();
  private resourceVersion = 1000;
  private unavailableTimes = 0;
  private readonly token: string;
  private readonly user: string;
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** The CA that signed the server's certificate (the in-cluster `ca.crt`). */
    readonly caPem: string,
    options: KubeTestServerOptions,
  ) {
    this.token = options.token ?? 'driver-service-account-token';
    this.user = options.user ?? 'system:serviceaccount:kube-system:credmount';
    this.now = options.now ?? Date.now;
  }

  static async start(options: KubeTestServerOptions = {}): Promise<KubeTestServer> {
    const holder: { instance?: KubeTestServer } = {};
    // HTTPS, as every API server: clients verify it against the CA, as in a cluster.
    const tls = await createTlsMaterial(['kubernetes.default.svc']);
    const server = createServer({ cert: tls.serverCertPem, key: tls.serverKeyPem }, (request, response) => {
      holder.instance?.handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    holder.instance = new KubeTestServer(server, `https://127.0.0.1:${port}`, tls.caPem, options);
    return holder.instance;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /**
   * The files a pod's automounted service account provides, below `root` (client-node's in-cluster
   * path prefix): `<root>/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`.
   */
  async writeServiceAccountFiles(root: string, token: string = this.token): Promise<void> {
    const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'token'), token, { mode: 0o600 });
    await writeFile(join(dir, 'ca.crt'), this.caPem);
    await writeFile(join(dir, 'namespace'), 'kube-system');
  }

  get bearerToken(): string {
    return this.token;
  }

  /** A kubeconfig file for this server and token (what `--kubeconfig` reads). */
  async writeKubeconfig(path: string, token: string = this.token): Promise<void> {
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: local',
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${Buffer.from(this.caPem).toString('base64')}`,
      'users:',
      '- name: driver',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: local',
      '  context:',
      '    cluster: local',
      '    user: driver',
      'current-context: local',
      '',
    ].join('\n');
    await writeFile(path, text, { mode: 0o600 });
  }

  /** Create or replace a SecretProviderClass (ADDED or MODIFIED on the watch). */
  putSecretProviderClass(namespace: string, name: string, spec: Record<string, unknown>): StoredObject {
    const key = `${SPC_RESOURCE}/${namespace}/${name}`;
    const existing = this.objects.get(key);
    const object: StoredObject = {
      apiVersion: `${SPC_GROUP}/v1`,
      kind: 'SecretProviderClass',
      metadata: { ...this.nextMetadata(existing, namespace, name), generation: ((existing?.metadata['generation'] as number | undefined) ?? 0) + 1 },
      spec,
    };
    this.store(key, SPC_RESOURCE, object, existing === undefined ? 'ADDED' : 'MODIFIED');
    return object;
  }

  /** Put a manifest as `kubectl apply` would (apiVersion v1alpha1 objects are served as v1, as the CRD does). */
  applySecretProviderClass(namespace: string, manifest: { metadata: { name: string }; spec: Record<string, unknown> }): StoredObject {
    return this.putSecretProviderClass(namespace, manifest.metadata.name, manifest.spec);
  }

  /** A core/v1 ServiceAccount with these annotations (the gcp provider reads them). */
  putServiceAccount(namespace: string, name: string, annotations: Record<string, string>): StoredObject {
    const key = `serviceaccounts/${namespace}/${name}`;
    const existing = this.objects.get(key);
    const object: StoredObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { ...this.nextMetadata(existing, namespace, name), annotations },
    };
    this.store(key, 'serviceaccounts', object, existing === undefined ? 'ADDED' : 'MODIFIED');
    return object;
  }

  deleteSecretProviderClass(namespace: string, name: string): void {
    const key = `${SPC_RESOURCE}/${namespace}/${name}`;
    const existing = this.objects.get(key);
    if (existing === undefined) return;
    this.objects.delete(key);
    const deleted = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.resourceVersion) } };
    this.record({ rv: this.resourceVersion, type: 'DELETED', resource: SPC_RESOURCE, object: deleted });
  }

  /** RBAC: forbid a verb (get, list, watch, create, patch) on a resource until `allow`. */
  deny(verb: string, resource: string): void {
    this.denied.add(`${verb} ${resource}`);
  }

  allow(verb: string, resource: string): void {
    this.denied.delete(`${verb} ${resource}`);
  }

  /** The next `times` requests answer 503. */
  failNext(times: number): void {
    this.unavailableTimes = times;
  }

  /** Stored core v1 Events of a namespace. */
  events(namespace: string): EventObject[] {
    return [...this.objects.entries()].filter(([key]) => key.startsWith(`events/${namespace}/`)).map(([, object]) => object as EventObject);
  }

  count(filter: Partial<Pick<KubeRequestRecord, 'verb' | 'resource' | 'method'>>): number {
    return this.requests.filter((r) => Object.entries(filter).every(([k, v]) => r[k as keyof KubeRequestRecord] === v)).length;
  }

  resetObservations(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- request handling -------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const body = await readBody(request);
    const target = route(url.pathname);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = verbOf(request.method ?? 'GET', target?.name !== undefined, watch);
    const contentType = request.headers['content-type'];
    const send = (status: number, payload: unknown) => {
      this.requests.push({ method: request.method ?? '', path: url.pathname, verb, resource: target?.resource ?? '', namespace: target?.namespace, name: target?.name, status, contentType, body: parseQuietly(body) });
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    // 1. Authentication: the bearer token, as a service account presents it.
    if (request.headers.authorization !== `Bearer ${this.token}`) return send(401, unauthorized());
    if (this.unavailableTimes > 0) {
      this.unavailableTimes -= 1;
      return send(503, serviceUnavailable());
    }
    if (target === undefined) return send(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });
    // 2. Authorization: the RBAC table.
    if (this.denied.has(`${verb} ${target.resource}`)) {
      return send(403, forbidden(this.user, verb, target.resource, target.group, target.namespace ?? '', target.name));
    }
    // 3. The verb.
    switch (verb) {
      case 'get':
        return this.get(target, send);
      case 'list':
        return send(200, this.list(target));
      case 'watch':
        this.requests.push({ method: 'GET', path: url.pathname, verb, resource: target.resource, namespace: target.namespace, name: undefined, status: 200, contentType, body: undefined });
        return this.watch(target, url, response);
      case 'create':
        return this.create(target, parseQuietly(body), send);
      case 'patch':
        return this.patch(target, contentType ?? '', body, send);
      default:
        return send(405, methodNotAllowed());
    }
  }

  private get(target: Route, send: (status: number, payload: unknown) => void): void {
    const object = this.objects.get(`${target.resource}/${target.namespace ?? ''}/${target.name ?? ''}`);
    if (object === undefined) return send(404, notFound(target.resource, target.group, target.name ?? ''));
    send(200, object);
  }

  private list(target: Route): unknown {
    const prefix = target.namespace === undefined ? `${target.resource}/` : `${target.resource}/${target.namespace}/`;
    const items = [...this.objects.entries()].filter(([key]) => key.startsWith(prefix)).map(([, object]) => object);
    const kind = KINDS[target.resource] as { apiVersion: string; kind: string };
    return { apiVersion: kind.apiVersion, kind: `${kind.kind}List`, metadata: { resourceVersion: String(this.resourceVersion) }, items };
  }

  /**
   * A watch: events after `resourceVersion` (all current objects as ADDED when it is absent or
   * "0"), then every change, one JSON object per line, until the client goes or `timeoutSeconds`.
   */
  private watch(target: Route, url: URL, response: ServerResponse): void {
    const matches = (event: WatchEvent) =>
      event.resource === target.resource && (target.namespace === undefined || event.object.metadata.namespace === target.namespace);
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders(); // a client waits for the headers before the first event
    const write = (event: WatchEvent) => response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    const since = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (since === 0) {
      for (const object of (this.list(target) as { items: StoredObject[] }).items) write({ rv: 0, type: 'ADDED', resource: target.resource, object });
    } else {
      for (const event of this.history) if (event.rv > since && matches(event)) write(event);
    }
    const listener = (event: WatchEvent) => {
      if (matches(event)) write(event);
    };
    this.watchers.add(listener);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => response.end(), timeout * 1000) : undefined;
    response.on('close', () => {
      this.watchers.delete(listener);
      if (timer !== undefined) clearTimeout(timer);
    });
  }

  private create(target: Route, body: unknown, send: (status: number, payload: unknown) => void): void {
    if (typeof body !== 'object' || body === null) return send(400, badRequest('the body of the request is not a JSON object'));
    const input = body as Partial<StoredObject> & { metadata?: { name?: string; generateName?: string; namespace?: string } };
    const namespace = target.namespace ?? '';
    if (input.metadata?.namespace !== undefined && input.metadata.namespace !== namespace) {
      return send(400, badRequest('the namespace of the provided object does not match the namespace sent on the request'));
    }
    const name = input.metadata?.name ?? (input.metadata?.generateName === undefined ? undefined : `${input.metadata.generateName}${randomUUID().slice(0, 5)}`);
    if (name === undefined || name === '') return send(400, badRequest('name or generateName is required'));
    const key = `${target.resource}/${namespace}/${name}`;
    if (this.objects.has(key)) return send(409, alreadyExists(target.resource, target.group, name));
    const kind = KINDS[target.resource] as { apiVersion: string; kind: string };
    const object = {
      ...input,
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { ...input.metadata, name, namespace, uid: randomUUID(), resourceVersion: String(++this.resourceVersion), creationTimestamp: this.timestamp() },
    } as StoredObject;
    this.store(key, target.resource, object, 'ADDED');
    send(201, object);
  }

  private patch(target: Route, contentType: string, body: string, send: (status: number, payload: unknown) => void): void {
    const key = `${target.resource}/${target.namespace ?? ''}/${target.name ?? ''}`;
    const existing = this.objects.get(key);
    if (existing === undefined) return send(404, notFound(target.resource, target.group, target.name ?? ''));
    const patch = parseQuietly(body);
    let next: unknown;
    const type = contentType.split(';')[0]?.trim() ?? '';
    try {
      if (type === 'application/json-patch+json') next = applyJsonPatch(existing, patch);
      else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') next = applyMergePatch(existing, patch);
      else return send(415, unsupportedMediaType(type));
    } catch (error) {
      return send(422, { ...(badRequest(error instanceof Error ? error.message : String(error)) as StatusBody), reason: 'Invalid', code: 422 });
    }
    const object = next as StoredObject;
    object.metadata = { ...object.metadata, name: existing.metadata.name, namespace: existing.metadata.namespace, uid: existing.metadata.uid, resourceVersion: String(++this.resourceVersion) };
    this.store(key, target.resource, object, 'MODIFIED');
    send(200, object);
  }

  /** Metadata of a new or replaced object: its uid and creation time kept, the next resourceVersion. */
  private nextMetadata(existing: StoredObject | undefined, namespace: string, name: string): StoredObject['metadata'] {
    return {
      name,
      namespace,
      uid: existing?.metadata.uid ?? randomUUID(),
      resourceVersion: String(++this.resourceVersion),
      creationTimestamp: existing?.metadata.creationTimestamp ?? this.timestamp(),
    };
  }

  private store(key: string, resource: string, object: StoredObject, type: WatchEvent['type']): void {
    this.objects.set(key, object);
    this.record({ rv: this.resourceVersion, type, resource, object });
  }

  private record(event: WatchEvent): void {
    this.history.push(event);
    for (const watcher of this.watchers) watcher(event);
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function verbOf(method: string, named: boolean, watch: boolean): string {
  if (method === 'GET') return watch ? 'watch' : named ? 'get' : 'list';
  if (method === 'POST') return 'create';
  if (method === 'PATCH') return 'patch';
  if (method === 'PUT') return 'update';
  if (method === 'DELETE') return 'delete';
  return method.toLowerCase();
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseQuietly(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

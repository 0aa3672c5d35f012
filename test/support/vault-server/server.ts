/**
 * The Vault test server: an HTTP(S) listener on 127.0.0.1 that answers Vault's `/v1/` API for the
 * engines credmount uses, with faults, a request log and a clock that tests control.
 *
 * A request goes through: log → fault → namespace → login paths (no token needed) → token →
 * ACL → route. That is Vault's order too: a bad token is refused (403) before the path is looked
 * at, and an unknown path with a good token is 404 `no handler for route`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuthMounts } from './auth.js';
import { Kv1Mount, Kv2Mount } from './kv.js';
import { DatabaseMount, LeaseManager, type LeaseSnapshot } from './leases.js';
import { PkiMount } from './pki.js';
import { rfc3339Nano, parseDurationSeconds, type Now } from './time.js';
import { createTlsMaterial } from './tls.js';
import { PolicyStore, TokenStore, type TokenEntry } from './tokens.js';
import {
  ENDPOINT_KINDS,
  type DatabaseRoleOptions,
  type EndpointKind,
  type Fault,
  type JwtAuthConfig,
  type JwtRoleOptions,
  type KubernetesAuthConfig,
  type KubernetesRoleOptions,
  type PkiRoleOptions,
  type RequestRecord,
  type VaultTestServerOptions,
} from './types.js';
import { base62, failure, ok, VaultErrors, type Reply } from './wire.js';

const HOST = '127.0.0.1';
/** Vault's default `default_lease_ttl` and `max_lease_ttl`: 768h. */
const SYSTEM_TTL_SECONDS = 32 * 24 * 3600;
/** Vault's listener `max_request_size`. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Paths Vault exempts from rate-limit quotas by default. */
const RATE_LIMIT_EXEMPT = new Set(['sys/health', 'sys/seal-status', 'sys/unseal']);
const RESERVED_MOUNTS = new Set(['sys', 'auth', 'cubbyhole', 'identity']);

type SecretMount = { type: 'kv2'; engine: Kv2Mount } | { type: 'kv1'; engine: Kv1Mount } | { type: 'database'; engine: DatabaseMount } | { type: 'pki'; engine: PkiMount };

interface ActiveFault {
  readonly fault: Fault;
  remaining: number | undefined;
}

interface Listener {
  readonly server: Server;
  readonly tls: { caPem: string; clientCertPem: string; clientKeyPem: string; clientCaPem: string } | undefined;
}

export class VaultTestServer {
  /** `http(s)://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** HTTPS mode: the CA that signed the server certificate. */
  readonly caPem: string | undefined;
  /** HTTPS mode: a client certificate and key the server accepts, and the CA that signed it. */
  readonly clientCertPem: string | undefined;
  readonly clientKeyPem: string | undefined;
  readonly clientCaPem: string | undefined;
  /** The namespace this server serves, normalised (`ns1`), if any. */
  readonly namespace: string | undefined;

  private readonly now: Now;
  private readonly tokens: TokenStore;
  private readonly policies = new PolicyStore();
  private readonly auth: AuthMounts;
  private readonly leaseManager: LeaseManager;
  private readonly secretMounts = new Map<string, SecretMount>();
  private readonly log: RequestRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly defaultTtl: number;
  private readonly maxTtl: number;
  private readonly legacyInvalidToken: boolean;
  private readonly version: string;
  private fault: ActiveFault | undefined;
  private listening = true;
  private stopped = false;

  private constructor(
    private readonly listener: Listener,
    port: number,
    options: VaultTestServerOptions,
  ) {
    this.port = port;
    this.url = `${listener.tls === undefined ? 'http' : 'https'}://${HOST}:${port}`;
    this.caPem = listener.tls?.caPem;
    this.clientCertPem = listener.tls?.clientCertPem;
    this.clientKeyPem = listener.tls?.clientKeyPem;
    this.clientCaPem = listener.tls?.clientCaPem;
    this.now = options.now ?? Date.now;
    this.namespace = normaliseNamespace(options.namespace);
    const namespaceId = this.namespace === undefined ? undefined : base62(5);
    this.defaultTtl = options.defaultLeaseTtlSeconds ?? SYSTEM_TTL_SECONDS;
    this.maxTtl = options.maxLeaseTtlSeconds ?? SYSTEM_TTL_SECONDS;
    this.legacyInvalidToken = options.legacyInvalidTokenMessage ?? false;
    this.version = options.version ?? '1.17.0';
    this.tokens = new TokenStore({ now: this.now, defaultTtl: this.defaultTtl, maxTtl: this.maxTtl, namespaceId });
    this.auth = new AuthMounts({ now: this.now, tokens: this.tokens, defaultKeys: { jwksUrl: options.jwksUrl, jwks: options.jwks } });
    this.leaseManager = new LeaseManager({ now: this.now, tokens: this.tokens, defaultTtl: this.defaultTtl, maxTtl: this.maxTtl, namespaceId });
  }

  /** Listen on 127.0.0.1 with an ephemeral port. */
  static async start(options: VaultTestServerOptions = {}): Promise<VaultTestServer> {
    // The handler exists before the instance (the listener is made first); requests cannot
    // arrive before listen() resolves, so the holder is always filled by then.
    const holder: { instance?: VaultTestServer } = {};
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      if (holder.instance === undefined) {
        response.destroy();
        return;
      }
      holder.instance.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(`${JSON.stringify({ errors: [error instanceof Error ? error.message : String(error)] })}\n`);
        } else {
          response.destroy();
        }
      });
    };
    let listener: Listener;
    if (options.tls === undefined || options.tls === false) {
      listener = { server: createHttpServer(handler), tls: undefined };
    } else {
      const tls = options.tls === true ? {} : options.tls;
      const material = await createTlsMaterial(tls.dnsNames ?? []);
      const server = createHttpsServer(
        {
          key: material.serverKeyPem,
          cert: material.serverCertPem,
          ca: material.clientCaPem,
          requestCert: true,
          rejectUnauthorized: tls.requireClientCert ?? false,
        },
        handler,
      );
      listener = { server, tls: { caPem: material.caPem, clientCertPem: material.clientCertPem, clientKeyPem: material.clientKeyPem, clientCaPem: material.clientCaPem } };
    }
    listener.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(0, HOST, () => {
        listener.server.off('error', reject);
        resolve();
      });
    });
    const port = (listener.server.address() as AddressInfo).port;
    const instance = new VaultTestServer(listener, port, options);
    holder.instance = instance;
    return instance;
  }

  // ---- observability ----------------------------------------------------------------------

  /** Every request received, in arrival order (the live array). */
  get requests(): readonly RequestRecord[] {
    return this.log;
  }

  /** Requests per endpoint kind (all kinds present), optionally only those matching `filter`. */
  counts(filter?: (record: RequestRecord) => boolean): Record<EndpointKind, number> {
    const counts = Object.fromEntries(ENDPOINT_KINDS.map((k) => [k, 0])) as Record<EndpointKind, number>;
    for (const record of this.log) if (filter === undefined || filter(record)) counts[record.kind] += 1;
    return counts;
  }

  /** Forget the request log (and so the counters). */
  resetObservations(): void {
    this.log.length = 0;
  }

  /** Leases handed out so far. */
  leases(): LeaseSnapshot[] {
    return this.leaseManager.snapshot();
  }

  // ---- faults -------------------------------------------------------------------------------

  /** Switch a fault on (replacing any other) or off with `undefined`. */
  async setFault(fault: Fault | undefined): Promise<void> {
    const refuse = fault?.kind === 'down' && fault.mode === 'refuse';
    if (refuse && this.listening) await this.closeListener();
    if (!refuse && !this.listening && !this.stopped) await this.reopenListener();
    this.fault = fault === undefined ? undefined : { fault, remaining: fault.times };
  }

  // ---- configuration (what an operator would write through the API) -------------------------

  /** `auth/<mount>/config` of a Kubernetes auth mount (created on first use). */
  configureKubernetesAuth(mount: string, config: KubernetesAuthConfig): void {
    this.auth.configureKubernetes(trimSlashes(mount), config);
  }

  addKubernetesRole(mount: string, name: string, role: KubernetesRoleOptions): void {
    this.auth.addKubernetesRole(trimSlashes(mount), name, role);
  }

  /** `auth/<mount>/config` of a JWT auth mount (created on first use). */
  configureJwtAuth(mount: string, config: JwtAuthConfig): void {
    this.auth.configureJwt(trimSlashes(mount), config);
  }

  addJwtRole(mount: string, name: string, role: JwtRoleOptions): void {
    this.auth.addJwtRole(trimSlashes(mount), name, role);
  }

  /** `sys/policy/<name>`: the paths (Vault globs) tokens with this policy may use. */
  addPolicy(name: string, paths: readonly string[]): void {
    this.policies.set(name, paths);
  }

  /** A token without a login (`auth/token/create`), for tests that do not exercise auth. */
  createToken(options: { policies?: readonly string[]; ttlSeconds?: number; maxTtlSeconds?: number; metadata?: Record<string, string> } = {}): string {
    return this.tokens.create({
      policies: options.policies ?? [],
      metadata: options.metadata ?? {},
      path: 'auth/token/create',
      displayName: 'token',
      entityKey: `token:${base62(8)}`,
      roleTtl: options.ttlSeconds ?? 0,
      roleMaxTtl: options.maxTtlSeconds ?? 0,
    }).entry.id;
  }

  revokeToken(token: string): void {
    this.tokens.revoke(token);
  }

  /** Write a new version of a KV v2 secret (mount created on first use); returns its version. */
  writeKv2(mount: string, path: string, data: Record<string, unknown>, options: { customMetadata?: Record<string, string> } = {}): number {
    return this.secretMount(mount, 'kv2', () => ({ type: 'kv2', engine: new Kv2Mount(this.now) })).engine.write(trimSlashes(path), data, options.customMetadata);
  }

  /** Soft-delete versions (default: the latest) of a KV v2 secret. */
  deleteKv2(mount: string, path: string, versions?: readonly number[]): void {
    this.secretMount(mount, 'kv2', () => ({ type: 'kv2', engine: new Kv2Mount(this.now) })).engine.delete(trimSlashes(path), versions);
  }

  destroyKv2(mount: string, path: string, versions: readonly number[]): void {
    this.secretMount(mount, 'kv2', () => ({ type: 'kv2', engine: new Kv2Mount(this.now) })).engine.destroy(trimSlashes(path), versions);
  }

  /** Write a KV v1 secret (mount created on first use). A `ttl` key sets the read's lease_duration. */
  writeKv1(mount: string, path: string, data: Record<string, unknown>): void {
    this.secretMount(mount, 'kv1', () => ({ type: 'kv1', engine: new Kv1Mount(this.defaultTtl) })).engine.write(trimSlashes(path), data);
  }

  deleteKv1(mount: string, path: string): void {
    this.secretMount(mount, 'kv1', () => ({ type: 'kv1', engine: new Kv1Mount(this.defaultTtl) })).engine.delete(trimSlashes(path));
  }

  /** `database/roles/<name>` (mount created on first use). */
  addDatabaseRole(name: string, role: DatabaseRoleOptions = {}, mount = 'database'): void {
    const mountName = trimSlashes(mount);
    this.secretMount(mountName, 'database', () => ({ type: 'database', engine: new DatabaseMount(mountName, this.now, this.leaseManager) })).engine.addRole(name, role);
  }

  /** `pki/roles/<name>`; the first role of a mount creates its root CA. */
  async addPkiRole(name: string, role: PkiRoleOptions = {}, mount = 'pki'): Promise<void> {
    const mountName = trimSlashes(mount);
    let entry = this.secretMounts.get(mountName);
    if (entry === undefined) {
      this.checkMountName(mountName);
      entry = { type: 'pki', engine: await PkiMount.create(mountName, this.now, this.defaultTtl, this.maxTtl) };
      this.secretMounts.set(mountName, entry);
    }
    if (entry.type !== 'pki') throw new Error(`mount ${mountName} is ${entry.type}, not pki`);
    entry.engine.addRole(name, role);
  }

  /** The root CA of a PKI mount, PEM. */
  pkiCaPem(mount = 'pki'): string {
    const entry = this.secretMounts.get(trimSlashes(mount));
    if (entry?.type !== 'pki') throw new Error(`no pki mount ${mount}`);
    return entry.engine.caPem;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Close the listener and every connection, keep-alive ones included; cancel delayed answers. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.listening) await this.closeListener();
  }

  private async closeListener(): Promise<void> {
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.listener.server.close(() => resolve()));
    this.listener.server.closeAllConnections();
    await closed;
  }

  private async reopenListener(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.listener.server.once('error', reject);
      this.listener.server.listen(this.port, HOST, () => {
        this.listener.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
  }

  // ---- request handling ---------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://vault.invalid');
    const method = (request.method ?? 'GET').toUpperCase();
    const token = clientToken(request);
    const namespaceHeader = headerValue(request, 'x-vault-namespace');
    const full = fullPath(url.pathname, namespaceHeader);
    const record: RequestRecord = {
      method,
      path: url.pathname,
      kind: full === undefined ? 'other' : this.classify(this.innerPath(full).inner),
      tokenSent: token !== undefined,
      namespace: namespaceHeader,
      at: this.now(),
      status: 0,
    };
    this.log.push(record);

    const fault = this.takeFault(record.kind, full);
    if (fault?.kind === 'slow') {
      await this.delay(fault.delayMs);
      if (this.stopped || response.destroyed) return;
    } else if (fault?.kind === 'down') {
      request.socket.destroy();
      return;
    } else if (fault !== undefined) {
      const reply = this.faultReply(fault, full ?? '', url);
      if (reply !== undefined) {
        this.send(response, record, reply);
        return;
      }
    }

    if (full === undefined) {
      this.send(response, record, failure(404));
      return;
    }
    const body = await readBody(request);
    if ('error' in body) {
      this.send(response, record, VaultErrors.badRequest(body.error));
      return;
    }
    this.send(response, record, await this.route(method, full, url.searchParams, body.value, token));
  }

  private send(response: ServerResponse, record: RequestRecord, reply: Reply): void {
    record.status = reply.status;
    const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
    if (reply.body === undefined) {
      response.writeHead(reply.status, headers);
      response.end();
      return;
    }
    headers['content-type'] = 'application/json';
    response.writeHead(reply.status, headers);
    response.end(`${JSON.stringify(reply.body)}\n`);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** The fault that applies to this request, counting it against `times`. */
  private takeFault(kind: EndpointKind, full: string | undefined): Fault | undefined {
    const active = this.fault;
    if (active === undefined) return undefined;
    const { fault } = active;
    if (fault.only !== undefined && !fault.only.includes(kind)) return undefined;
    if (fault.kind === 'rate-limited' && full !== undefined && RATE_LIMIT_EXEMPT.has(full)) return undefined;
    if (active.remaining !== undefined) {
      active.remaining -= 1;
      if (active.remaining <= 0) this.fault = undefined;
    }
    return fault;
  }

  /** The answer a fault gives, or undefined to answer normally. */
  private faultReply(fault: Fault, full: string, url: URL): Reply | undefined {
    switch (fault.kind) {
      case 'sealed':
        if (full === 'sys/health') return this.health(url.searchParams, 'sealed');
        if (full === 'sys/seal-status') return { status: 200, body: this.sealStatus(true) };
        return VaultErrors.sealed();
      case 'standby':
        if (full === 'sys/health') return this.health(url.searchParams, 'standby');
        if (fault.activeAddress === undefined) return VaultErrors.noActiveNode();
        return { status: 307, headers: { location: `${fault.activeAddress.replace(/\/+$/, '')}${url.pathname}${url.search}` } };
      case 'perf-standby':
        return full === 'sys/health' ? this.health(url.searchParams, 'perf-standby') : undefined;
      case 'rate-limited': {
        const retryAfter = fault.retryAfterSeconds ?? 1;
        return {
          ...failure(429, `request path ${JSON.stringify(this.innerPath(full).inner)}: rate limit quota exceeded`),
          headers: { 'retry-after': String(retryAfter), 'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(retryAfter) },
        };
      }
      case 'error':
        return VaultErrors.internal(fault.message, fault.status ?? 500);
      default:
        return undefined;
    }
  }

  /** Where a namespace-absolute path lands: inside the served namespace (and where), or not. */
  private innerPath(full: string): { inNamespace: boolean; inner: string } {
    if (this.namespace === undefined) return { inNamespace: true, inner: full };
    const prefix = `${this.namespace}/`;
    return full.startsWith(prefix) ? { inNamespace: true, inner: full.slice(prefix.length) } : { inNamespace: false, inner: full };
  }

  private classify(inner: string): EndpointKind {
    if (/^auth\/token\//.test(inner)) return 'token';
    if (/^auth\/.+\/login$/.test(inner)) return 'login';
    if (/^sys\/(leases\/)?renew(\/|$)/.test(inner)) return 'renew';
    if (/^sys\/(leases\/)?revoke(\/|$)/.test(inner)) return 'revoke';
    if (/^sys\//.test(inner)) return 'sys';
    const match = this.matchMount(inner);
    if (match === undefined) return 'other';
    switch (match.mount.type) {
      case 'kv1':
        return 'kv';
      case 'kv2':
        return match.rest.startsWith('data/') ? 'kv' : 'other';
      case 'database':
        return match.rest.startsWith('creds/') ? 'creds' : 'other';
      case 'pki':
        return /^(issue|sign)\//.test(match.rest) ? 'pki' : 'other';
    }
  }

  private async route(method: string, full: string, query: URLSearchParams, body: Record<string, unknown>, tokenId: string | undefined): Promise<Reply> {
    if (full === 'sys/health') return method === 'GET' || method === 'HEAD' ? this.health(query, 'active') : VaultErrors.unsupportedOperation();
    if (full === 'sys/seal-status') return method === 'GET' ? { status: 200, body: this.sealStatus(false) } : VaultErrors.unsupportedOperation();

    const { inNamespace, inner } = this.innerPath(full);
    const login = /^auth\/(.+)\/login$/.exec(inner);
    if (inNamespace && login?.[1] !== undefined && this.auth.has(login[1])) {
      if (method !== 'POST' && method !== 'PUT') return VaultErrors.unsupportedOperation();
      return this.auth.login(login[1], body);
    }

    const token = this.tokens.lookup(tokenId);
    if (token === undefined) return VaultErrors.invalidToken(this.legacyInvalidToken);
    if (!inNamespace || !this.policies.allows(token.policies, inner)) return VaultErrors.permissionDenied();

    const write = method === 'POST' || method === 'PUT';
    switch (inner) {
      case 'auth/token/lookup-self':
        return method === 'GET' ? this.lookupSelf(token) : VaultErrors.unsupportedOperation();
      case 'auth/token/renew-self': {
        if (!write) return VaultErrors.unsupportedOperation();
        const result = this.tokens.renew(token, parseDurationSeconds(body['increment']) ?? 0);
        if ('error' in result) return failure(400, result.error);
        return ok({ auth: this.tokens.auth(token, result.ttl), warnings: result.warnings, mountType: 'token' });
      }
      case 'auth/token/revoke-self':
        if (!write) return VaultErrors.unsupportedOperation();
        this.tokens.revoke(token.id);
        return { status: 204 };
    }
    const leaseOp = /^sys\/(?:leases\/)?(renew|revoke)(?:\/(.+))?$/.exec(inner);
    if (leaseOp !== null) {
      if (!write) return VaultErrors.unsupportedOperation();
      const leaseId = typeof body['lease_id'] === 'string' && body['lease_id'] !== '' ? body['lease_id'] : (leaseOp[2] ?? '');
      if (leaseId === '') return failure(400, 'lease_id must be specified');
      return leaseOp[1] === 'renew' ? this.leaseManager.renew(leaseId, parseDurationSeconds(body['increment']) ?? 0) : this.leaseManager.revoke(leaseId);
    }

    const match = this.matchMount(inner);
    if (match === undefined) return VaultErrors.noHandler(inner);
    return this.secretRoute(match.mount, match.rest, method, query, body, token);
  }

  private async secretRoute(mount: SecretMount, rest: string, method: string, query: URLSearchParams, body: Record<string, unknown>, token: TokenEntry): Promise<Reply> {
    const write = method === 'POST' || method === 'PUT';
    switch (mount.type) {
      case 'kv2': {
        const data = /^data\/(.+)$/.exec(rest);
        if (data?.[1] === undefined) return VaultErrors.unsupportedOperation();
        return method === 'GET' ? mount.engine.read(data[1], query.get('version')) : VaultErrors.unsupportedOperation();
      }
      case 'kv1':
        if (rest === '') return VaultErrors.unsupportedOperation();
        return method === 'GET' ? mount.engine.read(rest) : VaultErrors.unsupportedOperation();
      case 'database': {
        const creds = /^creds\/([^/]+)$/.exec(rest);
        if (creds?.[1] === undefined) return VaultErrors.unsupportedOperation();
        return method === 'GET' ? mount.engine.creds(creds[1], token) : VaultErrors.unsupportedOperation();
      }
      case 'pki': {
        const op = /^(issue|sign)\/([^/]+)$/.exec(rest);
        if (op?.[2] === undefined) return VaultErrors.unsupportedOperation();
        if (!write) return VaultErrors.unsupportedOperation();
        return op[1] === 'issue' ? mount.engine.issue(op[2], body) : mount.engine.sign(op[2], body);
      }
    }
  }

  private matchMount(inner: string): { mount: SecretMount; rest: string } | undefined {
    let best: { name: string; mount: SecretMount } | undefined;
    for (const [name, mount] of this.secretMounts) {
      if ((inner === name || inner.startsWith(`${name}/`)) && (best === undefined || name.length > best.name.length)) best = { name, mount };
    }
    return best === undefined ? undefined : { mount: best.mount, rest: inner.slice(best.name.length + 1) };
  }

  private lookupSelf(token: TokenEntry): Reply {
    return ok({
      data: {
        accessor: token.accessor,
        creation_time: Math.floor(token.issuedAt / 1000),
        creation_ttl: token.creationTtl,
        display_name: token.displayName,
        entity_id: token.entityId,
        expire_time: rfc3339Nano(token.expiresAt),
        explicit_max_ttl: 0,
        id: token.id,
        issue_time: rfc3339Nano(token.issuedAt),
        meta: token.metadata,
        num_uses: 0,
        orphan: true,
        path: token.path,
        policies: token.policies,
        renewable: true,
        ttl: this.tokens.remaining(token),
        type: 'service',
      },
      mountType: 'token',
    });
  }

  /** `GET sys/health` (api-docs/system/health): status by state, overridable by query parameters. */
  private health(query: URLSearchParams, state: 'active' | 'standby' | 'perf-standby' | 'sealed'): Reply {
    const code = (name: string, fallback: number): number => {
      const value = Number(query.get(name));
      return query.has(name) && Number.isInteger(value) ? value : fallback;
    };
    const yes = (name: string): boolean => query.has(name) && query.get(name) !== 'false';
    let status = code('activecode', 200);
    if (state === 'sealed') status = code('sealedcode', 503);
    if (state === 'standby') status = yes('standbyok') ? status : code('standbycode', 429);
    if (state === 'perf-standby') status = yes('perfstandbyok') ? status : code('performancestandbycode', 473);
    const body = {
      initialized: true,
      sealed: state === 'sealed',
      standby: state !== 'active',
      performance_standby: state === 'perf-standby',
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(this.now() / 1000),
      version: this.version,
      cluster_name: 'vault-test-server',
      cluster_id: '6f0d54ad-6b28-0c64-3a43-9fe5dd5e11a6',
    };
    return { status, body };
  }

  private sealStatus(sealed: boolean): Record<string, unknown> {
    return {
      type: 'shamir',
      initialized: true,
      sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: this.version,
      migration: false,
      recovery_seal: false,
      storage_type: 'inmem',
      ...(sealed ? {} : { cluster_name: 'vault-test-server', cluster_id: '6f0d54ad-6b28-0c64-3a43-9fe5dd5e11a6' }),
    };
  }

  private secretMount<T extends SecretMount['type']>(mount: string, type: T, create: () => Extract<SecretMount, { type: T }>): Extract<SecretMount, { type: T }> {
    const name = trimSlashes(mount);
    let entry = this.secretMounts.get(name);
    if (entry === undefined) {
      this.checkMountName(name);
      entry = create();
      this.secretMounts.set(name, entry);
    }
    if (entry.type !== type) throw new Error(`mount ${name} is ${entry.type}, not ${type}`);
    return entry as Extract<SecretMount, { type: T }>;
  }

  private checkMountName(name: string): void {
    if (name === '' || RESERVED_MOUNTS.has(name.split('/')[0] ?? '')) throw new Error(`cannot mount a secrets engine at ${JSON.stringify(name)}`);
  }
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function normaliseNamespace(namespace: string | undefined): string | undefined {
  if (namespace === undefined) return undefined;
  const trimmed = trimSlashes(namespace);
  return trimmed === '' || trimmed === 'root' ? undefined : trimmed;
}

/** The request path relative to the root namespace: header namespace + path below `/v1/`. */
function fullPath(pathname: string, namespaceHeader: string | undefined): string | undefined {
  if (!pathname.startsWith('/v1/')) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(pathname.slice('/v1/'.length));
  } catch {
    return undefined;
  }
  const namespace = normaliseNamespace(namespaceHeader);
  return namespace === undefined ? path : `${namespace}/${path}`;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `X-Vault-Token`, or `Authorization: Bearer <token>`. */
function clientToken(request: IncomingMessage): string | undefined {
  const header = headerValue(request, 'x-vault-token');
  if (header !== undefined && header !== '') return header;
  const authorization = headerValue(request, 'authorization');
  const bearer = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
  return bearer?.[1];
}

async function readBody(request: IncomingMessage): Promise<{ value: Record<string, unknown> } | { error: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { error: 'http: request body too large' };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { value: {} };
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'failed to parse JSON input: not a JSON object' };
    return { value: parsed as Record<string, unknown> };
  } catch (error) {
    return { error: `failed to parse JSON input: ${error instanceof Error ? error.message : String(error)}` };
  }
}

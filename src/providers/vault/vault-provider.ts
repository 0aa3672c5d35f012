import { createHash, randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import { Errors } from '../../errors/catalogue.js';
import { describeError, isCredmountError } from '../../errors/credmount-error.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, ProvidedFile, Provider, ServiceAccountToken } from '../provider.js';
import { LeaseBook, type HeldLease } from './lease-book.js';
import { renderObject } from './secret-content.js';
import { vaultRequest, VaultHttpError, type VaultResponse } from './vault-http.js';
import { VaultLogins, type LoginTarget } from './vault-login.js';
import { parseVaultParameters, type VaultDefaults, type VaultObject, type VaultParameters } from './vault-parameters.js';
import { VaultAgents } from './vault-tls.js';

export const VAULT_PROVIDER_NAME = 'vault';

export interface VaultProviderOptions {
  readonly defaults: VaultDefaults;
  /** How often static content (KV) is re-read; volumes/ adds jitter. */
  readonly staticRefreshIntervalMs: number;
  /** A pinned KV version (`?version=N`) never changes; it is re-read this rarely. */
  readonly pinnedRefreshIntervalMs?: number;
}

/** Refresh dynamic content at this share of its lease (Vault Agent renews at about 2/3 too). */
const LEASE_REFRESH_FRACTION = 2 / 3;

/** One Vault request a volume makes; objects with the same path, query and method share it (as upstream). */
interface RequestGroup {
  readonly key: string;
  readonly object: VaultObject;
}

interface GroupResult {
  readonly response: VaultResponse;
  readonly version: string;
  readonly refreshAtMs: number;
  readonly expiresAtMs: number | undefined;
}

interface FetchContext {
  readonly target: LoginTarget;
  readonly identity: PodIdentity;
  readonly jwt: ServiceAccountToken;
  readonly params: VaultParameters;
  readonly nowMs: number;
  readonly signal: AbortSignal;
}

/**
 * Vault, as the pod: log in with the pod's service-account token (Kubernetes or JWT auth), read
 * every object, and say when each must be refreshed — KV at an interval (version-aware), dynamic
 * secrets at 2/3 of their lease (renewed instead of re-issued where Vault allows), certificates at
 * 2/3 of their lifetime. The driver has no Vault identity of its own.
 */
export class VaultProvider implements Provider<VaultParameters> {
  readonly name = VAULT_PROVIDER_NAME;
  readonly logins = new VaultLogins();
  private readonly agents = new VaultAgents();
  private readonly leases = new LeaseBook();
  /** Reads and renewals made (logins are counted by `logins.count`), for tests and the benchmark. */
  readonly requests = { read: 0, renew: 0 };

  constructor(private readonly options: VaultProviderOptions) {}

  parse(parameters: Readonly<Record<string, string>>, _identity: PodIdentity): ParsedParameters<VaultParameters> {
    const value = parseVaultParameters(parameters, this.options.defaults);
    // Every volume fetches for itself: dynamic credentials and certificates are per volume, as
    // with vault-csi-provider. Logins are still shared by identity (VaultLogins).
    return { value, audiences: [value.audience], scope: 'pod' };
  }

  /**
   * 1. Log in (cached per identity and role), 2. read each distinct request in parallel, renewing
   * held leases instead of re-issuing, 3. render every object from its response, all or nothing.
   */
  async fetch(request: FetchRequest<VaultParameters>): Promise<FetchResult> {
    const params = request.parameters;
    const jwt = request.tokens.get(params.audience);
    if (jwt === undefined) throw Errors.tokenAudienceMissing(params.audience, [...request.tokens.keys()]);
    const nowMs = request.now.getTime();
    this.leases.sweep(nowMs);
    const agent = await this.agent(params);
    const context: FetchContext = {
      target: { address: params.address, namespace: params.namespace, mountPath: params.authMountPath, role: params.roleName, agent },
      identity: request.identity,
      jwt,
      params,
      nowMs,
      signal: request.signal,
    };
    const volumeKey = createHash('sha256').update(JSON.stringify([request.identity.podUid, params])).digest('hex');

    const groups = groupRequests(params.objects);
    const results = new Map<string, GroupResult>();
    await Promise.all(
      groups.map(async (group) => {
        results.set(group.key, await this.readGroup(context, group, `${volumeKey}:${group.key}`));
      }),
    );

    const files: ProvidedFile[] = [];
    const versions: Record<string, string> = {};
    let refreshAtMs = Number.POSITIVE_INFINITY;
    let expiresAtMs: number | undefined;
    for (const object of params.objects) {
      const result = results.get(requestKey(object)) as GroupResult;
      const content = renderObject(object, result.response);
      files.push(object.filePermission === undefined ? { path: object.objectName, content } : { path: object.objectName, content, mode: object.filePermission });
      versions[object.objectName] = result.version;
      refreshAtMs = Math.min(refreshAtMs, result.refreshAtMs);
      if (result.expiresAtMs !== undefined) expiresAtMs = Math.min(expiresAtMs ?? Number.POSITIVE_INFINITY, result.expiresAtMs);
    }
    return { files, versions, refreshAt: new Date(refreshAtMs), ...(expiresAtMs === undefined ? {} : { expiresAt: new Date(expiresAtMs) }) };
  }

  async close(): Promise<void> {
    await this.agents.close();
  }

  private async agent(params: VaultParameters): Promise<Agent> {
    try {
      return await this.agents.get(params.tls);
    } catch (error) {
      throw Errors.backendUnavailable(`Vault at ${params.address}`, `its TLS files could not be read: ${describeError(error)}`);
    }
  }

  /** One request: renew a held lease if that works, otherwise read (or issue) anew. */
  private async readGroup(context: FetchContext, group: RequestGroup, leaseKey: string): Promise<GroupResult> {
    const held = this.leases.get(leaseKey);
    if (held !== undefined) {
      const renewed = await this.tryRenew(context, held);
      if (renewed !== undefined) return renewed;
      this.leases.delete(leaseKey);
    }
    const { object } = group;
    const what = `Vault path ${JSON.stringify(object.path)} (object ${JSON.stringify(object.objectName)})`;
    const response = await this.withLogin(context, (token) => {
      this.requests.read += 1;
      return vaultRequest({
        address: context.params.address,
        method: object.method,
        path: object.path,
        query: object.query,
        token,
        body: object.secretArgs,
        agent: context.target.agent,
        signal: context.signal,
        what,
        ...(context.params.namespace === undefined ? {} : { namespace: context.params.namespace }),
      });
    }).catch((error: unknown) => {
      throw unwrap(error);
    });
    const result = this.classify(response, object, context.nowMs);
    const leaseSeconds = response.lease_duration ?? 0;
    if (typeof response.lease_id === 'string' && response.lease_id !== '' && leaseSeconds > 0) {
      this.leases.set(leaseKey, { leaseId: response.lease_id, renewable: response.renewable === true, durationSeconds: leaseSeconds, expiresAtMs: context.nowMs + leaseSeconds * 1000, response });
    }
    return result;
  }

  /**
   * Renew a held lease at its refresh time. Returns the unchanged content when Vault extended the
   * lease; `undefined` when a new credential is needed: the lease is not renewable, Vault refused
   * (403 — the role's policy lacks sys/leases/renew — or 400, the lease is gone), or renewal can no
   * longer extend it (max TTL reached), which means the old credential is about to expire.
   */
  private async tryRenew(context: FetchContext, held: HeldLease): Promise<GroupResult | undefined> {
    if (!held.renewable || context.nowMs >= held.expiresAtMs) return undefined;
    let response: VaultResponse;
    try {
      response = await this.withLogin(context, (token) => {
        this.requests.renew += 1;
        return vaultRequest({
          address: context.params.address,
          method: 'PUT',
          path: 'sys/leases/renew',
          token,
          body: { lease_id: held.leaseId, increment: held.durationSeconds },
          agent: context.target.agent,
          signal: context.signal,
          what: 'lease renewal',
          ...(context.params.namespace === undefined ? {} : { namespace: context.params.namespace }),
        });
      });
    } catch (error) {
      if (error instanceof VaultHttpError && (error.status === 400 || error.status === 403 || error.status === 404)) return undefined;
      throw unwrap(error);
    }
    const granted = typeof response.lease_duration === 'number' ? response.lease_duration : 0;
    const newExpiry = context.nowMs + granted * 1000;
    // No real extension: the lease is at its max TTL. Issue a new credential now (we are at
    // 2/3 of the last grant, so the old one is about to expire) rather than let it lapse.
    if (newExpiry <= held.expiresAtMs + 1000) return undefined;
    held.expiresAtMs = newExpiry;
    held.renewable = response.renewable !== false;
    return {
      response: held.response,
      version: leaseVersion(held.leaseId),
      refreshAtMs: context.nowMs + granted * 1000 * LEASE_REFRESH_FRACTION,
      expiresAtMs: newExpiry,
    };
  }

  /**
   * Run a request with the identity's Vault token; on 403 log in once more and retry once (as
   * upstream). HTTP errors come back as VaultHttpError so callers can react to the status.
   */
  private async withLogin(context: FetchContext, call: (token: string) => Promise<VaultResponse>): Promise<VaultResponse> {
    const token = await this.login(context);
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof VaultHttpError) || error.status !== 403) throw error;
      this.logins.forget(context.target, context.identity);
      return call(await this.login(context));
    }
  }

  private async login(context: FetchContext): Promise<string> {
    try {
      return await this.logins.token(context.target, context.identity, context.jwt, context.nowMs, context.signal);
    } catch (error) {
      throw unwrap(error);
    }
  }

  /** Version and timing of a response: what kind of secret it is decides when it is stale. */
  private classify(response: VaultResponse, object: VaultObject, nowMs: number): GroupResult {
    const leaseSeconds = response.lease_duration ?? 0;
    const data = isObject(response.data) ? response.data : {};
    // 1. dynamic secret with a lease (database credentials, cloud keys...)
    if (typeof response.lease_id === 'string' && response.lease_id !== '' && leaseSeconds > 0) {
      return { response, version: leaseVersion(response.lease_id), refreshAtMs: nowMs + leaseSeconds * 1000 * LEASE_REFRESH_FRACTION, expiresAtMs: nowMs + leaseSeconds * 1000 };
    }
    // 2. something with an expiry of its own (PKI issue/sign: `expiration` in Unix seconds)
    if (typeof data['expiration'] === 'number' && data['expiration'] * 1000 > nowMs) {
      const expiresAtMs = data['expiration'] * 1000;
      const serial = typeof data['serial_number'] === 'string' ? data['serial_number'] : randomUUID();
      return { response, version: `serial:${serial}`, refreshAtMs: nowMs + (expiresAtMs - nowMs) * LEASE_REFRESH_FRACTION, expiresAtMs };
    }
    // 3. KV v2: the version number says whether anything changed; a pinned version never does
    const metadata = isObject(data['metadata']) ? data['metadata'] : undefined;
    const pinned = /(^|&)version=/.test(object.query);
    const interval = pinned ? (this.options.pinnedRefreshIntervalMs ?? 24 * 3_600_000) : this.options.staticRefreshIntervalMs;
    if (isObject(data['data']) && metadata !== undefined && typeof metadata['version'] === 'number') {
      return { response, version: `kv2:${metadata['version']}`, refreshAtMs: nowMs + interval, expiresAtMs: undefined };
    }
    // 4. anything else (KV v1, generic reads): no version to compare; the writer skips identical content
    return { response, version: `read:${randomUUID()}`, refreshAtMs: nowMs + interval, expiresAtMs: undefined };
  }
}

export function createVaultProvider(options: VaultProviderOptions): VaultProvider {
  return new VaultProvider(options);
}

function groupRequests(objects: readonly VaultObject[]): RequestGroup[] {
  const groups = new Map<string, RequestGroup>();
  for (const object of objects) {
    const key = requestKey(object);
    if (!groups.has(key)) groups.set(key, { key, object });
  }
  return [...groups.values()];
}

/** Upstream fetches each (path, method) once per mount; its query is part of the path. */
function requestKey(object: VaultObject): string {
  return JSON.stringify([object.method, object.path, object.query]);
}

/** A lease id names a credential (not its value); hashed so metadata holds no usable id. */
function leaseVersion(leaseId: string): string {
  return `lease:${createHash('sha256').update(leaseId).digest('hex').slice(0, 16)}`;
}

function unwrap(error: unknown): unknown {
  if (error instanceof VaultHttpError) return error.credmountError;
  if (isCredmountError(error)) return error;
  return error;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

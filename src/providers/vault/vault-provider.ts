import { createHash, randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { Agent } from 'undici';
import { Errors } from '../../errors/catalogue.js';
import type { BackendRequestReporter } from '../../observability/backend-requests.js';
import { describeError, isCredmountError } from '../../errors/credmount-error.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, ProvidedFile, Provider, ServiceAccountToken } from '../provider.js';
import { LeaseBook, type HeldLease } from './lease-book.js';
import { renderObject } from './secret-content.js';
import { vaultRequest, VaultHttpError, type VaultResponse } from './vault-http.js';
import { VaultLogins, type LoginTarget, type VaultSession } from './vault-login.js';
import { isWithin, parseVaultParameters, type VaultDefaults, type VaultObject, type VaultParameters } from './vault-parameters.js';
import { VaultAgents } from './vault-tls.js';

export const VAULT_PROVIDER_NAME = 'vault';

export interface VaultProviderOptions {
  readonly defaults: VaultDefaults;
  /** Auth mounts whose logins may be shared by all pods of an identity (Kubernetes auth). */
  readonly sharedLoginMounts?: readonly string[];
  /** How often static content (KV) is re-read; volumes/ adds jitter. */
  readonly staticRefreshIntervalMs: number;
  /** A pinned KV version (`?version=N`) never changes; it is re-read this rarely. */
  readonly pinnedRefreshIntervalMs?: number;
  /** Reports every request to Vault (login, read, write, renew, lookup) to the driver's metrics. */
  readonly reporter?: BackendRequestReporter;
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
  /** The Vault token this fetch uses; replaced once if Vault says it is dead. */
  session: VaultSession;
}

/**
 * Vault, as the pod: log in with the pod's service-account token (Kubernetes or JWT auth), read
 * every object, and say when each must be refreshed — KV at an interval (version-aware), dynamic
 * secrets at 2/3 of their lease (renewed instead of re-issued where Vault allows), certificates at
 * 2/3 of their lifetime. The driver has no Vault identity of its own.
 */
export class VaultProvider implements Provider<VaultParameters> {
  readonly name = VAULT_PROVIDER_NAME;
  readonly logins: VaultLogins;
  private readonly agents: VaultAgents;
  private readonly leases = new LeaseBook();

  constructor(private readonly options: VaultProviderOptions) {
    this.logins = new VaultLogins({ sharedLoginMounts: options.sharedLoginMounts ?? ['kubernetes'] });
    const defaultCa = options.defaults.caCertPath === undefined ? undefined : resolveQuietly(options.defaults.caCertPath);
    const dirs = (options.defaults.tlsDirectories ?? []).map(resolveQuietly);
    this.agents = new VaultAgents((real) => real === defaultCa || dirs.some((dir) => isWithin(real, dir)));
  }

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
    const agent = await this.agent(params, nowMs);
    const target: LoginTarget = {
      address: params.address,
      namespace: params.namespace,
      mountPath: params.authMountPath,
      role: params.roleName,
      audience: params.audience,
      tlsKey: JSON.stringify(params.tls),
      agent,
      ...(this.options.reporter === undefined ? {} : { reporter: this.options.reporter }),
    };
    const session = await this.logins.session(target, request.identity, jwt, nowMs, request.signal).catch((error: unknown) => {
      throw unwrap(error);
    });
    const context: FetchContext = { target, identity: request.identity, jwt, params, nowMs, signal: request.signal, session };
    const volumeKey = request.volumeId;

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

  /**
   * The volume is gone: revoke its dynamic credentials rather than leave them valid until their
   * TTL (a deleted pod's database user should not outlive it). Best effort and not awaited: a
   * role without `update` on `sys/leases/revoke` gets 403, an unreachable Vault an error, and the
   * credential then expires on its own as before.
   */
  release(volumeId: string): void {
    for (const lease of this.leases.deleteVolume(volumeId)) void lease.revoke().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.agents.close();
  }

  private async agent(params: VaultParameters, nowMs: number): Promise<Agent> {
    try {
      return await this.agents.get(params.tls, nowMs);
    } catch (error) {
      throw Errors.backendUnavailable(`Vault at ${params.address}`, `its TLS files could not be read: ${describeError(error)}`);
    }
  }

  /** One request: renew a held lease if that works, otherwise read (or issue) anew. */
  private async readGroup(context: FetchContext, group: RequestGroup, leaseKey: string): Promise<GroupResult> {
    const held = this.leases.get(leaseKey);
    if (held !== undefined && held.tokenId === context.session.id && context.nowMs < held.refreshAtMs && context.nowMs < held.expiresAtMs) {
      // Fetched for another reason (a sibling object, the token's own renewal): this lease is not due.
      return boundBySession({ response: held.response, version: leaseVersion(held.leaseId), refreshAtMs: held.refreshAtMs, expiresAtMs: held.expiresAtMs }, context.session);
    }
    if (held !== undefined) {
      // A lease created under another token dies with that token: renewing it would only hide that.
      const renewed = held.tokenId === context.session.id ? await this.tryRenew(context, held) : undefined;
      if (renewed !== undefined) return renewed;
      this.leases.delete(leaseKey);
    }
    const { object } = group;
    const what = `Vault path ${JSON.stringify(object.path)} (object ${JSON.stringify(object.objectName)})`;
    const response = await this.withSession(context, (token) => {
      return vaultRequest({
        address: context.params.address,
        method: object.method,
        path: object.path,
        query: object.query,
        token,
        body: object.secretArgs,
        agent: context.target.agent,
          reporter: context.target.reporter,
        signal: context.signal,
        what,
        ...(context.params.namespace === undefined ? {} : { namespace: context.params.namespace }),
      });
    }).catch((error: unknown) => {
      throw unwrap(error);
    });
    const result = boundBySession(this.classify(response, object, context.nowMs), context.session);
    const leaseSeconds = response.lease_duration ?? 0;
    if (typeof response.lease_id === 'string' && response.lease_id !== '' && leaseSeconds > 0) {
      this.leases.set(leaseKey, {
        leaseId: response.lease_id,
        renewable: response.renewable === true,
        durationSeconds: leaseSeconds,
        expiresAtMs: context.nowMs + leaseSeconds * 1000,
        refreshAtMs: context.nowMs + leaseSeconds * 1000 * LEASE_REFRESH_FRACTION,
        response,
        tokenId: context.session.id,
        revoke: revokerFor(context, response.lease_id),
      });
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
      response = await this.withSession(context, (token) => {
        return vaultRequest({
          address: context.params.address,
          method: 'PUT',
          path: 'sys/leases/renew',
          token,
          body: { lease_id: held.leaseId, increment: held.durationSeconds },
          agent: context.target.agent,
          reporter: context.target.reporter,
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
    held.refreshAtMs = context.nowMs + granted * 1000 * LEASE_REFRESH_FRACTION;
    held.renewable = response.renewable !== false;
    return boundBySession(
      { response: held.response, version: leaseVersion(held.leaseId), refreshAtMs: context.nowMs + granted * 1000 * LEASE_REFRESH_FRACTION, expiresAtMs: newExpiry },
      context.session,
    );
  }

  /**
   * Run a request with the fetch's Vault token. A 403 means "not allowed" when the token was just
   * obtained or Vault still accepts it (lookup-self): that is the answer, and the shared token is
   * kept. Only a dead token is forgotten, followed by one new login and one retry (as upstream) —
   * so a volume asking for a forbidden path cannot make every kubelet retry a new login that
   * would orphan its siblings' leases.
   */
  private async withSession(context: FetchContext, call: (token: string) => Promise<VaultResponse>): Promise<VaultResponse> {
    try {
      return await call(context.session.token);
    } catch (error) {
      if (!(error instanceof VaultHttpError) || error.status !== 403 || context.session.fresh) throw error;
      if (await this.logins.isAlive(context.target, context.session, context.signal)) throw error;
      this.logins.forget(context.target, context.identity, context.jwt, context.session);
      context.session = await this.logins.session(context.target, context.identity, context.jwt, context.nowMs, context.signal);
      return call(context.session.token);
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

/**
 * A leased secret lives at most as long as the Vault token that created it: Vault revokes the
 * lease when the token expires. So its expiry is the earlier of the two, and it is refreshed no
 * later than the token is due for renewal (the refresh renews the token with renew-self).
 */
function boundBySession(result: GroupResult, session: VaultSession): GroupResult {
  if (result.expiresAtMs === undefined || !result.version.startsWith('lease:')) return result;
  return { ...result, refreshAtMs: Math.min(result.refreshAtMs, session.useUntilMs), expiresAtMs: Math.min(result.expiresAtMs, session.expiresAtMs) };
}

function resolveQuietly(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
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

/** How long a revocation at unpublish may take before it is given up. */
const REVOKE_TIMEOUT_MS = 10_000;

/** `PUT sys/leases/revoke` for one lease, with the token that created it (held in memory only). */
function revokerFor(context: FetchContext, leaseId: string): () => Promise<void> {
  const { address, namespace } = context.params;
  const { agent, reporter } = context.target;
  const { token } = context.session;
  return async () => {
    await vaultRequest({
      address,
      method: 'PUT',
      path: 'sys/leases/revoke',
      token,
      body: { lease_id: leaseId },
      agent,
      reporter,
      signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS),
      what: 'lease revocation',
      ...(namespace === undefined ? {} : { namespace }),
    });
  };
}

/**
 * The GCP test server: one HTTP listener on 127.0.0.1 answering the four Google APIs credmount
 * calls, request by request as Google documents them (docs/gcp-api.md has the sources):
 *
 * - STS `POST /v1/token` (workload identity federation, RFC 8693 token exchange),
 * - GKE `POST /gke/v1/identitybindingtoken` (securetoken's identity binding form),
 * - IAM Credentials `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`,
 * - Secret Manager `GET /v1/projects/{p}/secrets/{s}/versions/{v}:access` and, for regional
 *   secrets, `GET /rep/{location}/v1/projects/{p}/locations/{location}/secrets/...:access` (the
 *   stand-in for `secretmanager.{location}.rep.googleapis.com`; a regional secret read through the
 *   global endpoint, or the wrong region, is refused as Google refuses it).
 *
 * Pod tokens are verified against the kubelet simulator's JWKS (signature, audience, times); the
 * federated principal is derived from `sub` as Google's default attribute mapping does; access to
 * every secret and every impersonation is decided by IAM bindings the test sets up.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { EndpointKind, Fault, GcpTestServerOptions, GkeCluster, PoolProvider, RequestRecord } from './types.js';
import { oauthError, ok, rpcError, type Reply } from './wire.js';

const HOST = '127.0.0.1';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SUBJECT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const MAX_BODY = 1024 * 1024;

interface IssuedToken {
  readonly principal: string;
  readonly expiresAtMs: number;
}

interface SecretVersion {
  readonly number: number;
  readonly data: Buffer;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
}

interface StoredSecret {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly location: string | undefined;
  readonly id: string;
  readonly versions: SecretVersion[];
  /** Principals with roles/secretmanager.secretAccessor on the secret. */
  readonly accessors: Set<string>;
}

export class GcpTestServer {
  readonly url: string;
  readonly requests: RequestRecord[] = [];
  private readonly providers: PoolProvider[] = [];
  private readonly clusters: GkeCluster[] = [];
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly secrets = new Map<string, StoredSecret>();
  /** Service account email → principals with roles/iam.serviceAccountTokenCreator (or workloadIdentityUser) on it. */
  private readonly tokenCreators = new Map<string, Set<string>>();
  private readonly projectNumbers = new Map<string, string>();
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly sockets = new Set<Socket>();
  private fault: Fault | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: GcpTestServerOptions,
  ) {
    this.url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  }

  static async start(options: GcpTestServerOptions): Promise<GcpTestServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const instance = new GcpTestServer(server, options);
    server.on('connection', (socket) => {
      instance.sockets.add(socket);
      socket.on('close', () => instance.sockets.delete(socket));
    });
    server.on('request', (req, res) => void instance.handle(req, res));
    return instance;
  }

  // --- set-up ----------------------------------------------------------------------------------

  /** `//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<p>` */
  addPoolProvider(provider: PoolProvider): string {
    this.providers.push(provider);
    return providerName(provider);
  }

  addGkeCluster(cluster: GkeCluster): void {
    this.clusters.push(cluster);
  }

  /** The endpoint template for `--gcp-regional-secret-manager-endpoint`. */
  get regionalEndpoint(): string {
    return `${this.url}/rep/{location}`;
  }

  /** Add a version (numbered 1, 2, ...) to a secret, creating it; returns the version number. */
  addVersion(resource: { project: string; projectNumber: string; secret: string; location?: string }, data: string | Buffer): number {
    this.projectNumbers.set(resource.project, resource.projectNumber);
    const key = secretKey(resource.projectNumber, resource.location, resource.secret);
    let secret = this.secrets.get(key);
    if (secret === undefined) {
      secret = { projectId: resource.project, projectNumber: resource.projectNumber, location: resource.location, id: resource.secret, versions: [], accessors: new Set() };
      this.secrets.set(key, secret);
    }
    secret.versions.push({ number: secret.versions.length + 1, data: Buffer.from(data), state: 'ENABLED' });
    return secret.versions.length;
  }

  setVersionState(resource: { projectNumber: string; secret: string; location?: string }, version: number, state: 'ENABLED' | 'DISABLED' | 'DESTROYED'): void {
    const secret = this.secrets.get(secretKey(resource.projectNumber, resource.location, resource.secret));
    const entry = secret?.versions[version - 1];
    if (entry === undefined) throw new Error('no such version');
    entry.state = state;
  }

  /** `gcloud secrets add-iam-policy-binding <secret> --role=roles/secretmanager.secretAccessor --member=<principal>` */
  grantSecretAccess(resource: { projectNumber: string; secret: string; location?: string }, principal: string): void {
    const secret = this.secrets.get(secretKey(resource.projectNumber, resource.location, resource.secret));
    if (secret === undefined) throw new Error('add a version first');
    secret.accessors.add(principal);
  }

  /** `gcloud iam service-accounts add-iam-policy-binding <email> --role=roles/iam.workloadIdentityUser|serviceAccountTokenCreator --member=<principal>` */
  grantTokenCreator(serviceAccount: string, principal: string): void {
    const set = this.tokenCreators.get(serviceAccount) ?? new Set<string>();
    set.add(principal);
    this.tokenCreators.set(serviceAccount, set);
  }

  async setFault(fault: Fault | undefined): Promise<void> {
    this.fault = fault;
    if (fault?.kind === 'down') for (const socket of this.sockets) socket.destroy();
  }

  resetObservations(): void {
    this.requests.length = 0;
  }

  counts(): Record<EndpointKind, number> {
    const counts: Record<EndpointKind, number> = { sts: 0, gke: 0, iam: 0, access: 0 };
    for (const r of this.requests) counts[r.kind] += 1;
    return counts;
  }

  /** Forget every issued access token (as if they were revoked). */
  revokeAllTokens(): void {
    this.tokens.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- dispatch --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const route = this.route(req.method ?? 'GET', url.pathname);
    if (route === undefined) {
      send(res, rpcError('NOT_FOUND', `no route for ${req.method} ${url.pathname}`));
      return;
    }
    const fault = this.fault;
    const faulted = fault !== undefined && (fault.kind === 'corrupt-checksum' || fault.kind === 'no-payload' ? false : (fault.on ?? ['sts', 'gke', 'iam', 'access']).includes(route.kind));
    if (faulted && fault.kind === 'down') {
      req.socket.destroy();
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      req.socket.destroy();
      return;
    }
    let reply: Reply;
    if (faulted && fault.kind === 'rate-limited') {
      reply = rpcError('RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric \'Access requests\' and limit \'Access requests per minute per project\'.', [
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${fault.retryDelaySeconds}s` },
      ]);
    } else if (faulted && fault.kind === 'unavailable') {
      const unavailable = rpcError('UNAVAILABLE', 'The service is currently unavailable.');
      reply = fault.retryAfterSeconds === undefined ? unavailable : { ...unavailable, headers: { 'retry-after': String(fault.retryAfterSeconds) } };
    } else {
      reply = await route.handler(req, body).catch((error: unknown) => rpcError('INVALID_ARGUMENT', error instanceof Error ? error.message : String(error)));
    }
    this.requests.push({ at: this.options.now(), kind: route.kind, status: reply.status, resource: route.resource, endpoint: route.endpoint });
    send(res, reply);
  }

  private route(method: string, path: string): { kind: EndpointKind; resource: string; endpoint: string; handler: (req: IncomingMessage, body: string) => Promise<Reply> } | undefined {
    if (method === 'POST' && path === '/v1/token') return { kind: 'sts', resource: '', endpoint: 'global', handler: (req, body) => this.stsToken(req, body) };
    if (method === 'POST' && path === '/gke/v1/identitybindingtoken') return { kind: 'gke', resource: '', endpoint: 'global', handler: (req, body) => this.identityBindingToken(req, body) };
    const generate = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
    if (method === 'POST' && generate !== null) {
      const email = decodeURIComponent(generate[1] as string);
      return { kind: 'iam', resource: email, endpoint: 'global', handler: (req, body) => this.generateAccessToken(req, body, email) };
    }
    const access = /^(?:\/rep\/([a-z0-9-]+))?\/v1\/(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+\/versions\/[^/:]+):access$/.exec(path);
    if (method === 'GET' && access !== null) {
      const endpoint = access[1] ?? 'global';
      const name = access[2] as string;
      return { kind: 'access', resource: name, endpoint, handler: (req) => this.accessVersion(req, name, endpoint) };
    }
    return undefined;
  }

  // --- STS ---------------------------------------------------------------------------------------

  /** https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token */
  private async stsToken(req: IncomingMessage, body: string): Promise<Reply> {
    const fields = parseFields(req, body);
    if (fields === undefined) return oauthError('invalid_request', 'Request body must be JSON or application/x-www-form-urlencoded.');
    const shape = checkExchangeFields(fields);
    if (shape !== undefined) return shape;
    const provider = this.providers.find((p) => providerName(p) === fields['audience']);
    if (provider === undefined) return oauthError('invalid_target', 'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.');
    const allowed = provider.allowedAudiences?.length ? provider.allowedAudiences : [`https:${providerName(provider)}`];
    const claims = await this.verify(fields['subject_token'] ?? '', allowed);
    if (typeof claims === 'string') return oauthError('invalid_grant', claims);
    // Default attribute mapping: google.subject = assertion.sub.
    const principal = `principal://iam.googleapis.com/projects/${provider.projectNumber}/locations/global/workloadIdentityPools/${provider.pool}/subject/${String(claims.sub)}`;
    const seconds = this.options.federatedTokenSeconds ?? 3600;
    return ok({ access_token: this.issue(principal, seconds, 'fed'), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: seconds });
  }

  /** GKE's identity binding exchange (as secrets-store-csi-driver-provider-gcp's auth.go calls it). */
  private async identityBindingToken(req: IncomingMessage, body: string): Promise<Reply> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return oauthError('invalid_request', 'Content-Type must be application/json.');
    const fields = parseFields(req, body);
    if (fields === undefined) return oauthError('invalid_request', 'Invalid JSON payload.');
    const shape = checkExchangeFields(fields);
    if (shape !== undefined) return shape;
    const cluster = this.clusters.find((c) => fields['audience'] === `identitynamespace:${c.project}.svc.id.goog:https://container.googleapis.com/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}`);
    if (cluster === undefined) return oauthError('invalid_target', 'The identity namespace or identity provider in "audience" is not known.');
    const pool = `${cluster.project}.svc.id.goog`;
    const claims = await this.verify(fields['subject_token'] ?? '', [pool]);
    if (typeof claims === 'string') return oauthError('invalid_grant', claims);
    const k8s = claims['kubernetes.io'] as { namespace?: string; serviceaccount?: { name?: string } } | undefined;
    // GKE's principal for a Kubernetes service account (the form IAM bindings name since GKE's
    // workload identity federation; the older `serviceAccount:<pool>[ns/sa]` names the same).
    const principal = gkePrincipal(cluster, k8s?.namespace ?? '', k8s?.serviceaccount?.name ?? '');
    const seconds = this.options.federatedTokenSeconds ?? 3600;
    return ok({ access_token: this.issue(principal, seconds, 'gke'), token_type: 'Bearer', expires_in: seconds });
  }

  /** Signature against the cluster's JWKS, then audience and times (60 s skew); a reason on failure. */
  private async verify(token: string, audiences: readonly string[]): Promise<JWTPayload | string> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, { audience: [...audiences], currentDate: new Date(this.options.now()), clockTolerance: 60 });
      if (typeof payload.sub !== 'string' || payload.sub === '') return 'The ID Token has no "sub" claim.';
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') return `The audience in ID Token does not match the expected audience ${audiences.join(', ')}.`;
      if (error instanceof joseErrors.JWTExpired) return 'ID Token issued at or before its expiry has expired.';
      if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) return 'Invalid ID Token signature.';
      return 'Unable to parse the ID Token.';
    }
  }

  // --- IAM Credentials ---------------------------------------------------------------------------

  /** https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken */
  private async generateAccessToken(req: IncomingMessage, body: string, email: string): Promise<Reply> {
    const caller = this.caller(req);
    if (typeof caller !== 'string') return caller;
    let request: { delegates?: unknown; scope?: unknown; lifetime?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      return rpcError('INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (!Array.isArray(request.scope) || request.scope.length === 0) return rpcError('INVALID_ARGUMENT', 'Scope required.');
    const lifetime = typeof request.lifetime === 'string' ? /^(\d+)s$/.exec(request.lifetime) : null;
    if (request.lifetime !== undefined && (lifetime === null || Number(lifetime[1]) > 3600)) {
      return rpcError('INVALID_ARGUMENT', 'The lifetime must be between 1s and 3600s (longer needs the constraints/iam.allowServiceAccountCredentialLifetimeExtension policy).');
    }
    const delegates = Array.isArray(request.delegates) ? request.delegates : [];
    const chain: string[] = [];
    for (const delegate of delegates) {
      const match = typeof delegate === 'string' ? /^projects\/-\/serviceAccounts\/(.+)$/.exec(delegate) : null;
      if (match === null) return rpcError('INVALID_ARGUMENT', 'Delegates must be of the form projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}.');
      chain.push(match[1] as string);
    }
    chain.push(email);
    // Each link must be allowed to mint tokens for the next: caller → delegate 1 → ... → target.
    let principal = caller;
    for (const account of chain) {
      if (!this.tokenCreators.get(account)?.has(principal)) {
        return rpcError('PERMISSION_DENIED', `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`, [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'iam.googleapis.com', metadata: { permission: 'iam.serviceAccounts.getAccessToken' } },
        ]);
      }
      principal = `serviceAccount:${account}`;
    }
    const seconds = lifetime === null ? 3600 : Number(lifetime[1]);
    const accessToken = this.issue(`serviceAccount:${email}`, seconds, 'sa');
    return ok({ accessToken, expireTime: new Date(this.options.now() + seconds * 1000).toISOString().replace('.000Z', 'Z') });
  }

  // --- Secret Manager ----------------------------------------------------------------------------

  /** https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access */
  private async accessVersion(req: IncomingMessage, name: string, endpoint: string): Promise<Reply> {
    const caller = this.caller(req);
    if (typeof caller !== 'string') return caller;
    const match = /^projects\/([^/]+)(?:\/locations\/([^/]+))?\/secrets\/([^/]+)\/versions\/([^/]+)$/.exec(name);
    if (match === null) return rpcError('INVALID_ARGUMENT', `Invalid resource field value in the request.`);
    const [, project, location, secretId, version] = match as unknown as [string, string, string | undefined, string, string];
    if (location !== undefined && endpoint !== location) {
      return rpcError('INVALID_ARGUMENT', `Regional secrets in ${location} must be accessed through the regional endpoint secretmanager.${location}.rep.googleapis.com.`);
    }
    if (location === undefined && endpoint !== 'global') return rpcError('NOT_FOUND', `Secret [projects/${project}/secrets/${secretId}] not found at the regional endpoint of ${endpoint}.`);
    const projectNumber = /^\d+$/.test(project) ? project : this.projectNumbers.get(project);
    const secret = projectNumber === undefined ? undefined : this.secrets.get(secretKey(projectNumber, location, secretId));
    const denied = rpcError('PERMISSION_DENIED', `Permission 'secretmanager.versions.access' denied for resource '${name}' (or it may not exist).`);
    // Without access, a missing secret looks like a forbidden one (Google does not confirm existence).
    if (secret === undefined) return this.anyAccess(caller) ? rpcError('NOT_FOUND', `Secret [${name.replace(/\/versions\/.*$/, '')}] not found or has no versions.`) : denied;
    if (!secret.accessors.has(caller)) return denied;
    const parent = `projects/${secret.projectNumber}${location === undefined ? '' : `/locations/${location}`}/secrets/${secret.id}`;
    // `latest` is "an alias to the most recently created SecretVersion" (the access reference):
    // the newest version whatever its state, so a disabled newest version fails like any other.
    const entry = version === 'latest' ? secret.versions.at(-1) : /^\d+$/.test(version) ? secret.versions[Number(version) - 1] : undefined;
    if (entry === undefined) return rpcError('NOT_FOUND', `Secret Version [${parent}/versions/${version}] not found.`);
    if (entry.state !== 'ENABLED') return rpcError('FAILED_PRECONDITION', `Secret Version [${parent}/versions/${entry.number}] is in ${entry.state} state.`);
    const checksum = crc32cReference(entry.data);
    if (this.fault?.kind === 'no-payload') return ok({ name: `${parent}/versions/${entry.number}` });
    const corrupt = this.fault?.kind === 'corrupt-checksum';
    return ok({ name: `${parent}/versions/${entry.number}`, payload: { data: entry.data.toString('base64'), dataCrc32c: String(corrupt ? (checksum ^ 1) >>> 0 : checksum) } });
  }

  private anyAccess(principal: string): boolean {
    return [...this.secrets.values()].some((s) => s.accessors.has(principal));
  }

  // --- tokens ------------------------------------------------------------------------------------

  private issue(principal: string, seconds: number, kind: string): string {
    const token = `ya29.${kind}-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { principal, expiresAtMs: this.options.now() + seconds * 1000 });
    return token;
  }

  /** The principal behind `Authorization: Bearer`, or the 401 Google sends. */
  private caller(req: IncomingMessage): string | Reply {
    const header = req.headers['authorization'] ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const issued = this.tokens.get(token);
    if (issued === undefined || issued.expiresAtMs <= this.options.now()) {
      return rpcError('UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    }
    return issued.principal;
  }
}

export function providerName(p: PoolProvider): string {
  return `//iam.googleapis.com/projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}/providers/${p.provider}`;
}

/** The principal a pool grants to a Kubernetes service account (`google.subject` = `sub`). */
export function federatedPrincipal(p: PoolProvider, namespace: string, serviceAccount: string): string {
  return `principal://iam.googleapis.com/projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}/subject/system:serviceaccount:${namespace}:${serviceAccount}`;
}

export function gkePrincipal(c: GkeCluster, namespace: string, serviceAccount: string): string {
  return `principal://iam.googleapis.com/projects/${c.projectNumber}/locations/global/workloadIdentityPools/${c.project}.svc.id.goog/subject/ns/${namespace}/sa/${serviceAccount}`;
}

function checkExchangeFields(fields: Record<string, string>): Reply | undefined {
  if (fields['grant_type'] !== TOKEN_EXCHANGE) return oauthError('unsupported_grant_type', `Unsupported grant type ${JSON.stringify(fields['grant_type'] ?? '')}.`);
  if (!SUBJECT_TYPES.includes(fields['subject_token_type'] ?? '')) return oauthError('invalid_request', 'Invalid value for "subject_token_type".');
  // requested_token_type is required (ExchangeTokenRequest), and so is scope when an external
  // credential is exchanged for a Google access token, which is all this server does.
  if (fields['requested_token_type'] === undefined) return oauthError('invalid_request', 'Missing required parameter: "requested_token_type".');
  if (fields['requested_token_type'] !== 'urn:ietf:params:oauth:token-type:access_token') return oauthError('invalid_request', 'Invalid value for "requested_token_type".');
  if (!fields['subject_token']) return oauthError('invalid_request', 'Missing required parameter: "subject_token".');
  if (!fields['audience']) return oauthError('invalid_request', 'Missing required parameter: "audience".');
  if (fields['scope'] === undefined) return oauthError('invalid_request', 'Missing required parameter: "scope".');
  if (!fields['scope'].split(' ').includes(CLOUD_PLATFORM)) return oauthError('invalid_scope', 'The scope must include cloud-platform.');
  return undefined;
}

function parseFields(req: IncomingMessage, body: string): Record<string, string> | undefined {
  const type = req.headers['content-type'] ?? '';
  try {
    if (type.startsWith('application/json')) {
      const parsed = JSON.parse(body) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return undefined;
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
    if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  } catch {
    return undefined;
  }
  return undefined;
}

function secretKey(projectNumber: string, location: string | undefined, secret: string): string {
  return `${projectNumber}/${location ?? ''}/${secret}`;
}

/** Bit-by-bit CRC32C, independent of the driver's table version (so one cannot hide a bug in the other). */
function crc32cReference(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new Error('too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A local Kubernetes API server for exactly what credmount's cert-manager signer does, following
 * the Kubernetes API conventions and cert-manager's CertificateRequest API (docs/cert-manager-api.md):
 *
 *   POST   /apis/cert-manager.io/v1/namespaces/{ns}/certificaterequests          → 201 object
 *   GET    /apis/cert-manager.io/v1/namespaces/{ns}/certificaterequests/{name}   → 200 object
 *   DELETE /apis/cert-manager.io/v1/namespaces/{ns}/certificaterequests/{name}   → 200 Status
 *   GET    /apis/cert-manager.io/v1/namespaces/{ns}/certificaterequests          → 200 List
 *
 * Every call is authenticated (bearer token verified against the kubelet simulator's JWKS) and
 * authorised (a small RBAC: which service accounts may use certificaterequests in which
 * namespace); errors are `Status` objects with the API server's codes and messages. Acting as
 * cert-manager, it sets `spec.username` from the requester (as cert-manager's webhook does) and,
 * shortly after creation, approves and signs with a CA issuer — or denies, for a "deny" issuer.
 * It records every request with the identity that made it.
 */
import { randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseGoDuration } from '../../../src/providers/certificates/go-duration.js';
import type { CertificateRequestObject } from '../../../src/providers/certificates/cert-manager/certificate-request.js';
import { x509 } from '../../../src/providers/x509.js';
import { TokenAuthenticator } from './authenticator.js';
import { TestCa } from './issuer.js';

/** `wrong-key`: a misbehaving issuer that answers Ready with a certificate for another public key. */
export type IssuerBehaviour = 'sign' | 'deny' | 'fail' | 'wrong-key';

export interface KubeApiServerOptions {
  readonly jwksUrl: string;
  /** The service-account issuer (`iss`), also the default API audience. */
  readonly issuer: string;
  readonly now?: () => number;
  /** Real milliseconds between creation and the issuer's answer (cert-manager is asynchronous). */
  readonly issueDelayMs?: number;
}

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Who made it (`system:serviceaccount:<ns>:<sa>`), or undefined when unauthenticated. */
  readonly user: string | undefined;
  readonly at: number;
}

type Fault = { kind: 'unavailable' } | undefined;

const PREFIX = '/apis/cert-manager.io/v1/namespaces/';

export class KubeApiTestServer {
  readonly calls: RecordedCall[] = [];
  /** Every CertificateRequest ever created, by `<ns>/<name>`, with its last state (kept after deletion). */
  readonly history = new Map<string, CertificateRequestObject>();
  private readonly objects = new Map<string, CertificateRequestObject>();
  private readonly issuers = new Map<string, { behaviour: IssuerBehaviour; ca: TestCa }>();
  private readonly grants = new Set<string>();
  private fault: Fault;
  private readonly now: () => number;
  private readonly authenticator: TokenAuthenticator;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: KubeApiServerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.authenticator = new TokenAuthenticator(options.jwksUrl, options.issuer, [options.issuer], this.now);
  }

  static async start(options: KubeApiServerOptions): Promise<KubeApiTestServer> {
    const holder: { instance?: KubeApiTestServer } = {};
    const server = createServer((request, response) => {
      void holder.instance?.handle(request, response);
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.instance = new KubeApiTestServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return holder.instance;
  }

  /** An Issuer (namespaced, `<ns>/<name>`) or ClusterIssuer (`<name>`) and what it does. */
  async addIssuer(ref: string, behaviour: IssuerBehaviour = 'sign'): Promise<TestCa> {
    const ca = await TestCa.create(`test issuer ${ref}`, this.now());
    this.issuers.set(ref, { behaviour, ca });
    return ca;
  }

  /** RBAC: let a service account create/get/delete certificaterequests in its namespace. */
  grant(namespace: string, serviceAccountName: string): void {
    this.grants.add(`system:serviceaccount:${namespace}:${serviceAccountName}`);
  }

  setFault(fault: Fault): void {
    this.fault = fault;
  }

  /** Objects that still exist (not deleted). */
  live(): CertificateRequestObject[] {
    return [...this.objects.values()];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const method = request.method ?? 'GET';
    const body = await readBody(request);
    const who: { user?: string } = {};
    const reply = (status: number, payload: unknown) => {
      this.calls.push({ method, path, status, user: who.user, at: this.now() });
      const text = JSON.stringify(payload);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    if (this.fault?.kind === 'unavailable') return reply(503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
    // 1. authentication
    const authenticated = await this.authenticator.authenticate(request.headers.authorization);
    if ('refused' in authenticated) return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    const user = authenticated.username;
    who.user = user;
    // 2. route
    if (!path.startsWith(PREFIX)) return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [namespace, plural, name, ...rest] = path.slice(PREFIX.length).split('/');
    if (plural !== 'certificaterequests' || rest.length > 0 || namespace === undefined || namespace === '') return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const verb = method === 'POST' ? 'create' : method === 'DELETE' ? 'delete' : method === 'GET' ? (name === undefined ? 'list' : 'get') : undefined;
    if (verb === undefined || (verb === 'create' && name !== undefined)) return reply(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    // 3. authorisation (RBAC): only granted service accounts, only in their own namespace
    if (!this.grants.has(user) || authenticated.namespace !== namespace) {
      return reply(403, status(403, 'Forbidden', `certificaterequests.cert-manager.io is forbidden: User "${user}" cannot ${verb} resource "certificaterequests" in API group "cert-manager.io" in the namespace "${namespace}"`));
    }
    const key = `${namespace}/${name ?? ''}`;
    switch (verb) {
      case 'create':
        return this.create(namespace, body, user, reply);
      case 'get': {
        const object = this.objects.get(key);
        return object === undefined ? reply(404, notFound(name ?? '')) : reply(200, object);
      }
      case 'list':
        return reply(200, { apiVersion: 'cert-manager.io/v1', kind: 'CertificateRequestList', metadata: {}, items: [...this.objects.values()].filter((o) => o.metadata.namespace === namespace) });
      case 'delete': {
        const object = this.objects.get(key);
        if (object === undefined) return reply(404, notFound(name ?? ''));
        this.objects.delete(key);
        return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'cert-manager.io', kind: 'certificaterequests', uid: object.metadata.uid } });
      }
    }
  }

  private create(namespace: string, body: string, user: string, reply: (status: number, payload: unknown) => void): void {
    let object: CertificateRequestObject;
    try {
      object = JSON.parse(body) as CertificateRequestObject;
    } catch {
      return reply(400, status(400, 'BadRequest', 'the body of the request was in an unknown format'));
    }
    if (object.apiVersion !== 'cert-manager.io/v1' || object.kind !== 'CertificateRequest') return reply(400, status(400, 'BadRequest', 'the API version in the data does not match the expected API version'));
    if (object.metadata?.namespace !== undefined && object.metadata.namespace !== namespace) {
      return reply(400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    }
    // cert-manager's validating webhook: request and issuerRef.name are required
    if (typeof object.spec?.request !== 'string' || object.spec.request === '' || typeof object.spec.issuerRef?.name !== 'string') {
      return reply(422, status(422, 'Invalid', 'CertificateRequest.cert-manager.io is invalid: spec.request: Required value'));
    }
    const usageError = webhookUsageCheck(object.spec);
    if (usageError !== undefined) return reply(422, status(422, 'Invalid', `CertificateRequest.cert-manager.io is invalid: spec.request: Invalid value: ${usageError}`));
    const name = object.metadata.name ?? `${object.metadata.generateName ?? ''}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const stored: CertificateRequestObject = {
      ...object,
      metadata: { ...object.metadata, name, namespace, uid: randomUUID() },
      // cert-manager's mutating webhook records who asked
      spec: { ...object.spec, username: user },
      status: {},
    };
    this.objects.set(`${namespace}/${name}`, stored);
    this.history.set(`${namespace}/${name}`, stored);
    reply(201, stored);
    setTimeout(() => void this.reconcile(`${namespace}/${name}`), this.options.issueDelayMs ?? 5);
  }

  /** cert-manager's approver and issuer controllers, in one step. */
  private async reconcile(key: string): Promise<void> {
    const object = this.objects.get(key);
    if (object === undefined) return;
    const ref = object.spec.issuerRef;
    const issuer = this.issuers.get(ref.kind === 'ClusterIssuer' ? ref.name : `${object.metadata.namespace}/${ref.name}`);
    const at = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const set = (status: CertificateRequestObject['status']) => {
      const next = { ...object, status };
      if (this.objects.has(key)) this.objects.set(key, next);
      this.history.set(key, next);
    };
    if (issuer === undefined) {
      return set({ conditions: [{ type: 'Approved', status: 'True', reason: 'cert-manager.io' }, { type: 'Ready', status: 'False', reason: 'Pending', message: `Referenced "${ref.kind}" not found: issuer.cert-manager.io "${ref.name}" not found` }] });
    }
    if (issuer.behaviour === 'deny') {
      return set({
        conditions: [
          { type: 'Denied', status: 'True', reason: 'policy.cert-manager.io', message: 'No policy approved this request: [test-policy: spec.allowed.dnsNames.values: Invalid value]' },
          { type: 'Ready', status: 'False', reason: 'Denied', message: 'The CertificateRequest was denied by an approval controller' },
        ],
        failureTime: at,
      });
    }
    if (issuer.behaviour === 'fail') {
      return set({ conditions: [{ type: 'Approved', status: 'True', reason: 'cert-manager.io' }, { type: 'Ready', status: 'False', reason: 'Failed', message: 'Failed to sign certificate: the CA is broken' }], failureTime: at });
    }
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(Buffer.from(object.spec.request, 'base64').toString('utf8'));
      if (!(await csr.verify())) throw new Error('signature');
    } catch {
      return set({ conditions: [{ type: 'InvalidRequest', status: 'True', reason: 'RequestParsingError', message: 'Failed to decode CSR in spec.request' }, { type: 'Ready', status: 'False', reason: 'Failed', message: 'Failed to decode CSR in spec.request' }] });
    }
    const parsed = parseGoDuration(object.spec.duration ?? '2160h');
    const durationMs = 'ms' in parsed ? parsed.ms : 2160 * 3_600_000;
    if (issuer.behaviour === 'wrong-key') {
      // the same names, but a CSR of a key this server made: not the key the requester holds
      const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: csr.subjectName, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [...csr.extensions] });
    }
    const certificate = await issuer.ca.sign(csr, durationMs, object.spec.usages ?? ['digital signature', 'key encipherment'], object.spec.isCA === true, this.now());
    set({
      conditions: [
        { type: 'Approved', status: 'True', reason: 'cert-manager.io', message: 'Certificate request has been approved by cert-manager.io' },
        { type: 'Ready', status: 'True', reason: 'Issued', message: 'Certificate fetched from issuer successfully' },
      ],
      certificate: Buffer.from(certificate.toString('pem')).toString('base64'),
      ca: Buffer.from(issuer.ca.pem).toString('base64'),
    });
  }
}

/**
 * cert-manager's validating webhook (internal/apis/certmanager/validation/certificaterequest.go,
 * ValidateCertificateRequestSpec): when spec.usages is set and not exactly the default, and the
 * CSR has extensions, the CSR's key usages and extended key usages must equal spec.usages — with
 * "cert sign" added to spec.usages when isCA, and "signing" counted as "digital signature".
 * The names come from cert-manager's pki.BuildCertManagerKeyUsages, written out here on purpose
 * (not the driver's table) so the check is independent of the code under test.
 */
const KU_NAMES = ['digital signature', 'content commitment', 'key encipherment', 'data encipherment', 'key agreement', 'cert sign', 'crl sign', 'encipher only', 'decipher only'];
const EKU_NAMES: Record<string, string> = {
  '2.5.29.37.0': 'any',
  '1.3.6.1.5.5.7.3.1': 'server auth',
  '1.3.6.1.5.5.7.3.2': 'client auth',
  '1.3.6.1.5.5.7.3.3': 'code signing',
  '1.3.6.1.5.5.7.3.4': 'email protection',
  '1.3.6.1.5.5.7.3.5': 'ipsec end system',
  '1.3.6.1.5.5.7.3.6': 'ipsec tunnel',
  '1.3.6.1.5.5.7.3.7': 'ipsec user',
  '1.3.6.1.5.5.7.3.8': 'timestamping',
  '1.3.6.1.5.5.7.3.9': 'ocsp signing',
  '1.3.6.1.4.1.311.10.3.3': 'microsoft sgc',
  '2.16.840.1.113730.4.1': 'netscape sgc',
};
function webhookUsageCheck(spec: CertificateRequestObject['spec']): string | undefined {
  const usages = spec.usages ?? [];
  const normal = (list: readonly string[]) => [...new Set(list.map((u) => (u === 'signing' ? 'digital signature' : u)))].sort().join(',');
  if (usages.length === 0 || normal(usages) === normal(['digital signature', 'key encipherment'])) return undefined;
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(spec.request, 'base64').toString('utf8'));
  } catch {
    // The real webhook answers 422 here; this server leaves it to the controller's InvalidRequest
    // (both reach the pod as FAILED_PRECONDITION), which the signer test covers.
    return undefined;
  }
  if (csr.extensions.length === 0) return undefined;
  const expected = spec.isCA === true && !usages.includes('cert sign') ? [...usages, 'cert sign'] : usages;
  const inCsr: string[] = [];
  for (const extension of csr.extensions) {
    if (extension instanceof x509.KeyUsagesExtension) KU_NAMES.forEach((name, bit) => (extension.usages & (1 << bit) ? inCsr.push(name) : undefined));
    if (extension instanceof x509.ExtendedKeyUsageExtension) for (const oid of extension.usages) if (typeof oid === 'string' && EKU_NAMES[oid] !== undefined) inCsr.push(EKU_NAMES[oid]);
  }
  if (inCsr.length > 0 && normal(inCsr) !== normal(expected) && normal(inCsr) !== normal(['digital signature', 'key encipherment'])) {
    return `csr key usages do not match specified usages, these should match if both are set: [${normal(inCsr)}] != [${normal(expected)}]`;
  }
  return undefined;
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function notFound(name: string) {
  return status(404, 'NotFound', `certificaterequests.cert-manager.io "${name}" not found`);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

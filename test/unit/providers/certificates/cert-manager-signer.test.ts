import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startJwksServer, type RunningJwksServer } from '../../../../src/cli/kubelet-sim/jwks-server.js';
import { defaultServiceAccountUid, ServiceAccountTokenIssuer } from '../../../../src/cli/kubelet-sim/token-issuer.js';
import { parseCertificateAttributes } from '../../../../src/providers/certificates/attributes.js';
import { CertificatesProvider } from '../../../../src/providers/certificates/certificates-provider.js';
import { createCsr, csrPem } from '../../../../src/providers/certificates/csr.js';
import { generateNodeKey } from '../../../../src/providers/certificates/key-material.js';
import { CertManagerSigner } from '../../../../src/providers/certificates/signers/cert-manager-signer.js';
import type { SignInput } from '../../../../src/providers/certificates/signers/signer.js';
import type { ServiceAccountToken } from '../../../../src/providers/provider.js';
import { CredmountError } from '../../../../src/errors/credmount-error.js';
import { KubeApiTestServer } from '../../../support/kube-api-server/index.js';
import { closedWithin } from '../../../support/request-closed.js';

const identity = { namespace: 'demo', podName: 'web-0', podUid: '6c1d3a57-7b44-4c1b-9d59-0d5b1f8a2e10', serviceAccountName: 'web' };
const defaults = { vaultAddress: '', vaultAuthMountPath: 'kubernetes', vaultAudience: 'vault', vaultPkiMount: 'pki', vaultAllowedAddresses: [], maxDurationMs: 8760 * 3_600_000 };

describe('cert-manager signer against the local Kubernetes API', () => {
  let issuer: ServiceAccountTokenIssuer;
  let jwks: RunningJwksServer;
  let kube: KubeApiTestServer;
  let signer: CertManagerSigner;
  before(async () => {
    issuer = await ServiceAccountTokenIssuer.create();
    jwks = await startJwksServer(issuer);
    kube = await KubeApiTestServer.start({ jwksUrl: jwks.jwksUri, issuer: issuer.issuer });
    await kube.addIssuer('demo/ca');
    await kube.addIssuer('demo/no', 'deny');
    await kube.addIssuer('cluster-ca');
    await kube.addIssuer('demo/wrong-key', 'wrong-key');
    kube.grant('demo', 'web');
    signer = new CertManagerSigner({ server: kube.url, caFile: undefined, pollMs: 20 });
  });
  after(async () => {
    await kube.stop();
    await jwks.stop();
  });

  async function input(issuerName: string, overrides: Partial<SignInput> = {}, audience = ''): Promise<SignInput> {
    const spec = parseCertificateAttributes({ 'csi.cert-manager.io/issuer-name': issuerName, 'csi.cert-manager.io/common-name': 'web', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/duration': '1h', 'csi.cert-manager.io/key-usages': 'server auth' }, identity, defaults);
    const csr = await createCsr(spec, await generateNodeKey('ECDSA', 256));
    const minted = await issuer.mint({ namespace: 'demo', podName: 'web-0', podUid: identity.podUid, serviceAccountName: 'web', audience });
    const token: ServiceAccountToken = { audience: '', token: minted.token, expiresAt: new Date(minted.expirationTimestamp), serviceAccountUid: defaultServiceAccountUid('demo', 'web') };
    return { volumeId: 'csi-1', spec, csr, csrPem: csrPem(csr), identity, tokens: new Map([['', token]]), now: new Date(), signal: new AbortController().signal, ...overrides };
  }

  test('creates the request as system:serviceaccount:<ns>:<sa> with the documented spec, waits for Ready, deletes it', async () => {
    const signed = await signer.sign(await input('ca'));
    assert.match(signed.chainPem, /^-----BEGIN CERTIFICATE-----/);
    assert.match(signed.caPem, /^-----BEGIN CERTIFICATE-----/);
    const [created] = [...kube.history.values()].slice(-1);
    assert.equal(created?.spec.username, 'system:serviceaccount:demo:web');
    assert.equal(created?.spec.duration, '1h0m0s');
    assert.deepEqual(created?.spec.usages, ['server auth']);
    assert.equal(created?.spec.isCA, false);
    assert.equal(Buffer.from(created?.spec.request ?? '', 'base64').toString().startsWith('-----BEGIN CERTIFICATE REQUEST-----'), true);
    assert.equal(created?.metadata.annotations?.['credmount.dev/volume-id'], 'csi-1');
    assert.ok(kube.calls.every((c) => c.user === 'system:serviceaccount:demo:web'));
    assert.equal(kube.live().length, 0);
  });

  test("a token for another audience is not the API server's: 401 becomes UNAUTHENTICATED", async () => {
    await assert.rejects(signer.sign(await input('ca', {}, 'vault')), (error: unknown) => {
      assert.ok(error instanceof CredmountError);
      assert.equal(error.status, 'UNAUTHENTICATED');
      assert.match(error.message, /the API server answered 401/);
      return true;
    });
  });

  test('a token signed by another key (not the cluster\'s JWKS) is refused with 401, and nothing is created', async () => {
    const forger = await ServiceAccountTokenIssuer.create();
    const minted = await forger.mint({ namespace: 'demo', podName: 'web-0', podUid: identity.podUid, serviceAccountName: 'web', audience: '' });
    const before = kube.history.size;
    const forged = await input('ca', { tokens: new Map([['', { audience: '', token: minted.token, expiresAt: new Date(minted.expirationTimestamp), serviceAccountUid: defaultServiceAccountUid('demo', 'web') }]]) });
    await assert.rejects(signer.sign(forged), /UNAUTHENTICATED|answered 401/);
    assert.equal(kube.history.size, before);
    assert.equal(kube.calls.at(-1)?.user, undefined);
  });

  test('a CSR the issuer cannot read: InvalidRequest becomes FAILED_PRECONDITION', async () => {
    const good = await input('ca');
    const broken = good.csrPem.replace(/^(-----BEGIN CERTIFICATE REQUEST-----\n)(.)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`);
    await assert.rejects(signer.sign({ ...good, csrPem: broken }), (error: unknown) => {
      assert.ok(error instanceof CredmountError);
      assert.equal(error.status, 'FAILED_PRECONDITION');
      assert.match(error.message, /invalid request: RequestParsingError: Failed to decode CSR in spec\.request/);
      return true;
    });
    assert.equal(kube.live().length, 0);
  });

  test('a long pod name still gives a valid object name (DNS-1123 subdomain)', async () => {
    await signer.sign(await input('ca', { identity: { ...identity, podName: `${'a'.repeat(39)}.bbbbbbbb` } }));
    const name = [...kube.history.values()].at(-1)?.metadata.name ?? '';
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    assert.ok(name.length <= 253);
  });

  test('a ClusterIssuer is referenced by kind and name', async () => {
    const base = await input('cluster-ca');
    const signed = await signer.sign({ ...base, spec: { ...base.spec, issuer: { name: 'cluster-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } } });
    assert.match(signed.caPem, /BEGIN CERTIFICATE/);
    assert.deepEqual([...kube.history.values()].at(-1)?.spec.issuerRef, { name: 'cluster-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  });

  test('denied: PERMISSION_DENIED with the approver\'s reason, and the request is deleted', async () => {
    await assert.rejects(signer.sign(await input('no')), /access denied: cert-manager denied it: policy\.cert-manager\.io: No policy approved this request/);
    assert.equal(kube.live().length, 0);
  });

  test('an issuer that never answers: abandoned at the deadline with the pending reason, and deleted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deadline')), 300);
    await assert.rejects(signer.sign(await input('missing', { signal: controller.signal })), /not ready before the fetch deadline \(Pending: Referenced "Issuer" not found/);
    assert.equal(kube.live().length, 0);
  });

  test('an API server that never answers: when the fetch is abandoned, the request to it is aborted, not left open', async () => {
    const requests: IncomingMessage[] = [];
    const hung = createServer((request) => {
      requests.push(request); // and no answer
    });
    await new Promise<void>((resolveListen) => hung.listen(0, '127.0.0.1', resolveListen));
    try {
      const hungSigner = new CertManagerSigner({ server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, caFile: undefined, pollMs: 20 });
      const controller = new AbortController();
      const signInput = await input('ca', { signal: controller.signal });
      const podToken = signInput.tokens.get('')?.token ?? assert.fail('no pod token');
      setTimeout(() => controller.abort(new Error('deadline')), 300);
      // Raced against a timer, so that a request nothing aborts fails this test instead of hanging it.
      const outcome = await Promise.race([
        hungSigner.sign(signInput).then(
          () => 'signed',
          (error: unknown) => error,
        ),
        new Promise((resolveLate) => setTimeout(() => resolveLate('still waiting after 5 s'), 5_000)),
      ]);
      assert.ok(outcome instanceof Error && /the request was abandoned/.test(outcome.message), String(outcome));
      assert.equal(requests.length, 1, 'the create reached the server');
      assert.equal(requests[0]?.headers.authorization, `Bearer ${podToken}`, "as the pod, with the pod's token");
      assert.ok(!outcome.message.includes(podToken) && !String(outcome.stack).includes(podToken), 'the token is not in the error');
      assert.equal(await closedWithin(requests[0] as IncomingMessage, 2_000), true, 'the server saw the request go away');
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((resolveClose) => hung.close(() => resolveClose()));
    }
  });

  test('the deadline during a read of the request: the read is aborted, the pending reason given, and the request still deleted', async () => {
    // An API server that creates the request (Pending), never answers a read, and deletes on DELETE.
    const reads: IncomingMessage[] = [];
    const deletes: string[] = [];
    const slow = createServer((request, response) => {
      if (request.method === 'POST') {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          const created = JSON.parse(body) as { metadata: Record<string, unknown> };
          const answer = { ...created, metadata: { ...created.metadata, name: 'web-0-slow' }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting on the issuer' }] } };
          response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        });
      } else if (request.method === 'GET') {
        reads.push(request); // and no answer
      } else {
        deletes.push(request.url ?? '');
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Success"}');
      }
    });
    await new Promise<void>((resolveListen) => slow.listen(0, '127.0.0.1', resolveListen));
    try {
      const slowSigner = new CertManagerSigner({ server: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, caFile: undefined, pollMs: 20 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('deadline')), 300);
      await assert.rejects(slowSigner.sign(await input('ca', { signal: controller.signal })), /not ready before the fetch deadline \(Pending: waiting on the issuer\)/);
      assert.equal(reads.length, 1, 'one read, which never came back');
      assert.equal(await closedWithin(reads[0] as IncomingMessage, 2_000), true, 'and was aborted');
      assert.deepEqual(deletes, ['/apis/cert-manager.io/v1/namespaces/demo/certificaterequests/web-0-slow']);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolveClose) => slow.close(() => resolveClose()));
    }
  });

  test('one request in flight per volume: a second sign for the volume waits for the first', async () => {
    const before = kube.history.size;
    const first = signer.sign(await input('ca'));
    const second = signer.sign(await input('ca'));
    await Promise.all([first, second]);
    const made = [...kube.history.values()].slice(before);
    assert.equal(made.length, 2);
    const methods = kube.calls.slice(-kube.calls.length + kube.calls.findIndex((c, i) => c.method === 'POST' && kube.calls.slice(i).filter((d) => d.method === 'POST').length === 2)).map((c) => c.method);
    // POST, GET…, DELETE, then POST, GET…, DELETE: never two requests at once
    const secondPost = methods.lastIndexOf('POST');
    assert.equal(methods[0], 'POST');
    assert.ok(methods.indexOf('DELETE') < secondPost, methods.join(' '));
  });
  test('one request in flight per volume with three callers: the third queues behind the second, not beside it', async () => {
    const from = kube.calls.length;
    // prepared first, then three signs started in the same tick (a timed-out fetch and two republishes)
    const inputs = await Promise.all([input('ca', { volumeId: 'csi-3' }), input('ca', { volumeId: 'csi-3' }), input('ca', { volumeId: 'csi-3' })]);
    await Promise.all(inputs.map((i) => signer.sign(i)));
    let live = 0;
    let most = 0;
    for (const call of kube.calls.slice(from)) {
      if (call.method === 'POST') live += 1;
      if (call.method === 'DELETE') live -= 1;
      most = Math.max(most, live);
    }
    assert.equal(kube.calls.slice(from).filter((c) => c.method === 'POST').length, 3);
    assert.equal(most, 1, kube.calls.slice(from).map((c) => c.method).join(' '));
  });
  test('an issuer that answers with a certificate for another key: the provider refuses it, writes nothing, and the request is deleted', async () => {
    const provider = new CertificatesProvider({ defaults, signers: { 'cert-manager': async () => signer } });
    const good = await input('wrong-key');
    const attrs = { 'csi.cert-manager.io/issuer-name': 'wrong-key', 'csi.cert-manager.io/common-name': 'web', 'csi.cert-manager.io/key-algorithm': 'ECDSA' };
    const parsed = provider.parse(attrs, identity);
    await assert.rejects(
      provider.fetch({ volumeId: 'csi-wrong', identity, tokens: good.tokens, parameters: parsed.value, previousVersions: undefined, now: new Date(), signal: new AbortController().signal }),
      (error: unknown) => {
        assert.ok(error instanceof CredmountError);
        assert.equal(error.status, 'FAILED_PRECONDITION');
        assert.match(error.message, /not for the private key made for this volume; nothing was written/);
        return true;
      },
    );
    const [made] = [...kube.history.values()].slice(-1);
    assert.equal(made?.spec.issuerRef.name, 'wrong-key');
    assert.equal(made?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'the issuer did answer Ready');
    assert.equal(kube.live().length, 0);
  });
  test("is-ca with usages of its own: the CSR carries cert sign, as cert-manager's webhook requires", async () => {
    const attrs = { 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'sub-ca', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/is-ca': 'true', 'csi.cert-manager.io/key-usages': 'digital signature,crl sign' };
    const spec = parseCertificateAttributes(attrs, identity, defaults);
    const csr = await createCsr(spec, await generateNodeKey('ECDSA', 256));
    const signed = await signer.sign({ ...(await input('ca')), spec, csr, csrPem: csrPem(csr), volumeId: 'csi-ca' });
    const [made] = [...kube.history.values()].slice(-1);
    assert.equal(made?.spec.isCA, true);
    assert.deepEqual(made?.spec.usages, ['digital signature', 'crl sign']);
    assert.match(signed.chainPem, /^-----BEGIN CERTIFICATE-----/);
  });
});

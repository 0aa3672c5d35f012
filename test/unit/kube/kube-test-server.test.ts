import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { KubeTestServer } from '../../support/kube-spc-server/index.js';

/**
 * The local Kubernetes API server follows the API's documented wire formats; these tests pin the
 * formats the driver's client depends on (docs/kubernetes-api.md).
 */
/** The parts of API answers these tests read. */
interface Answer {
  apiVersion?: string;
  kind?: string;
  reason?: string;
  message?: string;
  metadata: { name: string; resourceVersion: string };
  spec?: unknown;
  items?: { metadata: { name: string } }[];
}

describe('KubeTestServer wire formats', () => {
  let kube: KubeTestServer;
  const SPC = '/apis/secrets-store.csi.x-k8s.io/v1/namespaces/demo/secretproviderclasses';
  const auth = () => ({ authorization: `Bearer ${kube.bearerToken}` });
  // HTTPS with its own CA, as an API server: requests trust that CA only.
  let agent: Agent;
  const fetch = (url: string, init: Record<string, unknown> = {}) => undiciFetch(url, { ...init, dispatcher: agent } as never);
  before(async () => {
    kube = await KubeTestServer.start({ token: 'sa-token' });
    agent = new Agent({ connect: { ca: kube.caPem } });
  });
  after(async () => {
    await agent.close();
    await kube.stop();
  });

  test('a request without the bearer token is 401 with an Unauthorized Status', async () => {
    const response = await fetch(`${kube.url}${SPC}/x`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  test('get: the object with metadata.resourceVersion; a missing one is a NotFound Status', async () => {
    kube.putSecretProviderClass('demo', 'db', { provider: 'vault', parameters: { roleName: 'app' } });
    const found = (await (await fetch(`${kube.url}${SPC}/db`, { headers: auth() })).json()) as Answer;
    assert.equal(found['apiVersion'], 'secrets-store.csi.x-k8s.io/v1');
    assert.equal(found['kind'], 'SecretProviderClass');
    assert.match(found['metadata'].resourceVersion, /^\d+$/);
    assert.deepEqual(found['spec'], { provider: 'vault', parameters: { roleName: 'app' } });
    const missing = await fetch(`${kube.url}${SPC}/nope`, { headers: auth() });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secretproviderclasses.secrets-store.csi.x-k8s.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'secrets-store.csi.x-k8s.io', kind: 'secretproviderclasses' },
      code: 404,
    });
  });

  test('list: a <Kind>List with the collection resourceVersion; a denied verb is a Forbidden Status naming user, verb and resource', async () => {
    const list = (await (await fetch(`${kube.url}${SPC}`, { headers: auth() })).json()) as Answer;
    assert.equal(list['kind'], 'SecretProviderClassList');
    assert.ok((list.items ?? []).some((item) => item.metadata.name === 'db'));
    assert.match(list['metadata'].resourceVersion, /^\d+$/);
    kube.deny('list', 'secretproviderclasses');
    const denied = await fetch(`${kube.url}${SPC}`, { headers: auth() });
    assert.equal(denied.status, 403);
    const body = (await denied.json()) as Answer;
    assert.equal(body['reason'], 'Forbidden');
    assert.equal(
      body['message'],
      'secretproviderclasses.secrets-store.csi.x-k8s.io is forbidden: User "system:serviceaccount:kube-system:credmount" cannot list resource "secretproviderclasses" in API group "secrets-store.csi.x-k8s.io" in the namespace "demo"',
    );
    kube.allow('list', 'secretproviderclasses');
  });

  test('watch: newline-delimited {type, object} events after the given resourceVersion', async () => {
    const list = (await (await fetch(`${kube.url}${SPC}`, { headers: auth() })).json()) as Answer;
    const controller = new AbortController();
    const response = await fetch(`${kube.url}${SPC}?watch=true&timeoutSeconds=10&resourceVersion=${list['metadata'].resourceVersion}`, { headers: auth(), signal: controller.signal });
    assert.equal(response.status, 200);
    const reader = (response.body as unknown as ReadableStream<Uint8Array>).getReader();
    kube.putSecretProviderClass('demo', 'watched', { provider: 'vault', parameters: {} });
    kube.putSecretProviderClass('demo', 'watched', { provider: 'vault', parameters: { roleName: 'b' } });
    kube.deleteSecretProviderClass('demo', 'watched');
    kube.putSecretProviderClass('other', 'elsewhere', { provider: 'vault' }); // another namespace: not on this watch
    let text = '';
    while (text.split('\n').length < 4) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const events = text.trim().split('\n').map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string; resourceVersion: string } } });
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
    const versions = events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(versions[0]! < versions[1]! && versions[1]! < versions[2]!, 'resourceVersions increase');
  });

  test('events: create (201), JSON patch and merge patch (200), a patch of a missing event is 404', async () => {
    const created = await fetch(`${kube.url}/api/v1/namespaces/demo/events`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'pod-a.1' }, involvedObject: { kind: 'Pod', name: 'pod-a' }, reason: 'X', count: 1 }),
    });
    assert.equal(created.status, 201);
    const patched = await fetch(`${kube.url}/api/v1/namespaces/demo/events/pod-a.1`, {
      method: 'PATCH',
      headers: { ...auth(), 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/count', value: 2 }]),
    });
    assert.equal(patched.status, 200);
    const merged = await fetch(`${kube.url}/api/v1/namespaces/demo/events/pod-a.1`, {
      method: 'PATCH',
      headers: { ...auth(), 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ count: 3 }),
    });
    assert.equal(merged.status, 200);
    assert.equal(kube.events('demo').find((e) => e.metadata.name === 'pod-a.1')?.['count'], 3);
    const missing = await fetch(`${kube.url}/api/v1/namespaces/demo/events/nope`, { method: 'PATCH', headers: { ...auth(), 'content-type': 'application/json-patch+json' }, body: '[]' });
    assert.equal(missing.status, 404);
  });
});

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderChart } from './chart-support.js';

/**
 * secretProviderClassCRD.install=auto against a cluster: `helm template --dry-run=server` runs
 * the chart's `lookup` against a local Kubernetes API server that answers the documented
 * discovery and GET formats (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 * /version, /api, /apis, /apis/<group>/<version> resource lists, Status objects for 404.
 */

const CRD_NAME = 'secretproviderclasses.secrets-store.csi.x-k8s.io';
const CRD_PATH = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`;

const RESOURCES: Record<string, { name: string; kind: string; namespaced: boolean }[]> = {
  '/api/v1': [
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
  ],
  '/apis/apps/v1': [{ name: 'daemonsets', kind: 'DaemonSet', namespaced: true }],
  '/apis/rbac.authorization.k8s.io/v1': [
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  ],
  '/apis/storage.k8s.io/v1': [{ name: 'csidrivers', kind: 'CSIDriver', namespaced: false }],
  '/apis/apiextensions.k8s.io/v1': [{ name: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false }],
};

class FakeApiServer {
  /** The CRD the cluster has, if any. */
  crd: Record<string, unknown> | undefined;
  readonly requests: string[] = [];
  private readonly server = createServer((request, response) => this.handle(request, response));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    this.requests.push(`${request.method} ${path}`);
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const notFound = (): void => json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${path} not found`, reason: 'NotFound', code: 404 });
    if (request.method !== 'GET') return json(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    if (path === '/version') return json(200, { major: '1', minor: '31', gitVersion: 'v1.31.4', platform: 'linux/amd64' });
    if (path === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/apis') {
      const groups = Object.keys(RESOURCES)
        .filter((p) => p.startsWith('/apis/'))
        .map((p) => {
          const [, , group, version] = p.split('/');
          const gv = { groupVersion: `${group}/${version}`, version };
          return { name: group, versions: [gv], preferredVersion: gv };
        });
      return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const resources = RESOURCES[path];
    if (resources !== undefined) {
      return json(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: path === '/api/v1' ? 'v1' : path.slice('/apis/'.length),
        resources: resources.map((r) => ({ name: r.name, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
      });
    }
    if (path === CRD_PATH && this.crd !== undefined) return json(200, this.crd);
    // Helm's release storage (Secrets in the namespace): none.
    if (/^\/api\/v1\/namespaces\/[^/]+\/secrets$/.test(path)) return json(200, { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });
    return notFound();
  }
}

function crdOwnedBy(release: string | undefined, namespace = 'credmount'): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      uid: '6f1c1f3e-0000-4000-8000-000000000001',
      resourceVersion: '42',
      labels: release === undefined ? { 'app.kubernetes.io/name': 'secrets-store-csi-driver' } : { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: release === undefined ? {} : { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace },
    },
    spec: { group: 'secrets-store.csi.x-k8s.io', scope: 'Namespaced', names: { kind: 'SecretProviderClass', plural: 'secretproviderclasses' }, versions: [] },
  };
}

describe('the SecretProviderClass CRD is installed only when the cluster lacks it', () => {
  const api = new FakeApiServer();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    const url = await api.start();
    dir = await mkdtemp(join(tmpdir(), 'credmount-helm-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      ['apiVersion: v1', 'kind: Config', 'clusters: [{name: fake, cluster: {server: "' + url + '"}}]', 'users: [{name: fake, user: {token: not-a-secret}}]', 'contexts: [{name: fake, context: {cluster: fake, user: fake}}]', 'current-context: fake', ''].join('\n'),
      { mode: 0o600 },
    );
    // Helm keeps its cache and config under these; keep them out of the user's home.
    env = { ...process.env, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  const renderAgainstCluster = async (set: string[] = []): Promise<string[]> => {
    api.requests.length = 0;
    const objects = await renderChart({ set, extraArgs: ['--dry-run=server', '--disable-openapi-validation'], env });
    return objects.map((o) => o.kind);
  };

  it('auto, CRD absent: renders it (after looking it up)', async () => {
    api.crd = undefined;
    assert.ok((await renderAgainstCluster()).includes('CustomResourceDefinition'));
    assert.ok(api.requests.includes(`GET ${CRD_PATH}`), 'the chart looked the CRD up in the cluster');
  });

  it('auto, CRD installed by someone else (the Secrets Store CSI driver): leaves it alone', async () => {
    api.crd = crdOwnedBy(undefined);
    const kinds = await renderAgainstCluster();
    assert.ok(!kinds.includes('CustomResourceDefinition'));
    assert.ok(kinds.includes('CSIDriver') && kinds.includes('DaemonSet'), 'everything else is still rendered');
  });

  it('auto, CRD installed by another Helm release: leaves it alone', async () => {
    api.crd = crdOwnedBy('csi-secrets-store', 'kube-system');
    assert.ok(!(await renderAgainstCluster()).includes('CustomResourceDefinition'));
  });

  it('auto, CRD installed by this release: keeps rendering it, so an upgrade does not delete it', async () => {
    api.crd = crdOwnedBy('credmount');
    assert.ok((await renderAgainstCluster()).includes('CustomResourceDefinition'));
  });

  it('false never renders it; true renders it even when present', async () => {
    api.crd = undefined;
    assert.ok(!(await renderAgainstCluster(['secretProviderClassCRD.install=false'])).includes('CustomResourceDefinition'));
    api.crd = crdOwnedBy(undefined);
    assert.ok((await renderAgainstCluster(['secretProviderClassCRD.install=true'])).includes('CustomResourceDefinition'));
  });
});

/**
 * The one Kubernetes API call the GCP provider makes when annotations are enabled:
 * `GET /api/v1/namespaces/{namespace}/serviceaccounts/{name}` (core/v1 ServiceAccount), with the
 * driver's bearer token, answering 401 without it, 403 when the token lacks `get serviceaccounts`,
 * 404 (a `Status` object) for an unknown account.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class KubernetesApiStub {
  readonly url: string;
  readonly requests: string[] = [];
  private readonly accounts = new Map<string, Record<string, string>>();

  private constructor(
    private readonly server: Server,
    private readonly driverToken: string,
    public allowed = true,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(driverToken: string): Promise<KubernetesApiStub> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const stub = new KubernetesApiStub(server, driverToken);
    server.on('request', (req, res) => {
      const path = new URL(req.url ?? '/', stub.url).pathname;
      stub.requests.push(path);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
      if (req.headers['authorization'] !== `Bearer ${stub.driverToken}`) return status(401, 'Unauthorized', 'Unauthorized');
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(path);
      if (req.method !== 'GET' || match === null) return status(404, 'NotFound', 'the server could not find the requested resource');
      const [, namespace, name] = match as unknown as [string, string, string];
      if (!stub.allowed) return status(403, 'Forbidden', `serviceaccounts "${name}" is forbidden: User "system:serviceaccount:kube-system:credmount" cannot get resource "serviceaccounts" in API group "" in the namespace "${namespace}"`);
      const annotations = stub.accounts.get(`${namespace}/${name}`);
      if (annotations === undefined) return status(404, 'NotFound', `serviceaccounts "${name}" not found`);
      return send(200, { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name, namespace, uid: '00000000-0000-0000-0000-000000000001', annotations } });
    });
    return stub;
  }

  setServiceAccount(namespace: string, name: string, annotations: Record<string, string>): void {
    this.accounts.set(`${namespace}/${name}`, annotations);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

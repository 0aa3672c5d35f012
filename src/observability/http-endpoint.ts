import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpEndpointOptions {
  /** `host:port`, `:port` or a port; port 0 picks a free one (tests). */
  readonly address: string;
  readonly registry: Registry;
  readonly isReady: () => boolean;
}

/** `/metrics` for Prometheus, `/healthz` (the process serves) and `/readyz` (it can publish). */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const { host, port } = parseAddress(options.address);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => response.writeHead(500).end('metrics unavailable\n'),
      );
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const ready = options.isReady();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(address.trim());
  if (match === null) throw new Error(`metrics address must be host:port, :port or port, got ${JSON.stringify(address)}`);
  const host = match[1] === undefined || match[1] === '' ? '0.0.0.0' : match[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(match[2]) };
}

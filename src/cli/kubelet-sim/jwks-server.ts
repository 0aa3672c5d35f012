/**
 * Publishes the simulator's token-signing key the way kube-apiserver does (pkg/routes/
 * openidmetadata.go): `GET /openid/v1/jwks` and `GET /.well-known/openid-configuration`, so
 * local fake backends (Vault JWT auth, STS...) verify pod tokens exactly as the real ones would.
 * Loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonWebKeySet } from './token-issuer.js';

export const JWKS_PATH = '/openid/v1/jwks';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
const HOST = '127.0.0.1';

/** Read on every request, so the server can be started before or after the issuer exists. */
export interface JwksSource {
  readonly issuer: string;
  jwks(): JsonWebKeySet;
}

export interface JwksServerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface RunningJwksServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly jwksUri: string;
  readonly discoveryUrl: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startJwksServer(source: JwksSource, options: JwksServerOptions = {}): Promise<RunningJwksServer> {
  let url = '';
  const server = createServer((request, response) => handle(source, () => url, request, response));
  // Keep-alive sockets must not hold stop() open.
  server.keepAliveTimeout = 1000;
  await listen(server, options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  url = `http://${HOST}:${port}`;
  return {
    url,
    jwksUri: `${url}${JWKS_PATH}`,
    discoveryUrl: `${url}${DISCOVERY_PATH}`,
    port,
    stop: () => close(server),
  };
}

function handle(source: JwksSource, baseUrl: () => string, request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path !== JWKS_PATH && path !== DISCOVERY_PATH) return send(response, 404, 'application/json', { error: 'not found' });
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return send(response, 405, 'application/json', { error: 'method not allowed' });
  }
  if (path === JWKS_PATH) return send(response, 200, 'application/jwk-set+json', source.jwks(), request.method === 'HEAD');
  // The API server's discovery document. `jwks_uri` points here rather than at the issuer URL,
  // which in the simulator is a name (kubernetes.default.svc) that does not resolve.
  const discovery = {
    issuer: source.issuer,
    jwks_uri: `${baseUrl()}${JWKS_PATH}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
  return send(response, 200, 'application/json', discovery, request.method === 'HEAD');
}

function send(response: ServerResponse, status: number, contentType: string, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    // Same caching as kube-apiserver.
    ...(status === 200 ? { 'Cache-Control': 'public, max-age=3600' } : {}),
  });
  response.end(headOnly ? undefined : text);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    server.closeAllConnections();
  });
}

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeApi, KubeApiError } from '../../../src/kube/kube-api.js';
import { closedWithin } from '../../support/request-closed.js';

/**
 * An API server that takes every request and never answers (a hung apiserver, or a network path
 * that swallows the answer): the driver must stop waiting at its request timeout *and* abort the
 * request, so that calls made during an outage do not pile up open connections.
 */
describe('KubeApi: a call past its request timeout', () => {
  let dir: string;
  let server: Server;
  const requests: IncomingMessage[] = [];
  let api: KubeApi;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credmount-kube-timeout-'));
    server = createServer((request) => {
      requests.push(request); // and no answer
    });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    const { port } = server.address() as AddressInfo;
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: hung',
        '  cluster:',
        `    server: http://127.0.0.1:${port}`,
        '    insecure-skip-tls-verify: true', // client-node refuses plain HTTP otherwise
        'users:',
        '- name: driver',
        '  user:',
        '    token: not-a-real-token',
        'contexts:',
        '- name: hung',
        '  context: { cluster: hung, user: driver }',
        'current-context: hung',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    api = new KubeApi({ kubeconfig, requestTimeoutMs: 300 });
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    await rm(dir, { recursive: true, force: true });
  });

  for (const [operation, call] of [
    ['get secretproviderclass', () => api.getSecretProviderClass('demo', 'app')],
    ['get serviceaccount', () => api.getServiceAccount('demo', 'app')],
    ['create event', () => api.createEvent('demo', { metadata: { name: 'e' } })],
    ['patch event', () => api.patchEvent('demo', 'e', [{ op: 'replace', path: '/count', value: 2 }])],
  ] as const) {
    test(`${operation}: fails "no answer in time" and its request is aborted, not left open`, async () => {
      const before = requests.length;
      const started = Date.now();
      const error = await call().then(
        () => assert.fail('the call succeeded'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof KubeApiError, String(error));
      assert.equal(error.failure.status, 0);
      assert.equal(error.failure.message, 'no answer in time');
      assert.ok(Date.now() - started < 5_000, 'the timeout bounded the wait');
      assert.equal(requests.length, before + 1, 'the request reached the server');
      const request = requests.at(-1) as IncomingMessage;
      assert.equal(await closedWithin(request, 2_000), true, 'the server saw the request go away');
    });
  }
});

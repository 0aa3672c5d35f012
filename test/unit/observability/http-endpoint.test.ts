import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHttpEndpoint } from '../../../src/observability/http-endpoint.js';
import { DriverMetrics } from '../../../src/observability/metrics.js';

describe('startHttpEndpoint', () => {
  const metrics = new DriverMetrics();
  let ready = false;
  let endpoint: { url: string; close: () => Promise<void> };

  before(async () => {
    metrics.operations.inc({ operation: 'NodePublishVolume', provider: 'embedded', result: 'mounted' });
    endpoint = await startHttpEndpoint({ address: '127.0.0.1:0', registry: metrics.registry, isReady: () => ready });
  });

  after(async () => {
    await endpoint.close();
  });

  test('reports its URL with the port it bound', () => {
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(endpoint.url, 'http://127.0.0.1:0');
  });

  test('/metrics serves the registry in the Prometheus text format', async () => {
    const response = await fetch(`${endpoint.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), metrics.registry.contentType);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const body = await response.text();
    assert.match(body, /^# HELP credmount_operations_total /m);
    assert.match(body, /^# TYPE credmount_operations_total counter$/m);
    assert.match(body, /^credmount_operations_total\{operation="NodePublishVolume",provider="embedded",result="mounted"\} 1$/m);
    assert.match(body, /^credmount_volumes 0$/m);
  });

  test('/metrics ignores a query string', async () => {
    const response = await fetch(`${endpoint.url}/metrics?name[]=credmount_volumes`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /credmount_operations_total/);
  });

  test('/healthz is 200', async () => {
    const response = await fetch(`${endpoint.url}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'ok\n');
  });

  test('/readyz is 503 until isReady() says so, then 200', async () => {
    ready = false;
    const before = await fetch(`${endpoint.url}/readyz`);
    assert.equal(before.status, 503);
    assert.equal(await before.text(), 'not ready\n');
    ready = true;
    const afterReady = await fetch(`${endpoint.url}/readyz`);
    assert.equal(afterReady.status, 200);
    assert.equal(await afterReady.text(), 'ready\n');
    ready = false;
    const again = await fetch(`${endpoint.url}/readyz`);
    assert.equal(again.status, 503);
    await again.text();
  });

  for (const path of ['/', '/metricsx', '/healthz/', '/debug/pprof']) {
    test(`GET ${path} is 404`, async () => {
      const response = await fetch(`${endpoint.url}${path}`);
      assert.equal(response.status, 404);
      await response.text();
    });
  }

  for (const [method, path] of [
    ['POST', '/metrics'],
    ['POST', '/readyz'],
    ['PUT', '/healthz'],
    ['DELETE', '/nope'],
  ] as const) {
    test(`${method} ${path} is 405`, async () => {
      const response = await fetch(`${endpoint.url}${path}`, { method, body: method === 'DELETE' ? undefined : 'x' });
      assert.equal(response.status, 405);
      await response.text();
    });
  }
});

describe('startHttpEndpoint addresses', () => {
  const registry = new DriverMetrics().registry;

  for (const address of ['localhost', 'localhost:', ':abc', '127.0.0.1:port', '', '9810x', '127.0.0.1:-1']) {
    test(`refuses ${JSON.stringify(address)}`, async () => {
      await assert.rejects(startHttpEndpoint({ address, registry, isReady: () => true }), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /metrics address/);
        assert.ok(error.message.includes(JSON.stringify(address)), 'the message quotes the address');
        return true;
      });
    });
  }

  test('refuses a port out of range', async () => {
    await assert.rejects(startHttpEndpoint({ address: '127.0.0.1:70000', registry, isReady: () => true }), RangeError);
  });

  test('a URL instead of host:port fails (at listen, with a resolver error)', async () => {
    await assert.rejects(startHttpEndpoint({ address: 'http://127.0.0.1:9810', registry, isReady: () => true }), (error: unknown) => {
      assert.ok(error instanceof Error);
      return true;
    });
  });

  test('accepts a bare port and :port (all interfaces)', async () => {
    for (const address of ['0', ':0']) {
      const endpoint = await startHttpEndpoint({ address, registry, isReady: () => true });
      try {
        assert.match(endpoint.url, /^http:\/\/0\.0\.0\.0:\d+$/);
        const port = new URL(endpoint.url).port;
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(response.status, 200);
        await response.text();
      } finally {
        await endpoint.close();
      }
    }
  });

  test('accepts a bracketed IPv6 host and brackets it in the URL', async (t) => {
    let endpoint;
    try {
      endpoint = await startHttpEndpoint({ address: '[::1]:0', registry, isReady: () => true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' || (error as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') {
        t.skip('no IPv6 loopback here');
        return;
      }
      throw error;
    }
    try {
      assert.match(endpoint.url, /^http:\/\/\[::1\]:\d+$/);
    } finally {
      await endpoint.close();
    }
  });
});

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { Agent, fetch } from 'undici';
import { VaultTestServer } from '../../support/vault-server/index.js';

describe('Vault test server: HTTPS', () => {
  let vault: VaultTestServer | undefined;
  const agents: Agent[] = [];
  const agent = (connect: ConnectionOptions): Agent => {
    const created = new Agent({ connect });
    agents.push(created);
    return created;
  };
  const health = async (server: VaultTestServer, dispatcher: Agent, url = server.url): Promise<number> => (await fetch(`${url}/v1/sys/health`, { dispatcher })).status;

  afterEach(async () => {
    await vault?.stop();
    await Promise.all(agents.splice(0).map((a) => a.close()));
  });

  it('serves HTTPS with a certificate from the CA it returns', async () => {
    vault = await VaultTestServer.start({ tls: { dnsNames: ['vault.test'] } });
    assert.match(vault.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(vault.caPem !== undefined);
    assert.equal(await health(vault, agent({ ca: vault.caPem })), 200);
    // The certificate names localhost and the extra DNS name too (servername checks).
    assert.equal(await health(vault, agent({ ca: vault.caPem, servername: 'vault.test' })), 200);
    await assert.rejects(health(vault, agent({ ca: vault.caPem, servername: 'other.test' })));
    // Without the CA the certificate is not trusted.
    await assert.rejects(health(vault, agent({})));
    assert.equal(await health(vault, agent({ rejectUnauthorized: false })), 200);
  });

  it('requires a client certificate when asked, and accepts the one it returns', async () => {
    vault = await VaultTestServer.start({ tls: { requireClientCert: true } });
    const { caPem, clientCertPem, clientKeyPem, clientCaPem } = vault;
    assert.ok(caPem !== undefined && clientCertPem !== undefined && clientKeyPem !== undefined && clientCaPem !== undefined);
    assert.ok(new X509Certificate(clientCertPem).checkIssued(new X509Certificate(clientCaPem)));
    assert.equal(await health(vault, agent({ ca: caPem, cert: clientCertPem, key: clientKeyPem })), 200);
    await assert.rejects(health(vault, agent({ ca: caPem })));
  });
});

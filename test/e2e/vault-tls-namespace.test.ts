import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VaultWorld } from '../support/vault-world.js';

const OBJECTS = '- objectName: k\n  secretPath: secret/data/app/tls\n  secretKey: k\n';

describe('Vault over TLS with a client certificate, all from the volume parameters', () => {
  let world: VaultWorld;
  let files: { ca: string; cert: string; key: string };
  before(async () => {
    world = await VaultWorld.start({ vault: { tls: { requireClientCert: true } }, driverArgs: ['--vault-tls-dirs', '/tmp', '--vault-allow-skip-tls-verify', 'true'] });
    world.vault.writeKv2('secret', 'app/tls', { k: 'over-tls' });
    files = { ca: join(world.workdir, 'vault-ca.pem'), cert: join(world.workdir, 'client.pem'), key: join(world.workdir, 'client-key.pem') };
    await writeFile(files.ca, world.vault.caPem ?? '');
    await writeFile(files.cert, world.vault.clientCertPem ?? '');
    await writeFile(files.key, world.vault.clientKeyPem ?? '');
  });
  after(async () => {
    await world.stop();
  });

  test('vaultCACertPath + client certificate: mounts', async () => {
    assert.match(world.vault.url, /^https:/);
    const pod = world.pod(OBJECTS, { parameters: { vaultCACertPath: files.ca, vaultTLSClientCertPath: files.cert, vaultTLSClientKeyPath: files.key } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal(await readFile(join(event.targetPath, 'k'), 'utf8'), 'over-tls');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('without the CA the server is not trusted: UNAVAILABLE naming Vault, nothing mounted', async () => {
    const pod = world.pod(OBJECTS, { parameters: { vaultTLSClientCertPath: files.cert, vaultTLSClientKeyPath: files.key } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'UNAVAILABLE');
    assert.match(event.message ?? '', /Vault at https:\/\/127\.0\.0\.1:\d+ is unavailable/);
  });

  test('vaultSkipTLSVerify: "true" trusts any server certificate (the client certificate is still needed)', async () => {
    const pod = world.pod(OBJECTS, { parameters: { vaultSkipTLSVerify: 'true', vaultTLSClientCertPath: files.cert, vaultTLSClientKeyPath: files.key } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('TLS files outside --vault-tls-dirs are refused before anything is read', async () => {
    for (const path of ['/etc/kubernetes/pki/ca.key', '/var/lib/kubelet/pki/kubelet-client-current.pem', '/dev/zero']) {
      const pod = world.pod(OBJECTS, { parameters: { vaultCACertPath: path } });
      const event = await world.simulator.publish(pod);
      assert.equal(event.code, 'INVALID_ARGUMENT', event.message);
      assert.match(event.message ?? '', /vaultCACertPath: must be inside a directory the driver allows/);
    }
  });

  test('a symlink inside an allowed directory that leads out of it is refused', async () => {
    const { symlink } = await import('node:fs/promises');
    const link = join(world.workdir, 'sneaky.pem');
    await symlink('/etc/hostname', link);
    const event = await world.simulator.publish(world.pod(OBJECTS, { parameters: { vaultCACertPath: link } }));
    assert.equal(event.ok, false);
    assert.match(event.message ?? '', /leads outside the directories allowed/);
  });

  test('a CA file that does not exist is a clear error', async () => {
    const pod = world.pod(OBJECTS, { parameters: { vaultCACertPath: join(world.workdir, 'missing.pem') } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, false);
    assert.match(event.message ?? '', /TLS files could not be read/);
  });
});

describe('Vault Enterprise namespace', () => {
  let world: VaultWorld;
  before(async () => {
    world = await VaultWorld.start({ vault: { namespace: 'acceptance' } });
    world.vault.writeKv2('secret', 'app/ns', { greeting: 'hello-namespaces' });
  });
  after(async () => {
    await world.stop();
  });

  test('vaultNamespace is sent on login and reads', async () => {
    const pod = world.pod('- objectName: g\n  secretPath: secret/data/app/ns\n  secretKey: greeting\n', { parameters: { vaultNamespace: 'acceptance' } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal(await readFile(join(event.targetPath, 'g'), 'utf8'), 'hello-namespaces');
    assert.ok(world.vault.requests.length >= 2);
    assert.ok(world.vault.requests.every((r) => r.namespace === 'acceptance'));
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('without it the namespace is not reached', async () => {
    const pod = world.pod('- objectName: g\n  secretPath: secret/data/app/ns\n  secretKey: greeting\n');
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'PERMISSION_DENIED');
  });
});

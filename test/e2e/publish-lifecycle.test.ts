import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2eWorld, withFreePort } from '../support/e2e-world.js';
import { exists } from '../support/fs-probes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two secrets and a 6-second certificate: refresh every 2 s for secrets, ~4 s for the certificate. */
function objects(namespace: string): string {
  return [
    '- objectName: db-password',
    `  secretPath: ${namespace}/db-password`,
    '- objectName: api-key',
    `  secretPath: ${namespace}/api-key`,
    '- objectName: tls',
    '  certificate:',
    '    commonName: "${POD_NAME}"',
    '    dnsNames: ["${POD_NAME}.${POD_NAMESPACE}.svc"]',
    '    ttl: 6s',
    '',
  ].join('\n');
}

for (const tokensInSecrets of [false, true]) {
  describe(`end to end through the kubelet simulator, tokens in ${tokensInSecrets ? 'secrets (1.35+)' : 'volume_context'}`, () => {
    let world: E2eWorld;
    let port: number;
    before(async () => {
      world = await withFreePort(async (free) => {
        port = free;
        return E2eWorld.start({ tokensInSecrets, driverArgs: ['--metrics-address', `127.0.0.1:${port}`, '--embedded-refresh-interval', '2s'] });
      });
    });
    after(async () => {
      await world.stop();
    });

    test('publish, fresh republish without backend I/O, refresh when due, certificate rotation, unpublish', async () => {
      const pod = world.pod(objects(world.store.namespace), { fsGroup: 2000 });
      const published = await world.simulator.publish(pod);
      assert.equal(published.ok, true, published.message);
      const target = published.targetPath;
      const secretPath = join(world.store.storeDir, 'secrets', world.store.secretPaths[0] as string);
      assert.equal(await readFile(join(target, 'db-password'), 'utf8'), await readFile(secretPath, 'utf8'));
      const firstCert = new X509Certificate(await readFile(join(target, 'tls.crt')));
      assert.match(firstCert.subject, new RegExp(`CN=${pod.name}`));
      assert.ok(firstCert.checkIssued(new X509Certificate(await readFile(join(target, 'ca.crt')))));
      // fsGroup: the files are group-owned by the pod's fsGroup.
      assert.equal((await stat(join(target, '..data', 'db-password'))).gid, 2000);
      const fetchesAfterPublish = await world.metric('credmount_backend_fetches_total', 'provider="embedded",result="ok"');
      assert.equal(fetchesAfterPublish, 1);

      // Fresh: several republishes within the refresh interval make no backend request.
      for (let i = 0; i < 5; i++) {
        const again = await world.simulator.publish(pod);
        assert.equal(again.ok, true);
      }
      assert.equal(await world.metric('credmount_backend_fetches_total', 'provider="embedded",result="ok"'), fetchesAfterPublish);
      assert.equal(await world.metric('credmount_operations_total', 'operation="NodePublishVolume",provider="embedded",result="fresh"'), 5);

      // Due: a changed secret appears after the refresh interval, and only then.
      await writeFile(secretPath, 'rotated-value\n');
      await world.simulator.publish(pod);
      assert.notEqual(await readFile(join(target, 'db-password'), 'utf8'), 'rotated-value\n', 'not before the refresh is due');
      await sleep(2_100);
      assert.equal((await world.simulator.publish(pod)).ok, true);
      assert.equal(await readFile(join(target, 'db-password'), 'utf8'), 'rotated-value\n');

      // Certificate rotation: after 2/3 of its 6 s lifetime a new certificate and key are in place, and they match.
      await sleep(2_500);
      assert.equal((await world.simulator.publish(pod)).ok, true);
      const secondCert = new X509Certificate(await readFile(join(target, 'tls.crt')));
      assert.notEqual(secondCert.serialNumber, firstCert.serialNumber);
      const { createPrivateKey } = await import('node:crypto');
      assert.ok(secondCert.checkPrivateKey(createPrivateKey(await readFile(join(target, 'tls.key')))), 'key matches certificate');

      // Unpublish removes the target; a second unpublish is still OK.
      assert.equal((await world.simulator.unpublish(pod)).ok, true);
      assert.equal(await exists(target), false);
      const again = await world.simulator.client.nodeCall('NodeUnpublishVolume', { volume_id: published.volumeId, target_path: target });
      assert.deepEqual(again, {});
    });

    test('stats, capabilities and plugin info answer as a kubelet expects', async () => {
      const client = world.simulator.client;
      const info = await client.identityCall<{ name: string; vendor_version: string }>('GetPluginInfo');
      assert.equal(info.name, 'csi.credmount.dev');
      const caps = await client.nodeCall<{ capabilities: { rpc: { type: string } }[] }>('NodeGetCapabilities');
      assert.deepEqual(caps.capabilities.map((c) => c.rpc.type).sort(), ['GET_VOLUME_STATS', 'VOLUME_MOUNT_GROUP']);
      const nodeInfo = await client.nodeCall<{ node_id: string }>('NodeGetInfo');
      assert.equal(nodeInfo.node_id, 'e2e-node');

      const pod = world.pod(objects(world.store.namespace));
      const published = await world.simulator.publish(pod);
      assert.equal(published.ok, true, published.message);
      const stats = await client.nodeCall<{ usage: { unit: string; total: string; used: string }[] }>('NodeGetVolumeStats', {
        volume_id: published.volumeId,
        volume_path: published.targetPath,
      });
      const bytes = stats.usage.find((u) => u.unit === 'BYTES');
      assert.ok(bytes !== undefined && Number(bytes.total) > 0 && Number(bytes.used) >= 0);
      // The simulator's own call (kubelet's periodic one) asks about the same volume and path.
      const asked = await world.simulator.volumeStats(pod);
      assert.deepEqual([asked.kind, asked.ok, asked.volumeId, asked.targetPath], ['stats', true, published.volumeId, published.targetPath]);
      await assert.rejects(client.nodeCall('NodeStageVolume', { volume_id: 'x' }), { codeName: 'UNIMPLEMENTED' });
      assert.equal((await world.simulator.unpublish(pod)).ok, true);
      const gone = await world.simulator.volumeStats(pod);
      assert.deepEqual([gone.ok, gone.code], [false, 'NOT_FOUND']);
    });
  });
}

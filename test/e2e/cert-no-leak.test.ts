import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { readTree } from '../support/fs-probes.js';
import { CertWorld } from '../support/kube-api-server/cert-world.js';

/**
 * Certificates with canaries: every private key the driver wrote (its PEM body and its PKCS#8
 * DER in base64), the PKCS#12 password, and every pod token — through issuance by cert-manager,
 * Vault PKI and the dev CA, a denial, a refusal for lack of RBAC, a bad attribute, an outage
 * past expiry and renewals by the background timer, with the driver at debug level. None may
 * reach the driver's log, the errors kubelet got, the state directory or the metrics; and the
 * Kubernetes and Vault servers never received a private key.
 */
describe('certificates: no private key, password or token in logs, errors, state or metrics — and keys never leave the node', () => {
  let world: CertWorld;
  const logFile = join(tmpdir(), `credmount-cert-leak-${randomUUID()}.log`);
  const password = `CANARY-P12-${randomUUID()}`;
  before(async () => {
    world = await CertWorld.start({ logFile });
    await world.kube.addIssuer('demo/ca');
    await world.kube.addIssuer('demo/no', 'deny');
    world.kube.grant('demo', 'app');
    await world.vault.addPkiRole('web', { allowAnyName: true });
    world.vault.addPolicy('pki-web', ['pki/sign/web']);
    world.vault.addKubernetesRole('kubernetes', 'web', { boundServiceAccountNames: ['app'], boundServiceAccountNamespaces: ['demo'], audience: 'vault', policies: ['pki-web'], tokenTtlSeconds: 3600 });
  });
  after(async () => {
    await world.stop();
  });

  test('drive every path, then search', async () => {
    const canaries: string[] = [password];
    const errors: string[] = [];
    const remember = async (pod: SimulatedPod) => {
      const request = await world.simulator.buildPublishRequest(pod);
      for (const entry of Object.values(JSON.parse(request.volume_context['csi.storage.k8s.io/serviceAccount.tokens'] ?? '{}') as Record<string, { token: string }>)) canaries.push(entry.token);
    };
    const keysOf = async (target: string, name = 'tls.key') => {
      const pem = await readFile(join(target, name), 'utf8');
      const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      canaries.push(body, body.slice(8, 72));
    };
    const cm = world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'leak', 'csi.cert-manager.io/duration': '2m', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/pkcs12-enable': 'true', 'csi.cert-manager.io/pkcs12-password': password });
    const vault = world.pod({ 'csi.cert-manager.io/issuer-name': 'web', 'csi.cert-manager.io/issuer-kind': 'VaultPKI', 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/common-name': 'leak', 'csi.cert-manager.io/duration': '5m' });
    const dev = world.pod({ 'csi.cert-manager.io/issuer-name': 'd', 'csi.cert-manager.io/issuer-kind': 'DevCA', 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/common-name': 'leak', 'csi.cert-manager.io/duration': '2m', 'csi.cert-manager.io/key-algorithm': 'Ed25519' });
    for (const pod of [cm, vault, dev]) {
      await remember(pod);
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, true, event.message);
      await keysOf(event.targetPath);
    }
    // refusals: denied, no RBAC, a bad attribute with the password in it
    for (const pod of [
      world.pod({ ...cm.attributes, 'csi.cert-manager.io/issuer-name': 'no' }),
      world.pod(cm.attributes, { serviceAccountName: 'no-rbac' }),
      world.pod({ ...cm.attributes, 'csi.cert-manager.io/pkcs12-filename': '../x' }),
    ]) {
      await remember(pod);
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, false);
      errors.push(event.message ?? '');
    }
    // renewals by the timer and by republish, then an outage past expiry
    for (let i = 0; i < 12; i++) {
      world.clock.advance(30_000);
      await world.renew();
      for (const pod of [cm, vault, dev]) {
        const event = await world.simulator.publish(pod);
        if (!event.ok) errors.push(event.message ?? '');
        await keysOf(event.targetPath);
      }
    }
    world.kube.setFault({ kind: 'unavailable' });
    for (let i = 0; i < 8; i++) {
      world.clock.advance(30_000);
      await world.renew();
      const event = await world.simulator.publish(cm);
      if (!event.ok) errors.push(event.message ?? '');
    }
    world.kube.setFault(undefined);
    await world.driver.volumes.settle(); // records are written just after each answer
    const state = await readTree(join(world.workdir, 'state'));
    const metrics = await world.driver.metrics.registry.metrics();
    const log = await readFile(logFile, 'utf8');
    assert.match(log, /refresh failed/, 'the log covers the failure paths');
    assert.match(log, /EXPIRED/, 'and the expiry');
    assert.ok(errors.some((e) => /expired credentials/.test(e)), 'kubelet was told about the expiry');
    assert.ok(state.length > 0, 'metadata was there to search');
    for (const [where, text] of [
      ['log', log],
      ['errors sent to kubelet', errors.join('\n')],
      ['state directory', state],
      ['metrics', metrics],
    ] as const) {
      for (const canary of canaries.filter((c) => c.length > 8)) assert.ok(!text.includes(canary), `a canary (${canary.slice(0, 12)}…) leaked into the ${where}`);
      assert.doesNotMatch(text, /PRIVATE KEY/, `a private key leaked into the ${where}`);
    }
    // the private keys never left the node: the signers saw CSRs only
    const sent = JSON.stringify([...world.kube.history.values()]);
    assert.ok(!sent.includes('PRIVATE KEY') && !Buffer.from(sent).toString('base64').includes('PRIVATE'));
    for (const canary of canaries.filter((c) => c.length > 60)) assert.ok(!sent.includes(canary));
    for (const record of [...world.kube.history.values()]) assert.ok(!Buffer.from(record.spec.request, 'base64').toString().includes('PRIVATE KEY'));
    for (const pod of [cm, vault, dev]) assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

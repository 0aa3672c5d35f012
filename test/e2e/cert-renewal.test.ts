import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CertWorld, readPair } from '../support/kube-api-server/cert-world.js';

describe('background renewal: without kubelet, with the tokens kubelet last gave', () => {
  let world: CertWorld;
  let logFile: string;
  before(async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    logFile = join(await mkdtemp(join(tmpdir(), 'credmount-cert-log-')), 'driver.log');
    // kubelet's tokens live 10 minutes here
    world = await CertWorld.start({ tokenTtlSeconds: 600, logFile });
    await world.kube.addIssuer('demo/ca');
    world.kube.grant('demo', 'app');
  });
  after(async () => {
    await world.stop();
  });

  test('renews on time while the tokens are valid; once they expired it waits, says so once, and renews on the next republish', async () => {
    const pod = world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'bg', 'csi.cert-manager.io/duration': '6m', 'csi.cert-manager.io/key-algorithm': 'ECDSA' });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const first = await readPair(published.targetPath);

    // 1. no republish at all: the timer renews at 2/3 (4 min) with the 10-minute token
    world.clock.advance(3 * 60_000 + 50_000);
    assert.equal((await world.renew()).size, 0, 'not due yet');
    world.clock.advance(15_000);
    assert.deepEqual([...(await world.renew()).values()], ['refreshed']);
    const second = await readPair(published.targetPath);
    assert.notEqual(second.certificate.serialNumber, first.certificate.serialNumber);
    assert.ok(second.matches);
    assert.equal([...world.kube.history.values()].at(-1)?.spec.username, 'system:serviceaccount:demo:app');

    // 2. next due at 8 min: the token (minted at 0, 10 min) is still good → renewed again
    world.clock.advance(4 * 60_000);
    assert.deepEqual([...(await world.renew()).values()], ['refreshed']);
    const third = await readPair(published.targetPath);

    // 3. next due at ~12 min: the token expired at 10 min → wait, no request, one warning
    const requests = world.kube.history.size;
    world.clock.advance(4 * 60_000 + 5_000);
    assert.deepEqual([...(await world.renew()).values()], ['tokens-expired']);
    world.clock.advance(5_000);
    assert.deepEqual([...(await world.renew()).values()], ['tokens-expired']);
    assert.equal(world.kube.history.size, requests, 'no request with an expired token');
    assert.equal((await readPair(published.targetPath)).certificate.serialNumber, third.certificate.serialNumber);
    const warnings = (await readFile(logFile, 'utf8')).split('\n').filter((l) => l.includes("the pod's last tokens have expired"));
    assert.equal(warnings.length, 1, 'said once, not on every pass');
    assert.match(await world.driver.metrics.registry.metrics(), /^credmount_background_renewals_total\{provider="certificates",result="tokens-expired"\} 2$/m);

    // 4. kubelet republishes with a new token: renewed right away
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    const fourth = await readPair(published.targetPath);
    assert.notEqual(fourth.certificate.serialNumber, third.certificate.serialNumber);
    assert.ok(fourth.matches && fourth.chainsToCa);
    assert.match(await world.driver.metrics.registry.metrics(), /^credmount_background_renewals_total\{provider="certificates",result="refreshed"\} 2$/m);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('after a driver restart the volume is kept and renewed on the first republish', async () => {
    const pod = world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'restart', 'csi.cert-manager.io/duration': '3m', 'csi.cert-manager.io/key-algorithm': 'ECDSA' });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const before = await readPair(published.targetPath);
    await world.restartDriver();
    world.clock.advance(2 * 60_000 + 5_000);
    // the new process has no tokens for the volume until kubelet calls: the timer leaves it alone
    assert.equal((await world.renew()).size, 0);
    assert.equal((await readPair(published.targetPath)).certificate.serialNumber, before.certificate.serialNumber);
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    const after = await readPair(published.targetPath);
    assert.notEqual(after.certificate.serialNumber, before.certificate.serialNumber);
    assert.ok(after.matches);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

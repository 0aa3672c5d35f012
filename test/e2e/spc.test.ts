import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { exists } from '../support/fs-probes.js';
import { SpcWorld, upstreamSamples, type SampleClass } from '../support/kube-spc-server/spc-world.js';

const KV_REFRESH_MS = 5 * 60_000;
const KUBELET_CADENCE_MS = 60_000;

/**
 * secretProviderClass by reference, end to end: kubelet simulator → CSI socket → driver → local
 * Kubernetes API (the class, read with the driver's own token) → local Vault (the pod's token).
 */
describe('SecretProviderClass by reference, end to end', () => {
  let spc: SpcWorld;
  let samples: SampleClass[];
  before(async () => {
    spc = await SpcWorld.start();
    samples = await upstreamSamples();
    const vault = spc.world.vault;
    vault.addPolicy('database', ['secret/data/db-pass', 'secret/data/db-other']);
    vault.addKubernetesRole('kubernetes', 'database', { boundServiceAccountNames: ['webapp-sa'], boundServiceAccountNamespaces: ['default'], audience: 'vault', policies: ['database'] });
    vault.writeKv2('secret', 'db-pass', { password: 'db-secret-password' });
    vault.writeKv2('secret', 'db-other', { password: 'other-password' });
  });
  after(async () => {
    await spc.stop();
  });

  /** The upstream `vault-database` class (the tutorial's), pointed at the local Vault as an operator would. */
  function applyVaultDatabase(name = 'vault-database', edit: (parameters: Record<string, string>) => Record<string, string> = (p) => p): void {
    const sample = samples.find((s) => s.metadata.name === 'vault-database' && s.spec['secretObjects'] === undefined);
    assert.ok(sample, 'the upstream sample is in the fixtures');
    spc.kube.putSecretProviderClass('default', name, { ...sample.spec, parameters: edit({ ...sample.spec.parameters, vaultAddress: spc.world.vault.url }) });
  }

  function webapp(secretProviderClass: string, extra: Record<string, string> = {}): SimulatedPod {
    return { ...spc.world.pod(''), namespace: 'default', serviceAccountName: 'webapp-sa', attributes: { secretProviderClass, ...extra } };
  }

  test("the upstream vault-database class mounts by reference: one GET with the driver's token, the pod's token at Vault", async () => {
    applyVaultDatabase();
    spc.kube.resetObservations();
    spc.world.vault.resetObservations();
    const pod = webapp('vault-database');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'db-secret-password');
    assert.deepEqual(
      spc.kube.requests.map((r) => `${r.verb} ${r.path} ${r.status}`),
      ['get /apis/secrets-store.csi.x-k8s.io/v1/namespaces/default/secretproviderclasses/vault-database 200'],
    );
    assert.equal(spc.world.vault.counts().login, 1, "Vault saw the pod's login");
    // The call is labelled with the class's provider.
    const metrics = await spc.world.driver.metrics.registry.metrics();
    assert.match(metrics, /credmount_operations_total\{operation="NodePublishVolume",provider="vault",result="mounted"\} 1/);
    assert.match(metrics, /credmount_backend_requests_total\{provider="vault",operation="login",result="ok"\} \d+/);
    assert.match(metrics, /credmount_backend_requests_total\{provider="vault",operation="read",result="ok"\} \d+/);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('a republish naming another class is ALREADY_EXISTS, also after fresh republishes of the first', async () => {
    applyVaultDatabase('first-class');
    applyVaultDatabase('second-class');
    const pod = webapp('first-class');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal((await spc.world.simulator.publish(pod)).ok, true, 'a fresh republish');
    const other = await spc.world.simulator.publish({ ...pod, attributes: { ...pod.attributes, secretProviderClass: 'second-class' } });
    assert.equal(other.ok, false);
    assert.equal(other.code, 'ALREADY_EXISTS', other.message);
    assert.equal((await spc.world.simulator.publish(pod)).ok, true, 'the first class still serves');
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('republishes that find content fresh make no Kubernetes API call; an edited class takes effect at the next refresh', async () => {
    applyVaultDatabase('edited');
    const pod = webapp('edited');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    spc.kube.resetObservations();
    spc.world.vault.resetObservations();
    // 1. The class changes: another secret under another file name.
    applyVaultDatabase('edited', (p) => ({ ...p, objects: '- objectName: "other-password"\n  secretPath: "secret/data/db-other"\n  secretKey: "password"\n' }));
    for (let elapsed = KUBELET_CADENCE_MS; elapsed < KV_REFRESH_MS; elapsed += KUBELET_CADENCE_MS) {
      spc.world.clock.advance(KUBELET_CADENCE_MS);
      const event = await spc.world.simulator.publish(pod);
      assert.equal(event.ok, true, event.message);
      assert.deepEqual((await readdir(published.targetPath)).filter((n) => !n.startsWith('..')), ['db-password'], 'not before the refresh');
    }
    assert.equal(spc.kube.requests.length, 0, 'the fresh path never calls the Kubernetes API');
    assert.equal(spc.world.vault.requests.length, 0, 'nor Vault');
    // 2. Due: the class is read again and its new parameters are used.
    spc.world.clock.advance(KUBELET_CADENCE_MS + 1_000);
    const refreshed = await spc.world.simulator.publish(pod);
    assert.equal(refreshed.ok, true, refreshed.message);
    assert.equal(spc.kube.count({ verb: 'get' }), 1);
    assert.deepEqual((await readdir(published.targetPath)).filter((n) => !n.startsWith('..')), ['other-password']);
    assert.equal(await readFile(join(published.targetPath, 'other-password'), 'utf8'), 'other-password');
    assert.match(await spc.world.driver.metrics.registry.metrics(), /credmount_refreshes_total\{provider="vault",result="refreshed"\} \d+/);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('an edit that keeps the file name and the secret version (another secretPath) is still written at the next refresh', async () => {
    applyVaultDatabase('same-name');
    const pod = webapp('same-name');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'db-secret-password');
    // Same objectName, another KV v2 secret at the same version (1): only the parameters differ.
    applyVaultDatabase('same-name', (p) => ({ ...p, objects: '- objectName: "db-password"\n  secretPath: "secret/data/db-other"\n  secretKey: "password"\n' }));
    spc.world.clock.advance(KV_REFRESH_MS + KUBELET_CADENCE_MS);
    const refreshed = await spc.world.simulator.publish(pod);
    assert.equal(refreshed.ok, true, refreshed.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'other-password', 'the edited class is applied');
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('a missing class: FAILED_PRECONDITION naming it, nothing mounted; once created, the retry mounts', async () => {
    const pod = webapp('not-yet');
    const refused = await spc.world.simulator.publish(pod);
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'FAILED_PRECONDITION');
    assert.match(refused.message ?? '', /SecretProviderClass default\/not-yet does not exist: create it in the pod's namespace/);
    assert.equal(await exists(refused.targetPath), false);
    applyVaultDatabase('not-yet');
    spc.world.clock.advance(10_000); // the "not found" answer is reused for --spc-cache-ttl
    const mounted = await spc.world.simulator.publish(pod);
    assert.equal(mounted.ok, true, mounted.message);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test("RBAC: a driver not allowed to read classes gets PERMISSION_DENIED naming the rule; nothing mounted", async () => {
    applyVaultDatabase('locked');
    spc.kube.deny('get', 'secretproviderclasses');
    try {
      const refused = await spc.world.simulator.publish(webapp('locked'));
      assert.equal(refused.ok, false);
      assert.equal(refused.code, 'PERMISSION_DENIED');
      assert.match(refused.message ?? '', /the driver's service account needs RBAC "get" on "secretproviderclasses" in API group "secrets-store\.csi\.x-k8s\.io"/);
      assert.equal(await exists(refused.targetPath), false);
    } finally {
      spc.kube.allow('get', 'secretproviderclasses');
    }
  });

  test('INVALID_ARGUMENT, nothing mounted: an unknown provider in the class, bad class parameters, inline attributes beside the reference', async () => {
    spc.kube.putSecretProviderClass('default', 'azure-kv', { provider: 'azure', parameters: { keyvaultName: 'kv' } });
    const unknown = await spc.world.simulator.publish(webapp('azure-kv'));
    assert.equal(unknown.code, 'INVALID_ARGUMENT');
    assert.match(unknown.message ?? '', /SecretProviderClass default\/azure-kv: spec\.provider: unknown provider "azure" \(this driver has: vault\)/);
    assert.equal(await exists(unknown.targetPath), false);

    applyVaultDatabase('bad-objects', (p) => ({ ...p, objects: 'objectName: [unclosed' }));
    const bad = await spc.world.simulator.publish(webapp('bad-objects'));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message ?? '', /^SecretProviderClass default\/bad-objects: spec\.parameters\.objects/);
    assert.equal(await exists(bad.targetPath), false);

    spc.kube.resetObservations();
    const mixed = await spc.world.simulator.publish(webapp('vault-database', { roleName: 'admin' }));
    assert.equal(mixed.code, 'INVALID_ARGUMENT');
    assert.match(mixed.message ?? '', /volume_context\.roleName: cannot be combined with secretProviderClass "vault-database"/);
    assert.equal(spc.kube.requests.length, 0, 'refused before any API call');
    const badName = await spc.world.simulator.publish(webapp('Not_A_Name'));
    assert.equal(badName.code, 'INVALID_ARGUMENT');
    assert.match(badName.message ?? '', /volume_context\.secretProviderClass: "Not_A_Name" is not a valid object name/);
  });

  test('a class deleted after the mount: the refresh fails, the content stays (OK), and it comes back when the class does', async () => {
    applyVaultDatabase('short-lived');
    const pod = webapp('short-lived');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    spc.kube.deleteSecretProviderClass('default', 'short-lived');
    spc.world.clock.advance(KV_REFRESH_MS + 1_000);
    const kept = await spc.world.simulator.publish(pod);
    assert.equal(kept.ok, true, kept.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'db-secret-password');
    assert.match(await spc.world.driver.metrics.registry.metrics(), /credmount_refreshes_total\{provider="vault",result="CM_CLASS_NOT_FOUND"\} 1/);
    const failure = (await spc.logLines()).find((l) => l['msg'] === 'refresh failed: keeping the last good content' && l['code'] === 'CM_CLASS_NOT_FOUND');
    assert.ok(failure, 'the failure is logged');
    assert.equal(spc.kube.count({ resource: 'events' }), 0, 'no Kubernetes Events unless --kube-events=true');
    assert.deepEqual(
      { namespace: failure['namespace'], pod: failure['pod'], podUid: failure['podUid'], serviceAccount: failure['serviceAccount'] },
      { namespace: 'default', pod: pod.name, podUid: pod.uid, serviceAccount: 'webapp-sa' },
    );
    applyVaultDatabase('short-lived');
    spc.world.clock.advance(10 * 60_000); // past the backoff
    const back = await spc.world.simulator.publish(pod);
    assert.equal(back.ok, true, back.message);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test("upstream's v1alpha1 sample with secretObjects mounts too; secretObjects is ignored with a warning", async () => {
    const sample = samples.find((s) => s.metadata.name === 'vault-database' && s.spec['secretObjects'] !== undefined);
    assert.ok(sample);
    spc.kube.applySecretProviderClass('default', { metadata: { name: 'with-sync' }, spec: { ...sample.spec, parameters: { ...sample.spec.parameters, vaultAddress: spc.world.vault.url } } });
    const pod = webapp('with-sync');
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'db-secret-password');
    assert.ok((await spc.logLines()).some((l) => l['level'] === 'warn' && /secretObjects is ignored/.test(String(l['msg']))));
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test("neither the driver's Kubernetes token nor any pod token reaches the log", async () => {
    const text = await readFile(spc.logFile, 'utf8');
    assert.ok(text.length > 0);
    assert.ok(!text.includes(spc.kube.bearerToken), "the driver's token is not logged");
    assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/, 'no JWT is logged');
    assert.doesNotMatch(text, /db-secret-password|other-password/, 'no secret value is logged');
  });
});

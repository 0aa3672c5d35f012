import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CertWorld, readPair } from '../support/kube-api-server/cert-world.js';
import { exists } from '../support/fs-probes.js';

const fixtures = resolve(fileURLToPath(import.meta.url), '../../../../test/fixtures/cert-manager');

describe('certificates signed by cert-manager, requested as the pod (kubelet simulator → driver → local Kubernetes API)', () => {
  let world: CertWorld;
  before(async () => {
    world = await CertWorld.start();
    await world.kube.addIssuer('demo/ca');
    await world.kube.addIssuer('demo/denier', 'deny');
    await world.kube.addIssuer('demo/broken', 'fail');
    world.kube.grant('demo', 'app');
  });
  after(async () => {
    await world.stop();
  });

  test("csi-driver's documented example app mounts with only the driver name changed", async () => {
    type Deployment = { kind: string; spec: { template: { spec: { volumes: { csi: { driver: string; readOnly: boolean; volumeAttributes: Record<string, string> } }[] } } } };
    const documents = parseAllDocuments(readFileSync(join(fixtures, 'example-app.yaml'), 'utf8')).map((d) => d.toJS() as Deployment);
    const deployment = documents.find((d) => d.kind === 'Deployment') as Deployment;
    const volume = deployment.spec.template.spec.volumes[0]?.csi as Deployment['spec']['template']['spec']['volumes'][number]['csi'];
    assert.equal(volume.readOnly, true);
    assert.equal(volume.driver, 'csi.credmount.dev');
    assert.equal('provider' in volume.volumeAttributes, false, 'the manifest names no provider');
    await world.kube.addIssuer('sandbox/ca-issuer');
    world.kube.grant('sandbox', 'default');
    const pod = world.pod(volume.volumeAttributes, { namespace: 'sandbox', serviceAccountName: 'default', audiences: [''] });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);

    const pair = await readPair(published.targetPath);
    assert.ok(pair.matches, 'tls.key belongs to tls.crt');
    assert.ok(pair.chainsToCa, 'ca.crt issued tls.crt');
    // csi-driver's defaults: RSA 2048 in PKCS#1, 90 days, digital signature + key encipherment
    assert.match(pair.keyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(pair.certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(Date.parse(pair.certificate.validTo) - Date.parse(pair.certificate.validFrom), 2160 * 3_600_000);
    assert.equal(pair.certificate.subjectAltName, `DNS:${pod.name}.sandbox.svc.cluster.local, DNS:${pod.name}.sandbox.svc, URI:spiffe://cluster.local/ns/sandbox/pod/${pod.name}/${pod.uid}`);
    // the PKCS#12 keystore opens with the manifest's password and holds the same certificate
    const p12 = join(published.targetPath, 'crt.p12');
    const dump = execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:my-password', '-nokeys'], { encoding: 'utf8' });
    assert.ok(dump.includes(pair.chainPem.trim().split('\n')[1] as string));

    // the request was made as the pod's service account, and is gone once the certificate is in
    const made = [...world.kube.history.values()].filter((cr) => cr.metadata.namespace === 'sandbox');
    assert.equal(made.length, 1);
    assert.equal(made[0]?.spec.username, 'system:serviceaccount:sandbox:default');
    assert.deepEqual(made[0]?.spec.issuerRef, { name: 'ca-issuer', kind: 'Issuer', group: 'cert-manager.io' });
    assert.equal(made[0]?.spec.duration, '2160h0m0s');
    assert.deepEqual(made[0]?.spec.usages, ['digital signature', 'key encipherment']);
    const users = new Set(world.kube.calls.filter((c) => c.path.includes('/namespaces/sandbox/')).map((c) => c.user));
    assert.deepEqual([...users], ['system:serviceaccount:sandbox:default']);
    const methods = world.kube.calls.filter((c) => c.path.includes('/namespaces/sandbox/')).map((c) => c.method);
    assert.equal(methods[0], 'POST');
    assert.equal(methods[methods.length - 1], 'DELETE');
    assert.equal(world.kube.live().filter((cr) => cr.metadata.namespace === 'sandbox').length, 0, 'finished requests are deleted');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a denied request is a clear PERMISSION_DENIED and mounts nothing; a failed one is FAILED_PRECONDITION', async () => {
    const denied = await world.simulator.publish(world.pod({ 'csi.cert-manager.io/issuer-name': 'denier', 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA' }));
    assert.equal(denied.ok, false);
    assert.equal(denied.code, 'PERMISSION_DENIED');
    assert.match(denied.message ?? '', /CertificateRequest demo\/app-[0-9a-f]+-\w+ \(issuer Issuer "denier"\): access denied: cert-manager denied it: policy\.cert-manager\.io: No policy approved this request/);
    assert.equal(await exists(denied.targetPath), false);

    const failed = await world.simulator.publish(world.pod({ 'csi.cert-manager.io/issuer-name': 'broken', 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA' }));
    assert.equal(failed.code, 'FAILED_PRECONDITION');
    assert.match(failed.message ?? '', /the issuer failed it: Failed: Failed to sign certificate/);
    assert.equal(world.kube.live().length, 0, 'denied and failed requests are deleted too');
  });

  test('without RBAC for certificaterequests the pod is refused by the API server, naming its own identity', async () => {
    const pod = world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA' }, { serviceAccountName: 'no-rbac' });
    const refused = await world.simulator.publish(pod);
    assert.equal(refused.code, 'PERMISSION_DENIED');
    assert.match(refused.message ?? '', /User "system:serviceaccount:demo:no-rbac" cannot create resource "certificaterequests"/);
    assert.match(refused.message ?? '', /needs RBAC to create, get and delete certificaterequests/);
    assert.equal(await exists(refused.targetPath), false);
  });

  test('bad attributes are INVALID_ARGUMENT naming the attribute, before any request is made', async () => {
    const before = world.kube.calls.length;
    const bad = await world.simulator.publish(world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/dns-names': '${POD_NAME}.${NAMESPACE}.svc' }));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message ?? '', /volume_context\.csi\.cert-manager\.io\/dns-names: undefined variable "NAMESPACE"; known variables: POD_NAME, POD_NAMESPACE, POD_UID, SERVICE_ACCOUNT_NAME/);
    const noToken = await world.simulator.publish(world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'x' }, { audiences: ['vault'] }));
    assert.equal(noToken.code, 'INVALID_ARGUMENT');
    assert.match(noToken.message ?? '', /no service-account token for audience ""/);
    assert.equal(world.kube.calls.length, before);
    for (const event of [bad, noToken]) assert.equal(await exists(event.targetPath), false, 'nothing mounted or created');
  });

  test('2-minute certificates over a simulated hour: always a valid matching pair, renewed near 2/3 of the lifetime by the background timer', async () => {
    const started = world.clock.now();
    const pod = world.pod({
      'csi.cert-manager.io/issuer-name': 'ca',
      'csi.cert-manager.io/common-name': '${POD_NAME}.${POD_NAMESPACE}',
      'csi.cert-manager.io/duration': '2m',
      'csi.cert-manager.io/key-algorithm': 'ECDSA',
    });
    const requestsBefore = world.kube.history.size;
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    let serial = (await readPair(published.targetPath)).certificate.serialNumber;
    let issuedAt = world.clock.now();
    const renewalOffsets: number[] = [];
    let checks = 0;
    for (let elapsed = 5_000; elapsed <= 3_600_000; elapsed += 5_000) {
      world.clock.advance(5_000);
      await world.renew();
      if (elapsed % 60_000 === 0) {
        const event = await world.simulator.publish(pod); // kubelet's republish
        assert.equal(event.ok, true, event.message);
      }
      const pair = await readPair(published.targetPath);
      const now = world.clock.now();
      assert.ok(pair.matches, `key and certificate match at ${elapsed / 1000}s`);
      assert.ok(pair.chainsToCa, `chain verifies at ${elapsed / 1000}s`);
      assert.ok(Date.parse(pair.certificate.validFrom) <= now && now < Date.parse(pair.certificate.validTo), `valid at ${elapsed / 1000}s`);
      checks += 1;
      if (pair.certificate.serialNumber !== serial) {
        renewalOffsets.push(now - issuedAt);
        serial = pair.certificate.serialNumber;
        issuedAt = now;
      }
    }
    assert.equal(checks, 720);
    // 2 min lifetime → renew at 80 s (checked every 5 s): 45 renewals in the hour.
    assert.ok(renewalOffsets.length >= 43 && renewalOffsets.length <= 45, `renewals: ${renewalOffsets.length}`);
    for (const offset of renewalOffsets) assert.ok(offset >= 80_000 && offset <= 85_000, `renewed ${offset / 1000}s after issuance (2/3 of 120 s is 80 s)`);
    const made = [...world.kube.history.values()].slice(requestsBefore);
    assert.equal(made.length, renewalOffsets.length + 1, 'one CertificateRequest per certificate');
    assert.ok(made.every((cr) => cr.spec.username === 'system:serviceaccount:demo:app'));
    assert.equal(world.kube.live().length, 0);
    assert.ok(world.clock.now() - started >= 3_600_000);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a signer outage keeps the old pair until it expires, reports the expiry loudly, and recovers', async () => {
    const pod = world.pod({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'outage', 'csi.cert-manager.io/duration': '2m', 'csi.cert-manager.io/key-algorithm': 'ECDSA' });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const original = await readPair(published.targetPath);
    const notAfter = Date.parse(original.certificate.validTo);
    world.kube.setFault({ kind: 'unavailable' });
    try {
      let sawExpired = false;
      for (let elapsed = 5_000; elapsed <= 180_000; elapsed += 5_000) {
        world.clock.advance(5_000);
        await world.renew();
        const now = world.clock.now();
        const event = elapsed % 30_000 === 0 ? await world.simulator.publish(pod) : undefined;
        const pair = await readPair(published.targetPath);
        assert.equal(pair.certificate.serialNumber, original.certificate.serialNumber, 'the old pair stays, byte for byte');
        assert.equal(pair.keyPem, original.keyPem);
        if (event !== undefined && now < notAfter) assert.equal(event.ok, true, `still valid at ${elapsed / 1000}s: kubelet sees OK`);
        if (event !== undefined && now >= notAfter) {
          assert.equal(event.ok, false);
          assert.equal(event.code, 'UNAVAILABLE');
          assert.match(event.message ?? '', /holds expired credentials/);
          sawExpired = true;
        }
      }
      assert.ok(sawExpired);
      const metrics = await world.driver.metrics.registry.metrics();
      assert.match(metrics, /^credmount_volumes_expired 1$/m);
      assert.match(metrics, /^credmount_content_expirations_total\{provider="certificates"\} 1$/m);
      assert.match(metrics, /^credmount_refresh_failures_total\{provider="certificates",code="CM_BACKEND_UNAVAILABLE"\} \d+$/m);
    } finally {
      world.kube.setFault(undefined);
    }
    world.clock.advance(6 * 60_000); // past the longest backoff step
    const recovered = await world.simulator.publish(pod);
    assert.equal(recovered.ok, true, recovered.message);
    const fresh = await readPair(published.targetPath);
    assert.notEqual(fresh.certificate.serialNumber, original.certificate.serialNumber);
    assert.ok(fresh.matches && fresh.chainsToCa);
    assert.match(await world.driver.metrics.registry.metrics(), /^credmount_volumes_expired 0$/m);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

describe('certificates: Vault PKI and the development CA', () => {
  let world: CertWorld;
  before(async () => {
    world = await CertWorld.start({ driverArgs: ['--providers', 'certificates,vault'] });
    world.vault.writeKv2('secret', 'web/config', { mode: 'strict' });
    await world.vault.addPkiRole('web', { allowedDomains: ['demo.svc'], allowSubdomains: true, ttlSeconds: 600, maxTtlSeconds: 3600 });
    world.vault.addPolicy('pki-web', ['pki/sign/web', 'secret/data/web/*']);
    world.vault.addKubernetesRole('kubernetes', 'web', { boundServiceAccountNames: ['app'], boundServiceAccountNamespaces: ['demo'], audience: 'vault', policies: ['pki-web'], tokenTtlSeconds: 3600 });
  });
  after(async () => {
    await world.stop();
  });

  test('Vault PKI sign/<role> after logging in as the pod: the CSR goes, the key stays', async () => {
    world.vault.resetObservations();
    const pod = world.pod({
      'csi.cert-manager.io/issuer-name': 'web',
      'csi.cert-manager.io/issuer-kind': 'VaultPKI',
      'csi.cert-manager.io/issuer-group': 'credmount.dev',
      'csi.cert-manager.io/common-name': '${POD_NAME}.demo.svc',
      'csi.cert-manager.io/duration': '5m',
      'csi.cert-manager.io/key-algorithm': 'ECDSA',
      'csi.cert-manager.io/key-size': '384',
    });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const pair = await readPair(published.targetPath);
    assert.ok(pair.matches);
    assert.equal(pair.caPem.trim(), world.vault.pkiCaPem().trim());
    assert.ok(pair.chainsToCa);
    assert.equal(pair.certificate.subject, `CN=${pod.name}.demo.svc`);
    assert.equal(Date.parse(pair.certificate.validTo) - world.clock.now() <= 300_000, true);
    assert.equal(pair.certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const counts = world.vault.counts();
    assert.equal(counts.login, 1);
    assert.equal(counts.pki, 1);
    // A name outside the role is Vault's refusal, passed on clearly
    const refused = await world.simulator.publish(world.pod({ ...pod.attributes, 'csi.cert-manager.io/common-name': 'evil.example.com' }));
    assert.equal(refused.code, 'FAILED_PRECONDITION');
    assert.match(refused.message ?? '', /Vault PKI pki\/sign\/web: the backend refused the request: Vault answered 400 \(common name evil\.example\.com not allowed by this role\)/);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a pod with a certificate and a secret from Vault logs in once: the signer shares the vault provider\'s logins', async () => {
    world.clock.advance(2 * 3_600_000); // past every cached Vault token
    world.vault.resetObservations();
    const certificate = world.pod({ 'csi.cert-manager.io/issuer-name': 'web', 'csi.cert-manager.io/issuer-kind': 'VaultPKI', 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/common-name': 'shared.demo.svc', 'csi.cert-manager.io/key-algorithm': 'ECDSA' });
    const secret = world.pod({ provider: 'vault', roleName: 'web', objects: '- objectName: mode\n  secretPath: secret/data/web/config\n  secretKey: mode\n' }, { name: certificate.name, uid: certificate.uid, volumeName: 'config' });
    assert.equal((await world.simulator.publish(certificate)).ok, true);
    const published = await world.simulator.publish(secret);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'mode'), 'utf8'), 'strict');
    assert.deepEqual([world.vault.counts().login, world.vault.counts().pki, world.vault.counts().kv], [1, 1, 1]);
    assert.equal((await world.simulator.unpublish(secret)).ok, true);
    assert.equal((await world.simulator.unpublish(certificate)).ok, true);
  });

  test('the development CA: no token needed, Ed25519 in PKCS#8, custom file names', async () => {
    const pod = world.pod(
      {
        'csi.cert-manager.io/issuer-name': 'dev',
        'csi.cert-manager.io/issuer-kind': 'DevCA',
        'csi.cert-manager.io/issuer-group': 'credmount.dev',
        'csi.cert-manager.io/dns-names': '${POD_NAME}.${POD_NAMESPACE}.svc',
        'credmount.dev/spiffe-trust-domain': 'cluster.local',
        'csi.cert-manager.io/key-algorithm': 'ed25519',
        'csi.cert-manager.io/certificate-file': 'cert.pem',
        'csi.cert-manager.io/privatekey-file': 'key.pem',
        'csi.cert-manager.io/ca-file': 'root.pem',
        'csi.cert-manager.io/duration': '10m',
      },
      { audiences: [] },
    );
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const pair = await readPair(published.targetPath, { cert: 'cert.pem', key: 'key.pem', ca: 'root.pem' });
    assert.ok(pair.matches && pair.chainsToCa);
    assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(pair.certificate.subjectAltName, `DNS:${pod.name}.demo.svc, URI:spiffe://cluster.local/ns/demo/sa/app`);
    assert.equal(await exists(join(published.targetPath, 'tls.crt')), false);
    assert.equal((await readFile(join(published.targetPath, 'key.pem'), 'utf8')).length > 0, true);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

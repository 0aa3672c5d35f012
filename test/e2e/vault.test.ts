import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { VaultWorld } from '../support/vault-world.js';
import { exists } from '../support/fs-probes.js';

const KUBELET_CADENCE_MS = 60_000;

describe('Vault provider end to end through the kubelet simulator', () => {
  let world: VaultWorld;
  before(async () => {
    world = await VaultWorld.start();
    world.vault.writeKv2('secret', 'app/db', { password: 'v1-password', user: 'app' });
    world.vault.addDatabaseRole('app', { ttlSeconds: 600, maxTtlSeconds: 1800 });
  });
  after(async () => {
    await world.stop();
  });

  test("pod A's token reads its secret; pod B (another service account) is refused and gets nothing mounted", async () => {
    const objects = '- objectName: db-password\n  secretPath: secret/data/app/db\n  secretKey: password\n';
    const a = world.pod(objects);
    const published = await world.simulator.publish(a);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'v1-password');

    const b = world.pod(objects, { serviceAccountName: 'intruder' });
    const refused = await world.simulator.publish(b);
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'PERMISSION_DENIED');
    assert.match(refused.message ?? '', /login to Vault auth mount "kubernetes" as role "app" for demo\/intruder: access denied: Vault answered 403/);
    assert.equal(await exists(refused.targetPath), false);
    assert.equal((await world.simulator.unpublish(a)).ok, true);
  });

  test('a KV v2 update appears after the next due refresh, and only then; unchanged versions write nothing', async () => {
    world.vault.writeKv2('secret', 'app/rotating', { token: 'first' });
    const pod = world.pod('- objectName: api-token\n  secretPath: secret/data/app/rotating\n  secretKey: token\n');
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const file = join(published.targetPath, 'api-token');
    const dataLinkBefore = await readFile(join(published.targetPath, '..data', 'api-token'));
    world.clock.advance(5 * 60_000 + 1_000);
    await world.simulator.publish(pod); // due, same version: nothing written
    assert.deepEqual(await readFile(join(published.targetPath, '..data', 'api-token')), dataLinkBefore);

    world.vault.writeKv2('secret', 'app/rotating', { token: 'second' });
    for (let elapsed = 0; elapsed < 4 * 60_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
      assert.equal(await readFile(file, 'utf8'), 'first', 'not before the refresh is due');
    }
    world.clock.advance(KUBELET_CADENCE_MS + 1_000);
    await world.simulator.publish(pod);
    assert.equal(await readFile(file, 'utf8'), 'second');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a dynamic secret over a simulated hour at kubelet cadence: renewed at 2/3 of its lease, re-issued only near max TTL', async () => {
    world.vault.resetObservations();
    const started = world.clock.now();
    const pod = world.pod('- objectName: db-user\n  secretPath: database/creds/app\n  secretKey: username\n- objectName: db-pass\n  secretPath: database/creds/app\n  secretKey: password\n');
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const users = new Set([await readFile(join(published.targetPath, 'db-user'), 'utf8')]);
    let republishes = 0;
    for (let elapsed = 0; elapsed < 3_600_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, true, event.message);
      republishes += 1;
      users.add(await readFile(join(published.targetPath, 'db-user'), 'utf8'));
      // username and password always come from the same credential (one request per path)
    }
    const counts = world.vault.counts();
    const timeline = world.vault.requests.map((r) => `${Math.round((r.at - started) / 1000)}s ${r.kind} ${r.status}`);
    // Lease 600 s, max TTL 1800 s, kubelet every 60 s, refresh at 2/3 of each grant: 3
    // credentials and 8 renewal calls in the hour, against 61 reads for a driver that fetches on
    // every republish.
    assert.equal(republishes, 60);
    // Issue at 0 s; renew at 420, 840, 1260 s; at 1620 s renewal can no longer extend the lease
    // (max TTL 1800 s) → a new credential; the same cycle from 1620 s to 3240 s.
    assert.equal(counts.creds, 3, timeline.join('\n'));
    assert.equal(counts.renew, 8, timeline.join('\n'));
    // The Vault token that owns the leases is renewed (renew-self), never replaced by a new login,
    // so Vault never revokes the pod's credentials under it.
    assert.ok(counts.token >= 1, timeline.join('\n'));
    assert.ok(counts.login <= 1, timeline.join('\n'));
    assert.ok(!timeline.some((line) => / 400$/.test(line)), `no renewal of a revoked lease:\n${timeline.join('\n')}`);
    assert.equal(users.size, 3, 'the volume changed exactly when a new credential was issued');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('50 pods of one identity starting together cause one login, not 50', async () => {
    world.vault.writeKv2('secret', 'app/shared', { k: 'v' });
    world.clock.advance(3_600_000); // past every cached Vault token
    world.vault.resetObservations();
    const pods = Array.from({ length: 50 }, () => world.pod('- objectName: k\n  secretPath: secret/data/app/shared\n  secretKey: k\n'));
    const events = await Promise.all(pods.map((pod) => world.simulator.publish(pod)));
    assert.deepEqual(
      events.filter((e) => !e.ok).map((e) => e.message),
      [],
    );
    assert.equal(world.vault.counts().login, 1);
    assert.equal(world.vault.counts().kv, 50);
    for (const pod of pods) assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('Vault answering 429 during republish: old content stays and Retry-After is honoured; then Vault down: old content stays', async () => {
    world.vault.writeKv2('secret', 'app/limited', { k: 'before' });
    const pod = world.pod('- objectName: k\n  secretPath: secret/data/app/limited\n  secretKey: k\n');
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.vault.writeKv2('secret', 'app/limited', { k: 'after' });
    await world.vault.setFault({ kind: 'rate-limited', retryAfterSeconds: 300 });
    world.clock.advance(5 * 60_000 + 1_000);
    world.vault.resetObservations();
    assert.equal((await world.simulator.publish(pod)).ok, true, 'the content is still valid: kubelet sees success');
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'before');
    const afterFirst = world.vault.requests.length;
    assert.ok(afterFirst >= 1);
    for (let i = 0; i < 4; i++) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
    }
    assert.equal(world.vault.requests.length, afterFirst, 'no request to Vault before its Retry-After (300 s) has passed');

    await world.vault.setFault({ kind: 'down', mode: 'refuse' });
    world.clock.advance(2 * KUBELET_CADENCE_MS);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'before');

    await world.vault.setFault(undefined);
    world.clock.advance(10 * 60_000);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'after');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test("a SecretProviderClass from vault-csi-provider's documentation parses and mounts (only the address pointed at the test server)", async () => {
    const fixtures = resolve(fileURLToPath(import.meta.url), '../../../../test/fixtures/vault/sample-secretproviderclasses.yaml');
    const spc = parseAllDocuments(readFileSync(fixtures, 'utf8'))
      .map((d) => d.toJS() as { metadata: { name: string }; spec: { parameters: Record<string, string> } })
      .find((d) => d.metadata.name === 'vault-database');
    assert.ok(spc);
    world.vault.addPolicy('database', ['secret/data/db-pass']);
    world.vault.addKubernetesRole('kubernetes', 'database', { boundServiceAccountNames: ['webapp-sa'], boundServiceAccountNamespaces: ['default'], audience: 'vault', policies: ['database'] });
    world.vault.writeKv2('secret', 'db-pass', { password: 'db-secret-password' });
    const pod = {
      ...world.pod(''),
      namespace: 'default',
      serviceAccountName: 'webapp-sa',
      attributes: { provider: 'vault', ...spc.spec.parameters, vaultAddress: world.vault.url },
    };
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), 'db-secret-password');
    assert.equal(((await stat(join(published.targetPath, '..data', 'db-password'))).mode & 0o777).toString(8), '644');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('JWT auth mount (vaultAuthMountPath: jwt): bound subject and audience checked by Vault', async () => {
    world.vault.configureJwtAuth('jwt', { jwksUrl: world.simulator.jwks.jwksUri });
    world.vault.addJwtRole('jwt', 'app-jwt', { userClaim: 'sub', boundAudiences: ['vault'], boundSubject: 'system:serviceaccount:demo:app', policies: ['app'] });
    world.vault.writeKv2('secret', 'app/jwt', { k: 'via-jwt' });
    const objects = '- objectName: k\n  secretPath: secret/data/app/jwt\n  secretKey: k\n';
    const pod = world.pod(objects, { parameters: { vaultAuthMountPath: 'jwt', roleName: 'app-jwt' } });
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal(await readFile(join(event.targetPath, 'k'), 'utf8'), 'via-jwt');
    const other = world.pod(objects, { serviceAccountName: 'intruder', parameters: { vaultAuthMountPath: 'jwt', roleName: 'app-jwt' } });
    const refused = await world.simulator.publish(other);
    assert.equal(refused.ok, false);
    assert.match(refused.message ?? '', /Vault answered 400 \(error validating (token|claims)/);
    assert.equal(await exists(refused.targetPath), false);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('KV v1 reads: the value under secretKey, and the whole response when secretKey is empty', async () => {
    world.vault.writeKv1('kv', 'app/conf', { mode: 'blue', replicas: 3 });
    const pod = world.pod('- objectName: mode\n  secretPath: kv/app/conf\n  secretKey: mode\n- objectName: replicas\n  secretPath: kv/app/conf\n  secretKey: replicas\n- objectName: all.json\n  secretPath: kv/app/conf\n');
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal(await readFile(join(event.targetPath, 'mode'), 'utf8'), 'blue');
    assert.equal(await readFile(join(event.targetPath, 'replicas'), 'utf8'), '3');
    const whole = JSON.parse(await readFile(join(event.targetPath, 'all.json'), 'utf8')) as { data: unknown; lease_duration: number };
    assert.deepEqual(whole.data, { mode: 'blue', replicas: 3 });
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a sealed Vault: the first publish is UNAVAILABLE saying so, and nothing is mounted', async () => {
    await world.vault.setFault({ kind: 'sealed' });
    world.clock.advance(3_600_000); // no cached token: the login itself meets the sealed Vault
    const pod = world.pod('- objectName: k\n  secretPath: secret/data/app/db\n  secretKey: password\n');
    const event = await world.simulator.publish(pod);
    await world.vault.setFault(undefined);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'UNAVAILABLE');
    assert.match(event.message ?? '', /Vault is sealed/);
    assert.equal(await exists(event.targetPath), false);
  });

  test('a standby redirecting to the active node is followed once; a redirect elsewhere is not', async () => {
    world.vault.writeKv2('secret', 'app/standby', { k: 'from-active' });
    world.clock.advance(3_600_000);
    const objects = '- objectName: k\n  secretPath: secret/data/app/standby\n  secretKey: k\n';
    await world.vault.setFault({ kind: 'standby', activeAddress: world.vault.url, times: 1 });
    const followed = await world.simulator.publish(world.pod(objects));
    assert.equal(followed.ok, true, followed.message);
    assert.equal(await readFile(join(followed.targetPath, 'k'), 'utf8'), 'from-active');
    await world.vault.setFault({ kind: 'standby', activeAddress: 'http://127.0.0.2:9', times: 1 });
    world.clock.advance(3_600_000);
    const refused = await world.simulator.publish(world.pod(objects));
    await world.vault.setFault(undefined);
    assert.equal(refused.ok, false);
    assert.match(refused.message ?? '', /Vault answered 307/);
  });

  test('PKI issue with method PUT and secretArgs: the whole response as JSON, renewed at 2/3 of the certificate lifetime', async () => {
    await world.vault.addPkiRole('app', { allowedDomains: ['example.com'], allowSubdomains: true, maxTtlSeconds: 86_400 });
    const objects = '- objectName: certs\n  secretPath: pki/issue/app\n  method: PUT\n  secretArgs:\n    common_name: web.example.com\n    ttl: 15m\n';
    const pod = world.pod(objects);
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const first = JSON.parse(await readFile(join(published.targetPath, 'certs'), 'utf8')) as { data: { certificate: string; serial_number: string } };
    assert.match(first.data.certificate, /BEGIN CERTIFICATE/);
    world.clock.advance(9 * 60_000);
    await world.simulator.publish(pod);
    const still = JSON.parse(await readFile(join(published.targetPath, 'certs'), 'utf8')) as { data: { serial_number: string } };
    assert.equal(still.data.serial_number, first.data.serial_number, 'not renewed before 2/3 of 15 minutes');
    world.clock.advance(2 * 60_000);
    await world.simulator.publish(pod);
    const renewed = JSON.parse(await readFile(join(published.targetPath, 'certs'), 'utf8')) as { data: { serial_number: string } };
    assert.notEqual(renewed.data.serial_number, first.data.serial_number);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

describe('Vault: leases and the token that owns them', () => {
  let world: VaultWorld;
  before(async () => {
    // A token TTL shorter than the lease, as in vault-csi-provider's own examples (20 min vs 1 h).
    world = await VaultWorld.start({ tokenTtlSeconds: 1200, tokenMaxTtlSeconds: 3000 });
    world.vault.addDatabaseRole('app', { ttlSeconds: 3600, maxTtlSeconds: 7200 });
  });
  after(async () => {
    await world.stop();
  });

  test("unpublish revokes the volume's dynamic credentials when the role may (sys/leases/revoke); without that they expire as before", async () => {
    const pod = () => world.pod('- objectName: db-user\n  secretPath: database/creds/app\n  secretKey: username\n');
    const newLeases = (before: number) => world.vault.leases().slice(before);
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    // 1. Vault's default policy has no sys/leases/revoke: the attempt is refused, unpublish is not.
    let before = world.vault.leases().length;
    world.vault.resetObservations();
    const denied = pod();
    assert.equal((await world.simulator.publish(denied)).ok, true);
    assert.equal((await world.simulator.unpublish(denied)).ok, true);
    await until(() => world.vault.counts().revoke > 0);
    assert.equal(world.vault.counts((r) => r.status === 403).revoke, 1, 'asked, and refused by the policy');
    assert.deepEqual(newLeases(before).map((l) => l.live), [true], 'the credential lives out its TTL');
    // 2. With the capability the credential is gone when the pod is.
    world.vault.addPolicy('app', ['secret/data/app/*', 'kv/app/*', 'database/creds/app', 'sys/leases/renew', 'pki/issue/app', 'sys/leases/revoke']);
    try {
      before = world.vault.leases().length;
      const allowed = pod();
      assert.equal((await world.simulator.publish(allowed)).ok, true);
      assert.deepEqual(newLeases(before).map((l) => l.live), [true]);
      assert.equal((await world.simulator.unpublish(allowed)).ok, true);
      await until(() => newLeases(before).every((l) => !l.live));
      assert.deepEqual(newLeases(before).map((l) => l.live), [false], 'revoked at unpublish');
    } finally {
      world.vault.addPolicy('app', ['secret/data/app/*', 'kv/app/*', 'database/creds/app', 'sys/leases/renew', 'pki/issue/app']);
    }
  });

  test('over two simulated hours the volume never holds a credential whose lease Vault has revoked', async () => {
    const pod = world.pod('- objectName: lease.json\n  secretPath: database/creds/app\n- objectName: user\n  secretPath: database/creds/app\n  secretKey: username\n');
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const seen = new Set<string>();
    for (let elapsed = 0; elapsed < 2 * 3_600_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, true, event.message);
      const { lease_id: leaseId } = JSON.parse(await readFile(join(published.targetPath, 'lease.json'), 'utf8')) as { lease_id: string };
      seen.add(leaseId);
      const lease = world.vault.leases().find((l) => l.leaseId === leaseId);
      assert.ok(lease?.live === true, `at ${Math.round((elapsed + KUBELET_CADENCE_MS) / 1000)} s the volume holds ${leaseId}, which Vault no longer honours`);
    }
    // The token can be renewed up to 3000 s: after that a new login, and new credentials under it.
    assert.ok(seen.size >= 2 && seen.size <= 4, `credentials issued: ${seen.size}`);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('retries of a volume asking for a forbidden path do not replace the shared token (no orphaned leases)', async () => {
    const healthy = world.pod('- objectName: lease.json\n  secretPath: database/creds/app\n');
    const ok = await world.simulator.publish(healthy);
    assert.equal(ok.ok, true, ok.message);
    world.vault.resetObservations();
    const forbidden = world.pod('- objectName: x\n  secretPath: secret/data/not-allowed\n  secretKey: x\n');
    for (let i = 0; i < 5; i++) {
      const event = await world.simulator.publish(forbidden);
      assert.equal(event.code, 'PERMISSION_DENIED');
    }
    assert.equal(world.vault.counts().login, 0, 'the 403 was a policy answer: the valid shared token was kept');
    const { lease_id: leaseId } = JSON.parse(await readFile(join(ok.targetPath, 'lease.json'), 'utf8')) as { lease_id: string };
    assert.equal(world.vault.leases().find((l) => l.leaseId === leaseId)?.live, true);
    assert.equal((await world.simulator.unpublish(healthy)).ok, true);
  });
});

describe('Vault: a cached login is never used where Vault would refuse the login', () => {
  let world: VaultWorld;
  before(async () => {
    world = await VaultWorld.start();
    world.vault.writeKv2('secret', 'app/x', { k: 'v' });
  });
  after(async () => {
    await world.stop();
  });

  test('another audience is another login (and Vault refuses it)', async () => {
    const objects = '- objectName: k\n  secretPath: secret/data/app/x\n  secretKey: k\n';
    const first = world.pod(objects);
    assert.equal((await world.simulator.publish(first)).ok, true);
    const other = { ...world.pod(objects, { parameters: { audience: 'other' } }), audiences: ['vault', 'other'] };
    const event = await world.simulator.publish(other);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'PERMISSION_DENIED');
    assert.equal((await world.simulator.unpublish(first)).ok, true);
  });

  test('JWT auth binding the pod name: each pod logs in for itself', async () => {
    world.vault.configureJwtAuth('jwt', { jwksUrl: world.simulator.jwks.jwksUri });
    world.vault.addJwtRole('jwt', 'pod-a-only', { userClaim: 'sub', boundAudiences: ['vault'], boundClaims: { '/kubernetes.io/pod/name': 'pod-a' }, policies: ['app'] });
    const objects = '- objectName: k\n  secretPath: secret/data/app/x\n  secretKey: k\n';
    const parameters = { vaultAuthMountPath: 'jwt', roleName: 'pod-a-only' };
    const a = { ...world.pod(objects, { parameters }), name: 'pod-a' };
    assert.equal((await world.simulator.publish(a)).ok, true);
    const b = { ...world.pod(objects, { parameters }), name: 'pod-b' };
    const event = await world.simulator.publish(b);
    assert.equal(event.ok, false, 'pod-b must not ride on pod-a’s login');
    assert.equal(event.code, 'PERMISSION_DENIED');
    assert.equal((await world.simulator.unpublish(a)).ok, true);
  });
});

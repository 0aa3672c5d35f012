import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { exists } from '../support/fs-probes.js';
import { KubeTestServer } from '../support/kube-spc-server/server.js';
import { GcpWorld, PROJECT } from '../support/gcp-world.js';

const KUBELET_CADENCE_MS = 60_000;
const P = PROJECT.project;
const fixtures = resolve(fileURLToPath(import.meta.url), '../../../../test/fixtures/gcp');

function secretsYaml(...entries: [resourceName: string, path: string, extra?: string][]): string {
  return entries.map(([name, path, extra]) => `- resourceName: "${name}"\n  path: "${path}"\n${extra ?? ''}`).join('');
}

describe('GCP provider end to end (workload identity federation) through the kubelet simulator', () => {
  let world: GcpWorld;
  before(async () => {
    world = await GcpWorld.start();
  });
  after(async () => {
    await world.stop();
  });

  test("the pod's token reads a global and a regional secret; another service account is refused and gets nothing mounted", async () => {
    world.addVersion('db-password', 'global-v1');
    world.addVersion('db-password', 'regional-v1', 'us-central1');
    world.grant('db-password', world.principal('demo', 'app'));
    world.grant('db-password', world.principal('demo', 'app'), 'us-central1');
    const secrets = secretsYaml([`projects/${P}/secrets/db-password/versions/latest`, 'db'], [`projects/${P}/locations/us-central1/secrets/db-password/versions/latest`, 'regional/db']);
    world.google.resetObservations();
    const a = world.pod(secrets);
    const published = await world.simulator.publish(a);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db'), 'utf8'), 'global-v1');
    assert.equal(await readFile(join(published.targetPath, 'regional/db'), 'utf8'), 'regional-v1');
    // The regional secret went to its region's endpoint, the global one to the global endpoint.
    const accesses = world.google.requests.filter((r) => r.kind === 'access').map((r) => `${r.endpoint} ${r.resource} ${r.status}`).sort();
    assert.deepEqual(accesses, [`global projects/${P}/secrets/db-password/versions/latest 200`, `us-central1 projects/${P}/locations/us-central1/secrets/db-password/versions/latest 200`]);

    const b = world.pod(secrets, { serviceAccountName: 'intruder' });
    const refused = await world.simulator.publish(b);
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'PERMISSION_DENIED');
    assert.match(refused.message ?? '', /Secret Manager secret version projects\/demo-project\/(locations\/us-central1\/)?secrets\/db-password\/versions\/latest: access denied: Secret Manager answered 403 PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied/);
    assert.equal(await exists(refused.targetPath), false);
    assert.equal((await world.simulator.unpublish(a)).ok, true);
  });

  test('versions/latest: a new version appears after the due refresh (2m), not before; an unchanged version writes nothing', async () => {
    world.addVersion('rotating', 'first');
    world.grant('rotating', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/rotating/versions/latest`, 'token']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const file = join(published.targetPath, 'token');
    const before = await stat(join(published.targetPath, '..data'));
    world.clock.advance(2 * 60_000 + 1_000);
    world.google.resetObservations();
    assert.equal((await world.simulator.publish(pod)).ok, true); // due: re-checked, same version
    assert.equal(world.google.counts().access, 1);
    assert.equal((await stat(join(published.targetPath, '..data'))).ino, before.ino, 'same version: the volume is untouched');

    world.addVersion('rotating', 'second');
    world.clock.advance(KUBELET_CADENCE_MS);
    await world.simulator.publish(pod);
    assert.equal(await readFile(file, 'utf8'), 'first', 'not before the refresh is due');
    world.clock.advance(KUBELET_CADENCE_MS + 1_000);
    await world.simulator.publish(pod);
    assert.equal(await readFile(file, 'utf8'), 'second');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('pinned versions: no request at all over a simulated hour of republishes, even when new versions are added', async () => {
    world.addVersion('pinned', 'one');
    world.addVersion('pinned', 'two');
    world.grant('pinned', world.principal('demo', 'app'));
    world.google.resetObservations();
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/pinned/versions/1`, 'one'], [`projects/${P}/secrets/pinned/versions/2`, 'two']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(world.google.counts().access, 2);
    world.google.resetObservations();
    let republishes = 0;
    for (let elapsed = 0; elapsed < 3_600_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      if (elapsed === 30 * 60_000) world.addVersion('pinned', 'three');
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, true, event.message);
      republishes += 1;
    }
    assert.equal(republishes, 60);
    assert.equal(world.google.requests.length, 0, world.google.requests.map((r) => `${r.kind} ${r.resource}`).join('\n'));
    assert.equal(await readFile(join(published.targetPath, 'one'), 'utf8'), 'one');
    assert.equal(await readFile(join(published.targetPath, 'two'), 'utf8'), 'two');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a pinned and a latest secret together: only latest is re-read when due', async () => {
    world.addVersion('mixed-pinned', 'fixed');
    world.addVersion('mixed-latest', 'moving-1');
    world.grant('mixed-pinned', world.principal('demo', 'app'));
    world.grant('mixed-latest', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/mixed-pinned/versions/1`, 'fixed'], [`projects/${P}/secrets/mixed-latest/versions/latest`, 'moving']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.google.resetObservations();
    world.addVersion('mixed-latest', 'moving-2');
    for (let i = 0; i < 10; i++) {
      world.clock.advance(KUBELET_CADENCE_MS);
      assert.equal((await world.simulator.publish(pod)).ok, true);
    }
    const reads = world.google.requests.filter((r) => r.kind === 'access').map((r) => r.resource);
    assert.ok(reads.length >= 4 && reads.every((r) => r.endsWith('mixed-latest/versions/latest')), reads.join('\n'));
    assert.equal(await readFile(join(published.targetPath, 'moving'), 'utf8'), 'moving-2');
    assert.equal(await readFile(join(published.targetPath, 'fixed'), 'utf8'), 'fixed');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a payload that does not match its CRC32C is refused: nothing mounted on publish, old content kept on refresh', async () => {
    world.addVersion('checked', 'good-1');
    world.grant('checked', world.principal('demo', 'app'));
    const secrets = secretsYaml([`projects/${P}/secrets/checked/versions/latest`, 'v']);
    await world.google.setFault({ kind: 'corrupt-checksum' });
    const refused = await world.simulator.publish(world.pod(secrets));
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.match(refused.message ?? '', /projects\/demo-project\/secrets\/checked\/versions\/latest: the payload does not match its CRC32C checksum/);
    assert.equal(await exists(refused.targetPath), false);

    await world.google.setFault(undefined);
    const pod = world.pod(secrets);
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.addVersion('checked', 'good-2');
    await world.google.setFault({ kind: 'corrupt-checksum' });
    world.clock.advance(2 * 60_000 + 1_000);
    assert.equal((await world.simulator.publish(pod)).ok, true, 'the old content is still valid');
    assert.equal(await readFile(join(published.targetPath, 'v'), 'utf8'), 'good-1');
    await world.google.setFault(undefined);
    world.clock.advance(10 * 60_000);
    await world.simulator.publish(pod);
    assert.equal(await readFile(join(published.targetPath, 'v'), 'utf8'), 'good-2');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('an answer without a payload is refused, not written as an empty file; an empty secret still mounts', async () => {
    world.addVersion('payload-less', 'content');
    world.grant('payload-less', world.principal('demo', 'app'));
    await world.google.setFault({ kind: 'no-payload' });
    const refused = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/payload-less/versions/1`, 'v'])));
    await world.google.setFault(undefined);
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.match(refused.message ?? '', /secrets\/payload-less\/versions\/1: the answer has no name or payload/);
    assert.equal(await exists(refused.targetPath), false);
    world.addVersion('empty', '');
    world.grant('empty', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/empty/versions/1`, 'e']));
    const empty = await world.simulator.publish(pod);
    assert.equal(empty.ok, true, empty.message);
    assert.equal(await readFile(join(empty.targetPath, 'e'), 'utf8'), '');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('429 with RetryInfo: old content stays and no request is sent before retryDelay; then an outage: old content stays; then recovery', async () => {
    world.addVersion('limited', 'before');
    world.grant('limited', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/limited/versions/latest`, 'k']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.addVersion('limited', 'after');
    await world.google.setFault({ kind: 'rate-limited', retryDelaySeconds: 300, on: ['access'] });
    world.clock.advance(2 * 60_000 + 1_000);
    world.google.resetObservations();
    assert.equal((await world.simulator.publish(pod)).ok, true, 'the content is still valid: kubelet sees success');
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'before');
    const afterFirst = world.google.requests.length;
    assert.equal(world.google.counts().access, 1);
    for (let i = 0; i < 4; i++) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
    }
    assert.equal(world.google.requests.length, afterFirst, 'no request before retryDelay (300 s) has passed');

    await world.google.setFault({ kind: 'down' });
    world.clock.advance(2 * KUBELET_CADENCE_MS);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'before');

    await world.google.setFault(undefined);
    world.clock.advance(10 * 60_000);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'after');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('503 with Retry-After and no RetryInfo: old content stays and no request is sent before Retry-After has passed', async () => {
    world.addVersion('busy', 'before');
    world.grant('busy', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/busy/versions/latest`, 'k']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.addVersion('busy', 'after');
    await world.google.setFault({ kind: 'unavailable', retryAfterSeconds: 300, on: ['access'] });
    world.clock.advance(2 * 60_000 + 1_000);
    world.google.resetObservations();
    assert.equal((await world.simulator.publish(pod)).ok, true, 'the content is still valid: kubelet sees success');
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.status}`), ['access 503']);
    for (let i = 0; i < 4; i++) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
    }
    assert.equal(world.google.requests.length, 1, 'no request before Retry-After (300 s) has passed');
    await world.google.setFault(undefined);
    world.clock.advance(KUBELET_CADENCE_MS);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'after');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('versions/latest is the newest version whatever its state: a disabled newest version is reported and the old content kept; the next enabled one appears', async () => {
    const resource = { projectNumber: PROJECT.projectNumber, secret: 'newest-disabled' };
    world.addVersion('newest-disabled', 'one');
    world.grant('newest-disabled', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/newest-disabled/versions/latest`, 'k']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const two = world.addVersion('newest-disabled', 'two');
    world.google.setVersionState(resource, two, 'DISABLED');
    world.clock.advance(2 * 60_000 + 1_000);
    world.google.resetObservations();
    assert.equal((await world.simulator.publish(pod)).ok, true, 'the old content is still valid');
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.status}`), ['access 400'], 'latest is version 2, which is disabled');
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'one');
    const fresh = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/newest-disabled/versions/latest`, 'k'])));
    assert.equal(fresh.code, 'FAILED_PRECONDITION', 'a new pod gets the reason, not version 1');
    assert.match(fresh.message ?? '', /versions\/2\] is in DISABLED state/);
    assert.equal(await exists(fresh.targetPath), false);
    world.addVersion('newest-disabled', 'three');
    world.clock.advance(10 * 60_000);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'k'), 'utf8'), 'three');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('30 pods of one service account starting together: one token exchange, not 30', async () => {
    world.addVersion('shared', 'v');
    world.grant('shared', world.principal('demo', 'app'));
    world.clock.advance(2 * 3_600_000); // past every cached access token
    world.google.resetObservations();
    const pods = Array.from({ length: 30 }, () => world.pod(secretsYaml([`projects/${P}/secrets/shared/versions/latest`, 'v'])));
    const events = await Promise.all(pods.map((pod) => world.simulator.publish(pod)));
    assert.deepEqual(events.filter((e) => !e.ok).map((e) => e.message), []);
    assert.equal(world.google.counts().sts, 1);
    for (const pod of pods) assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('the access token is cached until shortly before it expires, then exchanged again', async () => {
    world.addVersion('cached', 'v');
    world.grant('cached', world.principal('demo', 'app'));
    world.clock.advance(2 * 3_600_000);
    world.google.resetObservations();
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/cached/versions/latest`, 'v']));
    assert.equal((await world.simulator.publish(pod)).ok, true);
    // 1 h token, renewed 5 min before expiry: refreshes every 2 min reuse it until 55 min.
    for (let elapsed = 0; elapsed < 54 * 60_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
    }
    assert.equal(world.google.counts().sts, 1);
    for (let i = 0; i < 4; i++) {
      world.clock.advance(KUBELET_CADENCE_MS);
      await world.simulator.publish(pod);
    }
    assert.equal(world.google.counts().sts, 2);
    assert.ok(world.google.requests.every((r) => r.status === 200));
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a revoked access token (401) is replaced once and the read retried', async () => {
    world.addVersion('revoked', 'v1');
    world.grant('revoked', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/revoked/versions/latest`, 'v']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    world.addVersion('revoked', 'v2');
    world.google.revokeAllTokens();
    world.google.resetObservations();
    world.clock.advance(2 * 60_000 + 1_000);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.status}`), ['access 401', 'sts 200', 'access 200']);
    assert.equal(await readFile(join(published.targetPath, 'v'), 'utf8'), 'v2');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('impersonation with delegates: the pod reads as the Google service account; without the binding, PERMISSION_DENIED', async () => {
    const target = 'final-sa@demo-project.iam.gserviceaccount.com';
    const intermediate = 'intermediate-sa@other-project.iam.gserviceaccount.com';
    world.addVersion('gsa-only', 'for-the-gsa');
    world.grant('gsa-only', `serviceAccount:${target}`);
    world.google.grantTokenCreator(intermediate, world.principal('demo', 'app'));
    world.google.grantTokenCreator(target, `serviceAccount:${intermediate}`);
    const secrets = secretsYaml([`projects/${P}/secrets/gsa-only/versions/latest`, 's']);
    const parameters = { 'iam.gke.io/gcp-service-account': target, 'iam.gke.io/gcp-service-account-delegates': JSON.stringify([intermediate]) };
    world.google.resetObservations();
    const pod = world.pod(secrets, { parameters });
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 's'), 'utf8'), 'for-the-gsa');
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.status}`), ['sts 200', 'iam 200', 'access 200']);

    const direct = await world.simulator.publish(world.pod(secrets));
    assert.equal(direct.code, 'PERMISSION_DENIED', 'the federated identity itself has no access');
    const other = await world.simulator.publish(world.pod(secrets, { serviceAccountName: 'other', parameters }));
    assert.equal(other.ok, false);
    assert.equal(other.code, 'PERMISSION_DENIED');
    assert.match(other.message ?? '', /impersonating final-sa@demo-project\.iam\.gserviceaccount\.com through intermediate-sa@other-project\.iam\.gserviceaccount\.com as demo\/other: access denied: IAM Credentials answered 403 PERMISSION_DENIED/);
    assert.equal(await exists(other.targetPath), false);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('clear errors: a missing secret is NOT_FOUND, a disabled version FAILED_PRECONDITION, a bad resource name INVALID_ARGUMENT, provider-adc refused', async () => {
    world.addVersion('exists', 'x');
    world.grant('exists', world.principal('demo', 'app'));
    const missing = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/exists/versions/9`, 'x'])));
    assert.equal(missing.code, 'NOT_FOUND');
    assert.match(missing.message ?? '', /Secret Version \[projects\/123456789012\/secrets\/exists\/versions\/9\] not found/);
    world.google.setVersionState({ projectNumber: PROJECT.projectNumber, secret: 'exists' }, 1, 'DISABLED');
    const disabled = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/exists/versions/1`, 'x'])));
    assert.equal(disabled.code, 'FAILED_PRECONDITION');
    assert.match(disabled.message ?? '', /is in DISABLED state/);
    world.google.resetObservations();
    const bad = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secret/exists/versions/1`, 'x'])));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message ?? '', /volume_context\.secrets\[0\]\.resourceName: "projects\/demo-project\/secret\/exists\/versions\/1": must be projects\/<project>\/secrets/);
    const adc = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/exists/versions/1`, 'x']), { parameters: { auth: 'provider-adc' } }));
    assert.equal(adc.code, 'INVALID_ARGUMENT');
    assert.match(adc.message ?? '', /volume_context\.auth: "provider-adc" .* this driver holds no Google credentials/);
    assert.equal(world.google.requests.length, 0, 'bad input reaches no backend');
    for (const event of [bad, adc]) assert.equal(await exists(event.targetPath), false);
  });

  test("SecretProviderClasses from the GCP provider's documentation parse and mount unchanged", async () => {
    const spcs = parseAllDocuments(readFileSync(join(fixtures, 'sample-secretproviderclasses.yaml'), 'utf8')).map(
      (d) => d.toJS() as { metadata: { name: string }; spec: { parameters: Record<string, string> } },
    );
    const json = JSON.stringify({ user: 'alice', password: 'p' });
    world.addVersion('testsecret', json);
    world.addVersion('testsecret', json, 'us-central1');
    world.grant('testsecret', world.principal('default', 'mypodserviceaccount'));
    world.grant('testsecret', world.principal('default', 'mypodserviceaccount'), 'us-central1');
    const spc = spcs.find((s) => s.metadata.name === 'app-secrets-with-extract-key');
    assert.ok(spc);
    const pod = { ...world.pod(''), namespace: 'default', serviceAccountName: 'mypodserviceaccount', attributes: { provider: 'gcp', ...spc.spec.parameters } };
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'good1.txt'), 'utf8'), 'alice');
    assert.equal(await readFile(join(published.targetPath, 'good2.txt'), 'utf8'), 'alice');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);

    world.addVersion('test-secret', 'plain');
    world.addVersion('test-secret', 'plain-regional', 'us-central1');
    world.grant('test-secret', world.principal('default', 'mypodserviceaccount'));
    world.grant('test-secret', world.principal('default', 'mypodserviceaccount'), 'us-central1');
    const mode = spcs.find((s) => s.metadata.name === 'gcp-test-secrets-mode');
    assert.ok(mode);
    const modePod = { ...pod, uid: crypto.randomUUID(), name: 'mode-pod', attributes: { provider: 'gcp', ...mode.spec.parameters } };
    const modeEvent = await world.simulator.publish(modePod);
    assert.equal(modeEvent.ok, true, modeEvent.message);
    assert.equal(await readFile(join(modeEvent.targetPath, 'test-secret-regional'), 'utf8'), 'plain-regional');
    assert.equal(((await stat(join(modeEvent.targetPath, '..data', 'test-secret'))).mode & 0o777).toString(8), '400');
    assert.equal((await world.simulator.unpublish(modePod)).ok, true);
  });
});

describe('GCP provider end to end (GKE workload identity: identitybindingtoken)', () => {
  let world: GcpWorld;
  before(async () => {
    world = await GcpWorld.start({ form: 'gke' });
  });
  after(async () => {
    await world.stop();
  });

  test("the pod's <project>.svc.id.goog token is exchanged with the identitynamespace: audience and reads the secret", async () => {
    world.addVersion('gke-secret', 'from-gke');
    world.grant('gke-secret', world.principal('demo', 'app'));
    world.google.resetObservations();
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/gke-secret/versions/latest`, 's']));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 's'), 'utf8'), 'from-gke');
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.status}`), ['gke 200', 'access 200']);
    const other = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/gke-secret/versions/latest`, 's']), { serviceAccountName: 'intruder' }));
    assert.equal(other.code, 'PERMISSION_DENIED');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a CSIDriver whose tokenRequests lack the workload pool audience: INVALID_ARGUMENT naming it, nothing sent', async () => {
    world.addVersion('gke-aud', 'x');
    world.grant('gke-aud', world.principal('demo', 'app'));
    const pod = { ...world.pod(secretsYaml([`projects/${P}/secrets/gke-aud/versions/latest`, 's'])), audiences: ['other'] };
    world.google.resetObservations();
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'INVALID_ARGUMENT');
    assert.equal(world.google.requests.length, 0);
    assert.match(event.message ?? '', /no service-account token for audience "demo-project\.svc\.id\.goog"/);
  });
});

describe('GCP provider: a pod token the exchange refuses', () => {
  let world: GcpWorld;
  before(async () => {
    // The driver presents tokens for an audience the pool provider does not allow.
    world = await GcpWorld.start({ driverArgs: ['--gcp-audience', 'not-the-pool'] });
  });
  after(async () => {
    await world.stop();
  });

  test('STS invalid_grant becomes UNAUTHENTICATED naming the audience, without the token', async () => {
    world.addVersion('s', 'x');
    world.grant('s', world.principal('demo', 'app'));
    const pod = { ...world.pod(secretsYaml([`projects/${P}/secrets/s/versions/latest`, 's'])), audiences: ['not-the-pool'] };
    const request = await world.simulator.buildPublishRequest(pod);
    const tokens = JSON.parse(request.volume_context['csi.storage.k8s.io/serviceAccount.tokens'] ?? '{}') as Record<string, { token: string }>;
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, false);
    assert.equal(event.code, 'UNAUTHENTICATED');
    assert.match(event.message ?? '', /service-account token for audience "not-the-pool" was rejected: token exchange for demo\/app: Google STS answered 400 invalid_grant: The audience in ID Token does not match/);
    for (const { token } of Object.values(tokens)) assert.ok(!(event.message ?? '').includes(token.split('.')[1] ?? 'x'));
    assert.equal(await exists(event.targetPath), false);
  });
});

describe('GCP provider: impersonation asked for by Kubernetes service-account annotations', () => {
  let world: GcpWorld;
  let kubernetes: KubeTestServer;
  let tokenDir: string;
  const target = 'annotated@demo-project.iam.gserviceaccount.com';
  const readsOfServiceAccounts = () => kubernetes.requests.filter((r) => r.resource === 'serviceaccounts').map((r) => `${r.verb} ${r.path} ${r.status}`);
  before(async () => {
    tokenDir = await mkdtemp(join(tmpdir(), 'credmount-gcp-k8s-'));
    // The driver's own Kubernetes identity, as for SecretProviderClass reads (--kubeconfig).
    kubernetes = await KubeTestServer.start({ token: 'driver-own-kubernetes-token' });
    await kubernetes.writeKubeconfig(join(tokenDir, 'kubeconfig'));
    world = await GcpWorld.start({
      driverArgs: ['--gcp-service-account-annotations=true', '--kubeconfig', join(tokenDir, 'kubeconfig')],
    });
    world.addVersion('annotated', 'via-annotation');
    world.grant('annotated', `serviceAccount:${target}`);
    world.google.grantTokenCreator(target, world.principal('demo', 'app'));
  });
  after(async () => {
    await world.stop();
    await kubernetes.stop();
    await rm(tokenDir, { recursive: true, force: true });
  });

  test('iam.gke.io/gcp-service-account on the pod’s service account is impersonated, as upstream does', async () => {
    kubernetes.putServiceAccount('demo', 'app', { 'iam.gke.io/gcp-service-account': target });
    world.google.resetObservations();
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/annotated/versions/latest`, 's']));
    const event = await world.simulator.publish(pod);
    assert.equal(event.ok, true, event.message);
    assert.equal(await readFile(join(event.targetPath, 's'), 'utf8'), 'via-annotation');
    assert.deepEqual(world.google.requests.map((r) => `${r.kind} ${r.resource.split('/').pop() ?? ''} ${r.status}`), ['sts  200', `iam ${target} 200`, 'access latest 200']);
    assert.deepEqual(readsOfServiceAccounts(), ['get /api/v1/namespaces/demo/serviceaccounts/app 200']);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('a malformed annotation is INVALID_ARGUMENT naming the service account and annotation; an unknown account NOT_FOUND', async () => {
    kubernetes.putServiceAccount('demo', 'broken', { 'iam.gke.io/gcp-service-account': target, 'iam.gke.io/gcp-service-account-delegates': 'not-json' });
    const broken = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/annotated/versions/latest`, 's']), { serviceAccountName: 'broken' }));
    assert.equal(broken.code, 'INVALID_ARGUMENT');
    assert.match(broken.message ?? '', /ServiceAccount demo\/broken annotation iam\.gke\.io\/gcp-service-account-delegates: must be a JSON list/);
    const unknown = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/annotated/versions/latest`, 's']), { serviceAccountName: 'ghost' }));
    assert.equal(unknown.code, 'NOT_FOUND');
    assert.match(unknown.message ?? '', /Kubernetes service account demo\/ghost does not exist/);
  });

  test('a driver without RBAC for service accounts gets a clear FAILED_PRECONDITION, not the API’s raw answer', async () => {
    kubernetes.deny('get', 'serviceaccounts');
    const event = await world.simulator.publish(world.pod(secretsYaml([`projects/${P}/secrets/annotated/versions/latest`, 's']), { serviceAccountName: 'rbac' }));
    kubernetes.allow('get', 'serviceaccounts');
    assert.ok(readsOfServiceAccounts().includes('get /api/v1/namespaces/demo/serviceaccounts/rbac 403'));
    assert.equal(event.code, 'FAILED_PRECONDITION');
    assert.match(event.message ?? '', /needs "get" on "serviceaccounts"/);
    assert.ok(!(event.message ?? '').includes('driver-own-kubernetes-token'));
  });
});

describe('GCP provider: short-lived federated tokens', () => {
  let world: GcpWorld;
  before(async () => {
    world = await GcpWorld.start({ federatedTokenSeconds: 600 });
  });
  after(async () => {
    await world.stop();
  });

  test('a 10-minute token is renewed a quarter of its life before expiry (at 7.5 min), never used past it', async () => {
    world.addVersion('short', 'v');
    world.grant('short', world.principal('demo', 'app'));
    const pod = world.pod(secretsYaml([`projects/${P}/secrets/short/versions/latest`, 'v']));
    const started = world.clock.now();
    assert.equal((await world.simulator.publish(pod)).ok, true);
    for (let elapsed = 0; elapsed < 20 * 60_000; elapsed += KUBELET_CADENCE_MS) {
      world.clock.advance(KUBELET_CADENCE_MS);
      assert.equal((await world.simulator.publish(pod)).ok, true);
    }
    const exchanges = world.google.requests.filter((r) => r.kind === 'sts').map((r) => Math.round((r.at - started) / 60_000));
    // refreshes every 2 min (t = 2, 4, 6, ...): the token from t=0 is renewed at the first refresh
    // at or after 7.5 min (t=8), that one at or after 15.5 min (t=16).
    assert.deepEqual(exchanges, [0, 8, 16]);
    assert.ok(world.google.requests.every((r) => r.status === 200), 'never an expired token (401)');
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

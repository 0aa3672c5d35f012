import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AttributeDefaults } from '../../../../src/providers/certificates/attributes.js';
import { CertificatesProvider, renewalTime } from '../../../../src/providers/certificates/certificates-provider.js';
import { DevCaSigner } from '../../../../src/providers/certificates/signers/dev-ca-signer.js';
import type { Signer } from '../../../../src/providers/certificates/signers/signer.js';
import type { FetchResult } from '../../../../src/providers/provider.js';

const identity = { namespace: 'demo', podName: 'web-0', podUid: '6c1d3a57-7b44-4c1b-9d59-0d5b1f8a2e10', serviceAccountName: 'web' };
const defaults: AttributeDefaults = { vaultAddress: '', vaultAuthMountPath: 'kubernetes', vaultAudience: 'vault', vaultPkiMount: 'pki', vaultAllowedAddresses: [], maxDurationMs: 8760 * 3_600_000 };
const devCa = { 'csi.cert-manager.io/issuer-name': 'dev', 'csi.cert-manager.io/issuer-kind': 'DevCA', 'csi.cert-manager.io/issuer-group': 'credmount.dev' };

function provider(signer: () => Promise<Signer> = async () => new DevCaSigner(() => new Date())): CertificatesProvider {
  return new CertificatesProvider({ defaults, signers: { 'dev-ca': signer } });
}

async function fetch(p: CertificatesProvider, attrs: Record<string, string>, now = new Date(), volumeId = 'csi-vol-1'): Promise<FetchResult> {
  const parsed = p.parse({ ...devCa, ...attrs }, identity);
  return p.fetch({ volumeId, identity, tokens: new Map(), parameters: parsed.value, previousVersions: undefined, now, signal: new AbortController().signal });
}

function file(result: FetchResult, name: string): string {
  const found = result.files.find((f) => f.path === name);
  assert.ok(found !== undefined, `${name} is written`);
  return Buffer.from(found.content).toString('utf8');
}

describe('certificates provider with the development CA', () => {
  test('key, certificate and CA: the key matches the certificate, which the CA issued, renewed at 2/3', async () => {
    const p = provider();
    const now = new Date();
    const result = await fetch(p, { 'csi.cert-manager.io/common-name': '${POD_NAME}', 'csi.cert-manager.io/duration': '2m', 'csi.cert-manager.io/key-algorithm': 'ECDSA' }, now);
    const certificate = new X509Certificate(file(result, 'tls.crt'));
    assert.ok(certificate.checkPrivateKey(createPrivateKey(file(result, 'tls.key'))));
    assert.ok(certificate.verify(new X509Certificate(file(result, 'ca.crt')).publicKey));
    assert.equal(certificate.subject, 'CN=web-0');
    assert.deepEqual(result.files.map((f) => [f.path, f.mode]), [['tls.key', 0o644], ['tls.crt', 0o644], ['ca.crt', 0o644]]);
    assert.equal(result.expiresAt?.getTime(), Date.parse(certificate.validTo));
    const issued = Math.floor(now.getTime() / 1000) * 1000;
    // lifetime counted from issuance (the dev CA back-dates NotBefore by 30 s): 2/3 of 2 min
    assert.ok(Math.abs(result.refreshAt.getTime() - (issued + 80_000)) <= 1_000, `refresh ${result.refreshAt.getTime() - issued} ms after issuance`);
    assert.equal(result.versions['certificate'], certificate.serialNumber.toLowerCase());
    await p.close();
  });

  test('every fetch makes a new key unless reuse-private-key is set; fs-group makes files 0640', async () => {
    const p = provider();
    const attrs = { 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA' };
    assert.notEqual(file(await fetch(p, attrs), 'tls.key'), file(await fetch(p, attrs), 'tls.key'));
    const reuse = { ...attrs, 'csi.cert-manager.io/reuse-private-key': 'true', 'csi.cert-manager.io/fs-group': '2000' };
    const first = await fetch(p, reuse);
    const second = await fetch(p, reuse);
    assert.equal(file(first, 'tls.key'), file(second, 'tls.key'));
    assert.notEqual(first.versions['certificate'], second.versions['certificate']);
    assert.ok(first.files.every((f) => f.mode === 0o640));
    assert.equal(first.fileGroup, 2000, 'fs-group: the files belong to that group');
    assert.equal((await fetch(p, attrs)).fileGroup, undefined, "without fs-group the pod's fsGroup (if any) applies");
    p.release('csi-vol-1');
    assert.notEqual(file(await fetch(p, reuse), 'tls.key'), file(first, 'tls.key'), 'released volumes forget their key');
    await p.close();
  });

  test('renew-before is honoured when it leaves some life; PKCS#1 RSA keys by default', async () => {
    const p = provider();
    const now = new Date();
    const result = await fetch(p, { 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/duration': '1h', 'csi.cert-manager.io/renew-before': '10m' }, now);
    assert.equal(result.refreshAt.getTime(), result.expiresAt!.getTime() - 600_000);
    assert.match(file(result, 'tls.key'), /^-----BEGIN RSA PRIVATE KEY-----/);
    await p.close();
  });

  test('PKCS#12: the keystore opens with the password (openssl) and holds the same key and certificate', async () => {
    const p = provider();
    const result = await fetch(p, { 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/pkcs12-enable': 'true', 'csi.cert-manager.io/pkcs12-password': 'ünïcode pass' });
    const dir = mkdtempSync(join(tmpdir(), 'credmount-p12-'));
    try {
      const path = join(dir, 'keystore.p12');
      writeFileSync(path, result.files.find((f) => f.path === 'keystore.p12')!.content);
      const dump = execFileSync('openssl', ['pkcs12', '-in', path, '-passin', 'pass:ünïcode pass', '-nodes'], { encoding: 'utf8' });
      const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(dump)?.[0] ?? '';
      const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(dump)?.[0] ?? '';
      assert.equal(new X509Certificate(cert).serialNumber, new X509Certificate(file(result, 'tls.crt')).serialNumber);
      assert.ok(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)));
      assert.throws(() => execFileSync('openssl', ['pkcs12', '-in', path, '-passin', 'pass:wrong', '-nodes'], { stdio: 'pipe' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await p.close();
  });

  test('reuse-private-key: a fetch abandoned before it finished keeps no key for the volume (release already ran)', async () => {
    const p = provider();
    const controller = new AbortController();
    const parsed = p.parse({ ...devCa, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/reuse-private-key': 'true' }, identity);
    const pending = p.fetch({ volumeId: 'csi-gone', identity, tokens: new Map(), parameters: parsed.value, previousVersions: undefined, now: new Date(), signal: controller.signal });
    // the deadline passes while the RSA key is made on the thread pool; the volume is unpublished
    setImmediate(() => {
      controller.abort(new Error('deadline'));
      p.release('csi-gone');
    });
    await assert.rejects(pending, /deadline/);
    assert.equal((p as unknown as { keptKeys: Map<string, unknown> }).keptKeys.size, 0);
    await p.close();
  });

  test('the development CA refuses CA certificates; a signer that is not configured is INVALID_ARGUMENT', async () => {
    const p = provider();
    await assert.rejects(fetch(p, { 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/is-ca': 'true' }), /does not issue CA certificates/);
    assert.throws(() => p.parse({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.cert-manager.io/common-name': 'x' }, identity), /this driver has no cert-manager signer configured/);
  });
});

describe('renewal time (csi-driver calculateNextIssuanceTime)', () => {
  const start = Date.UTC(2026, 0, 1);
  test('2/3 of the lifetime by default', () => {
    assert.equal(renewalTime(start, start + 90_000, start, undefined), start + 60_000);
  });
  test('renew-before when it leaves some life, else the default', () => {
    assert.equal(renewalTime(start, start + 3_600_000, start, 600_000), start + 3_000_000);
    assert.equal(renewalTime(start, start + 3_600_000, start, 3_600_000), start + 2_400_000);
  });
  test('a back-dated NotBefore does not pull renewal earlier', () => {
    assert.equal(renewalTime(start - 30_000, start + 120_000, start, undefined), start + 80_000);
  });
});

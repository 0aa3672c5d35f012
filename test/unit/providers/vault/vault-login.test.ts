import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Agent } from 'undici';
import { ServiceAccountTokenIssuer } from '../../../../src/cli/kubelet-sim/token-issuer.js';
import type { PodIdentity, ServiceAccountToken } from '../../../../src/providers/provider.js';
import { VaultLogins, type LoginTarget } from '../../../../src/providers/vault/vault-login.js';
import { VaultTestServer } from '../../../support/vault-server/index.js';

const UID = '0d7c9a1e-2b3f-4e5a-8c6d-7e8f9a0b1c2d';
const RECREATED_UID = '9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b';

/** VaultLogins against the Vault test server: which pods share a login. */
describe('VaultLogins', () => {
  let issuer: ServiceAccountTokenIssuer;
  let vault: VaultTestServer;
  let agent: Agent;
  let target: LoginTarget;
  before(async () => {
    issuer = await ServiceAccountTokenIssuer.create();
    vault = await VaultTestServer.start({ now: () => Date.now(), jwks: { keys: issuer.jwks().keys.map((key) => ({ ...key })) } });
    vault.addKubernetesRole('kubernetes', 'app', { boundServiceAccountNames: ['app'], boundServiceAccountNamespaces: ['demo'], audience: 'vault', policies: [], tokenTtlSeconds: 600 });
    agent = new Agent();
    target = { address: vault.url, namespace: undefined, mountPath: 'kubernetes', role: 'app', audience: 'vault', tlsKey: '', agent };
  });
  after(async () => {
    await agent.close();
    await vault.stop();
  });
  beforeEach(() => vault.resetObservations());

  const pod = (name: string): PodIdentity => ({ namespace: 'demo', podName: name, podUid: `uid-of-${name}`, serviceAccountName: 'app' });
  /** A pod's token as the kubelet layer hands it over (kubelet/token-claims.ts reads the uid claim). */
  const tokenOf = async (identity: PodIdentity, serviceAccountUid: string): Promise<ServiceAccountToken> => {
    const minted = await issuer.mint({ ...identity, audience: 'vault', serviceAccountUid });
    return { audience: 'vault', token: minted.token, expiresAt: new Date(minted.expirationTimestamp), serviceAccountUid };
  };
  const session = async (logins: VaultLogins, identity: PodIdentity, uid: string) => logins.session(target, identity, await tokenOf(identity, uid), Date.now(), new AbortController().signal);

  test('on a shared mount, pods of one service account share a login; an account created again under the same name (another uid) logs in itself', async () => {
    const logins = new VaultLogins({ sharedLoginMounts: ['kubernetes'] });
    const a = await session(logins, pod('a'), UID);
    const b = await session(logins, pod('b'), UID);
    assert.equal(b.token, a.token, 'the same account: one login');
    assert.equal(vault.counts().login, 1);
    const c = await session(logins, pod('c'), RECREATED_UID);
    assert.notEqual(c.token, a.token, "the old account's Vault token is not handed to the new one");
    assert.equal(c.fresh, true);
    assert.equal(vault.counts().login, 2);
  });

  test('on a mount not listed as shared, every pod logs in with its own token', async () => {
    const logins = new VaultLogins({ sharedLoginMounts: [] });
    const a = await session(logins, pod('a'), UID);
    const again = await session(logins, pod('a'), UID);
    const b = await session(logins, pod('b'), UID);
    assert.equal(again.token, a.token, 'the same pod again: its login is remembered');
    assert.notEqual(b.token, a.token);
    assert.equal(vault.counts().login, 2);
  });
});

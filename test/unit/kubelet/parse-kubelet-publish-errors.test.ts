import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Errors } from '../../../src/errors/catalogue.js';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import { parseKubeletPublish } from '../../../src/kubelet/index.js';
import {
  FIXTURE_NOW,
  fixtureTokens,
  jwtsIn,
  loadFixture,
  type NodePublishVolumeJson,
  TOKENS_KEY,
  toKubeletPublishInput,
  type TokensJsonEntry,
} from './fixtures.js';

const options = { now: FIXTURE_NOW, defaultProvider: 'vault' };
const TOKENS_FIELD = 'csi.storage.k8s.io/serviceAccount.tokens';
const ctx = (key: string) => `volume_context[${JSON.stringify(key)}]`;

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** The claims of the fixture's "vault" token, to alter. */
function fixtureClaims(): Record<string, unknown> {
  const token = fixtureTokens(loadFixture('publish-tokens-in-volume-context'))['vault']?.token ?? '';
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A syntactically real JWT (the driver does not verify signatures, so a random one will do). */
function jwt(claims: unknown, header: unknown = { alg: 'RS256', kid: 'test' }): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}.${b64url(randomBytes(256))}`;
}

/** The claim layout of a bound token, loosely typed so that tests can break it. */
type Claims = Record<string, unknown> & {
  'kubernetes.io': { namespace: string; pod: { name: string; uid: string }; serviceaccount: { name: string; uid: string } };
};

function altered(change: (claims: Claims) => void): string {
  const claims = fixtureClaims() as Claims;
  change(claims);
  return jwt(claims);
}

/** The volume-context fixture with its "vault" tokens entry replaced. */
function withVaultEntry(entry: unknown): NodePublishVolumeJson {
  const request = loadFixture('publish-tokens-in-volume-context');
  const tokens: Record<string, unknown> = fixtureTokens(request);
  tokens['vault'] = entry;
  request.volume_context[TOKENS_KEY] = JSON.stringify(tokens);
  return request;
}

function withVaultToken(token: string, expirationTimestamp = '2026-11-28T14:17:22Z'): NodePublishVolumeJson {
  return withVaultEntry({ token, expirationTimestamp } satisfies TokensJsonEntry);
}

function mutate(change: (request: NodePublishVolumeJson) => void, fixture: 'publish-tokens-in-volume-context' | 'publish-tokens-in-secrets' = 'publish-tokens-in-volume-context') {
  const request = loadFixture(fixture);
  change(request);
  return request;
}

interface Case {
  name: string;
  request: NodePublishVolumeJson;
  code: string;
  field: string;
  now?: Date;
  /** Secret strings beyond the JWTs found in the request. */
  secrets?: string[];
  message?: RegExp;
}

const OPAQUE = 'opaque-bearer-5f1c2d9e7a3b4c60';
const truncatedJson = (() => {
  const request = loadFixture('publish-tokens-in-volume-context');
  return (request.volume_context[TOKENS_KEY] ?? '').slice(0, -2);
})();

const cases: Case[] = [
  // --- pod info ---
  ...(['pod.name', 'pod.namespace', 'pod.uid', 'serviceAccount.name'] as const).map(
    (key): Case => ({
      name: `missing csi.storage.k8s.io/${key}`,
      request: mutate((r) => delete r.volume_context[`csi.storage.k8s.io/${key}`]),
      code: Errors.fieldMissing.code,
      field: ctx(`csi.storage.k8s.io/${key}`),
    }),
  ),
  {
    name: 'empty csi.storage.k8s.io/serviceAccount.name',
    request: mutate((r) => (r.volume_context['csi.storage.k8s.io/serviceAccount.name'] = '')),
    code: Errors.fieldMissing.code,
    field: ctx('csi.storage.k8s.io/serviceAccount.name'),
  },
  {
    name: 'pod uid that is not a UID',
    request: mutate((r) => (r.volume_context['csi.storage.k8s.io/pod.uid'] = '../../etc')),
    code: Errors.fieldInvalid.code,
    field: ctx('csi.storage.k8s.io/pod.uid'),
  },
  {
    name: 'namespace that is not a DNS-1123 label',
    request: mutate((r) => (r.volume_context['csi.storage.k8s.io/pod.namespace'] = 'Payments_Prod')),
    code: Errors.fieldInvalid.code,
    field: ctx('csi.storage.k8s.io/pod.namespace'),
  },
  {
    name: 'non-ephemeral (PersistentVolume) publish',
    request: mutate((r) => (r.volume_context['csi.storage.k8s.io/ephemeral'] = 'false')),
    code: Errors.fieldInvalid.code,
    field: ctx('csi.storage.k8s.io/ephemeral'),
    message: /only inline ephemeral volumes/,
  },
  // --- attributes ---
  {
    name: 'empty provider attribute',
    request: mutate((r) => (r.volume_context['provider'] = '')),
    code: Errors.fieldInvalid.code,
    field: 'volume_context.provider',
  },
  ...['-1', '2147483648', 'abc', '1e3', ' 2000', '02000', '20.5'].map(
    (value): Case => ({
      name: `mount group ${JSON.stringify(value)}`,
      request: mutate((r) => (r.volume_capability.mount.volume_mount_group = value), 'publish-tokens-in-secrets'),
      code: Errors.fieldInvalid.code,
      field: 'volume_capability.mount.volume_mount_group',
    }),
  ),
  // --- tokens JSON ---
  {
    name: 'tokens JSON that is not JSON (truncated, token inside)',
    request: mutate((r) => (r.volume_context[TOKENS_KEY] = truncatedJson)),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
    message: /^volume_context\["csi\.storage\.k8s\.io\/serviceAccount\.tokens"\] is not valid: it is not valid JSON/,
  },
  {
    name: 'tokens JSON that is not JSON, in secrets',
    request: mutate((r) => (r.secrets[TOKENS_KEY] = `{"vault": ${OPAQUE}}`), 'publish-tokens-in-secrets'),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
    secrets: [OPAQUE],
    message: /^secrets\[/,
  },
  {
    name: 'tokens JSON that is an array',
    request: mutate((r) => (r.volume_context[TOKENS_KEY] = JSON.stringify(Object.values(fixtureTokens(r))))),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'tokens entry without token',
    request: withVaultEntry({ expirationTimestamp: '2026-11-28T14:17:22Z' }),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'tokens entry that is a bare string',
    request: withVaultEntry(OPAQUE),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
    secrets: [OPAQUE],
  },
  {
    name: 'tokens entry with a bad expirationTimestamp',
    request: withVaultToken(altered(() => undefined), '2026-02-30T00:00:00Z'),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'tokens entry with a timestamp without zone',
    request: withVaultToken(altered(() => undefined), '2026-11-28 14:17:22'),
    code: Errors.tokensMalformed.code,
    field: TOKENS_FIELD,
  },
  // --- the token itself ---
  {
    name: 'token that is not a JWT',
    request: withVaultToken(OPAQUE),
    code: Errors.tokenMalformed.code,
    field: TOKENS_FIELD,
    secrets: [OPAQUE],
  },
  {
    name: 'JWT whose payload is not JSON',
    request: withVaultToken(`${b64url('{"alg":"RS256"}')}.${b64url(`payload ${OPAQUE}`)}.${b64url(randomBytes(64))}`),
    code: Errors.tokenMalformed.code,
    field: TOKENS_FIELD,
    secrets: [OPAQUE],
  },
  {
    name: 'unsigned JWT (alg none)',
    request: withVaultToken(jwt(fixtureClaims(), { alg: 'none' })),
    code: Errors.tokenMalformed.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'JWT without kubernetes.io claims',
    request: withVaultToken(altered((c) => delete (c as Record<string, unknown>)['kubernetes.io'])),
    code: Errors.tokenMalformed.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'expired token (exp <= now)',
    request: loadFixture('publish-tokens-in-volume-context'),
    now: new Date('2026-11-28T14:17:22Z'),
    code: Errors.tokenExpired.code,
    field: TOKENS_FIELD,
    message: /expired at 2026-11-28T14:17:22Z/,
  },
  {
    name: 'expirationTimestamp in the past although exp is not',
    request: withVaultToken(altered(() => undefined), '2026-11-28T13:00:00Z'),
    code: Errors.tokenExpired.code,
    field: TOKENS_FIELD,
  },
  {
    name: 'token of another pod uid',
    request: withVaultToken(altered((c) => (c['kubernetes.io'].pod.uid = '00000000-0000-4000-8000-000000000000'))),
    code: Errors.tokenIdentityMismatch.code,
    field: TOKENS_FIELD,
    message: /kubernetes\.io\.pod\.uid/,
  },
  {
    name: 'token of another namespace',
    request: withVaultToken(altered((c) => (c['kubernetes.io'].namespace = 'billing'))),
    code: Errors.tokenIdentityMismatch.code,
    field: TOKENS_FIELD,
    message: /kubernetes\.io\.namespace/,
  },
  {
    name: 'token of another pod name',
    request: withVaultToken(altered((c) => (c['kubernetes.io'].pod.name = 'billing-other'))),
    code: Errors.tokenIdentityMismatch.code,
    field: TOKENS_FIELD,
    message: /kubernetes\.io\.pod\.name/,
  },
  {
    name: 'token of another service account',
    request: withVaultToken(altered((c) => (c['kubernetes.io'].serviceaccount.name = 'default'))),
    code: Errors.tokenIdentityMismatch.code,
    field: TOKENS_FIELD,
    message: /kubernetes\.io\.serviceaccount\.name/,
  },
  {
    name: 'sub that does not match the service account',
    request: withVaultToken(altered((c) => (c['sub'] = 'system:serviceaccount:payments:default'))),
    code: Errors.tokenIdentityMismatch.code,
    field: TOKENS_FIELD,
    message: /claim sub/,
  },
  {
    name: 'aud that does not contain the audience',
    request: withVaultToken(altered((c) => (c['aud'] = ['https://kubernetes.default.svc.cluster.local']))),
    code: Errors.tokenMalformed.code,
    field: TOKENS_FIELD,
    message: /aud claim/,
  },
];

describe('parseKubeletPublish: malformed calls', () => {
  it('has at least 15 cases', () => assert.ok(cases.length >= 15));

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const secrets = [...jwtsIn(c.request), ...(c.secrets ?? [])];
      const signatures = secrets.map((s) => s.split('.')[2] ?? '').filter((s) => s.length >= 16);
      assert.throws(
        () => parseKubeletPublish(toKubeletPublishInput(c.request), { ...options, now: c.now ?? options.now }),
        (error: unknown) => {
          assert.ok(isCredmountError(error), `not a CredmountError: ${String(error)}`);
          assert.equal(error.code, c.code, error.message);
          assert.equal(error.status, 'INVALID_ARGUMENT');
          assert.equal(error.field, c.field);
          if (c.message !== undefined) assert.match(error.message, c.message);
          // Nothing of a token in the message, nor anywhere a logger could reach (cause, stack).
          const everything = `${error.message}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`;
          for (const secret of [...secrets, ...signatures]) assert.equal(everything.includes(secret), false, `error text contains ${secret.slice(0, 12)}…`);
          return true;
        },
      );
    });
  }

  it('names the missing provider when there is no default', () => {
    const request = mutate((r) => delete r.volume_context['provider']);
    assert.throws(() => parseKubeletPublish(toKubeletPublishInput(request), { ...options, defaultProvider: '' }), {
      code: Errors.fieldMissing.code,
      field: 'volume_context.provider',
    });
  });

  it('reports pod.name first when pod info is missing entirely (podInfoOnMount: false)', () => {
    const request = mutate((r) => {
      for (const key of Object.keys(r.volume_context)) if (key.startsWith('csi.storage.k8s.io/pod') || key.includes('serviceAccount.name')) delete r.volume_context[key];
    });
    assert.throws(() => parseKubeletPublish(toKubeletPublishInput(request), options), { field: ctx('csi.storage.k8s.io/pod.name') });
  });
});

describe('parseKubeletPublish: the service account uid claim', () => {
  it("is optional: a token without a string kubernetes.io.serviceaccount.uid is accepted, with serviceAccountUid ''", () => {
    const withUid = (uid: unknown) => {
      const parsed = parseKubeletPublish(toKubeletPublishInput(withVaultToken(altered((c) => ((c['kubernetes.io'].serviceaccount as Record<string, unknown>)['uid'] = uid)))), options);
      return parsed.tokens.get('vault')?.serviceAccountUid;
    };
    assert.equal(withUid('6a1f0c3e-2d4b-4e5f-9a8b-7c6d5e4f3a2b'), '6a1f0c3e-2d4b-4e5f-9a8b-7c6d5e4f3a2b');
    assert.equal(withUid(undefined), '');
    assert.equal(withUid(42), '');
    assert.equal(withUid({ nested: 'x' }), '');
  });
});

/**
 * Test helpers over the kubelet fixtures (copies of /work/shared/fixtures, see fixtures/README.md):
 * real NodePublishVolume bodies as kubelet sends them, with real RS256 tokens.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { KubeletPublishInput } from '../../../src/kubelet/index.js';

/** A NodePublishVolumeRequest as JSON with proto field names (the subset kubelet fills in). */
export interface NodePublishVolumeJson {
  volume_id: string;
  target_path: string;
  readonly: boolean;
  secrets: Record<string, string>;
  volume_context: Record<string, string>;
  volume_capability: {
    mount: { fs_type: string; mount_flags: string[]; volume_mount_group: string };
    access_mode: { mode: string };
  };
}

export type FixtureName = 'publish-tokens-in-volume-context' | 'publish-tokens-in-secrets';

/** Before the fixture tokens' expiry (2026-11-28T14:17:22Z) and after their iat/nbf (13:17:22Z). */
export const FIXTURE_NOW = new Date('2026-11-28T13:30:00Z');
export const FIXTURE_EXPIRY = new Date('2026-11-28T14:17:22Z');
export const FIXTURE_POD = {
  namespace: 'payments',
  podName: 'billing-7d9f8c6b5-x2kqp',
  podUid: '9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10',
  serviceAccountName: 'billing',
  volumeName: 'creds',
} as const;
/** `kubernetes.io.serviceaccount.uid` of the fixture's tokens, by audience (the two were minted with different ones). */
export const FIXTURE_SERVICE_ACCOUNT_UIDS: Readonly<Record<string, string>> = { '': '5eb6ec8b-b08e-46e2-b1b4-3c60f0e8ee69', vault: '3f49886c-590a-4ca7-b9d4-136cb6e4828e' };
export const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';

/** The repository root: tests run from it (npm test), but find it by its package.json to be safe. */
export function projectRoot(): string {
  const fromEnv = process.env['CREDMOUNT_ROOT'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  let dir = process.cwd();
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'credmount') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the credmount project root from the working directory; set CREDMOUNT_ROOT');
    dir = parent;
  }
}

export function fixturePath(file: string): string {
  return join(projectRoot(), 'test', 'unit', 'kubelet', 'fixtures', file);
}

/** A fresh deep copy each time, so tests can mutate it. */
export function loadFixture(name: FixtureName): NodePublishVolumeJson {
  return JSON.parse(readFileSync(fixturePath(`${name}.json`), 'utf8')) as NodePublishVolumeJson;
}

export function loadFixtureJwks(): { keys: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(fixturePath('apiserver-jwks.json'), 'utf8')) as { keys: Record<string, unknown>[] };
}

/** What csi/ hands to kubelet/ after its own argument checks. */
export function toKubeletPublishInput(request: NodePublishVolumeJson): KubeletPublishInput {
  return {
    volumeId: request.volume_id,
    targetPath: request.target_path,
    readOnly: request.readonly,
    volumeMountGroup: request.volume_capability.mount.volume_mount_group,
    secrets: request.secrets,
    volumeContext: request.volume_context,
  };
}

export interface TokensJsonEntry {
  token: string;
  expirationTimestamp: string;
}

/** The tokens JSON of a fixture, wherever it is. */
export function fixtureTokens(request: NodePublishVolumeJson): Record<string, TokensJsonEntry> {
  const json = request.secrets[TOKENS_KEY] ?? request.volume_context[TOKENS_KEY];
  if (json === undefined) throw new Error('fixture has no tokens');
  return JSON.parse(json) as Record<string, TokensJsonEntry>;
}

/** Every JWT-looking string in a value: what an error message must never contain. */
export function jwtsIn(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g)].map((m) => m[0]);
}

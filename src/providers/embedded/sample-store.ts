import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A demo store for the embedded provider: two secrets for one service account and a policy that
 * lets it read them and ask for certificates. Used by the demo command and by tests.
 *
 * Secret values are random and written only if the file does not exist yet, so running the demo
 * twice keeps them (and their versions) stable; policy.yaml is always rewritten.
 */

export interface SampleStoreOptions {
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

export interface SampleStore {
  readonly storeDir: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Secret paths (relative to `secrets/`) the policy allows. */
  readonly secretPaths: readonly string[];
  /** A ready-made `objects` volume parameter: both secrets and a certificate for the pod. */
  readonly objectsParameter: string;
}

export async function writeSampleStore(storeDir: string, options: SampleStoreOptions = {}): Promise<SampleStore> {
  const namespace = options.namespace ?? 'demo';
  const serviceAccount = options.serviceAccount ?? 'app';
  const secretPaths = [`${namespace}/db-password`, `${namespace}/api-key`];

  // 1. secrets/, owner-only like a real secret store
  await mkdir(join(storeDir, 'secrets', namespace), { recursive: true, mode: 0o700 });
  for (const secretPath of secretPaths) {
    try {
      await writeFile(join(storeDir, 'secrets', secretPath), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error: unknown) {
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST')) throw error;
    }
  }

  // 2. the policy: this service account, its namespace's secrets, certificates up to an hour
  const policy = [
    '# Who may read what from this embedded store (see docs/embedded-provider.md).',
    'rules:',
    `  - namespace: ${JSON.stringify(namespace)}`,
    `    serviceAccount: ${JSON.stringify(serviceAccount)}`,
    `    secrets: [${JSON.stringify(`${namespace}/*`)}]`,
    '    certificates: true',
    '    maxCertificateTtl: 1h',
    '',
  ].join('\n');
  await writeFile(join(storeDir, 'policy.yaml'), policy, { mode: 0o600 });

  const objectsParameter = [
    '- objectName: db-password',
    `  secretPath: ${JSON.stringify(secretPaths[0])}`,
    '- objectName: api-key',
    `  secretPath: ${JSON.stringify(secretPaths[1])}`,
    '  filePermission: "0640"',
    '- objectName: tls',
    '  certificate:',
    '    commonName: "${POD_NAME}"',
    '    dnsNames: ["${POD_NAME}.${POD_NAMESPACE}.svc", "localhost"]',
    '    ipAddresses: ["127.0.0.1"]',
    '    uris: ["spiffe://cluster.local/ns/${POD_NAMESPACE}/sa/${SERVICE_ACCOUNT_NAME}"]',
    '    ttl: 10m',
    '',
  ].join('\n');
  return { storeDir, namespace, serviceAccount, secretPaths, objectsParameter };
}

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { findOne, REPO_ROOT, renderChart, type K8sObject } from './chart-support.js';
import { validateAgainstOpenApi } from './openapi-validate.js';

/**
 * The README's install section is a copy-paste path: its commands and manifests must agree with
 * each other and with the chart they install (names, namespaces, audiences), since no cluster runs
 * them here.
 */

async function installScript(): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Install in a cluster'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block !== undefined, 'the install section has a sh block');
  return block;
}

function heredoc(script: string, tag: string): string {
  const body = new RegExp(`<<'${tag}'\\n([\\s\\S]*?)\\n${tag}\\n`).exec(script)?.[1];
  assert.ok(body !== undefined, `a <<'${tag}' heredoc`);
  return body;
}

/** `key=value` words of a command (shell line continuations joined). */
function keyValues(command: string): Record<string, string> {
  return Object.fromEntries([...command.replace(/\\\n\s*/g, ' ').matchAll(/(?:^|\s)([a-z_]+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
}

it('README install: the Vault role, the chart it installs and the pod agree on names, namespaces and the token audience', async () => {
  const script = await installScript();
  // 1. The chart exactly as the README installs it.
  const install = /helm install credmount deploy\/helm\/credmount ([\s\S]*?)\n(?!\s)/.exec(script)?.[1] ?? '';
  const namespace = /--namespace (\S+)/.exec(install)?.[1];
  assert.equal(namespace, 'credmount');
  const sets = [...install.matchAll(/--set (\S+)/g)].map((m) => m[1] as string);
  assert.ok(sets.length >= 3, install);
  const objects = await renderChart({ set: sets });
  const ds = findOne(objects, 'DaemonSet');
  assert.ok(script.includes(`kubectl -n ${namespace} rollout status daemonset/${ds.metadata.name} `), `the README waits for the DaemonSet the chart creates (${ds.metadata.name})`);
  const image = (ds as unknown as { spec: { template: { spec: { containers: { name: string; image: string; args: string[] }[] } } } }).spec.template.spec.containers.find((c) => c.name === 'driver');
  assert.ok(image);
  const built = /docker build -t (\S+) \./.exec(script)?.[1];
  assert.equal(image.image, built, 'the DaemonSet runs the image the README builds');
  assert.ok(script.includes(`kind load docker-image ${built}`));
  const vaultAddress = image.args.find((a) => a.startsWith('--vault-address='))?.slice('--vault-address='.length);
  assert.ok(vaultAddress !== undefined);
  const tokenRequests = (findOne(objects, 'CSIDriver') as unknown as { spec: { tokenRequests: { audience: string }[] } }).spec.tokenRequests.map((t) => t.audience);

  // 2. The Vault the README installs answers at that address (release "vault" in namespace "vault").
  const vaultRelease = /helm install (\S+) hashicorp\/vault --namespace (\S+)/.exec(script);
  assert.ok(vaultRelease);
  assert.equal(vaultAddress, `http://${vaultRelease[1]}.${vaultRelease[2]}.svc:8200`, 'dev-mode Vault serves plain HTTP on 8200 behind the service named after the release');

  // 3. The Vault role: bound to the pod's service account and namespace, with an audience kubelet requests.
  const vaultScript = heredoc(script, 'VAULT');
  const roleLine = /vault write auth\/kubernetes\/role\/(\S+) ([\s\S]*?)\n(?!\s)/.exec(`${vaultScript}\n`);
  assert.ok(roleLine);
  const role = keyValues(roleLine[2] as string);
  assert.ok(tokenRequests.includes(role['audience'] as string), `the role's audience ${role['audience']} is in the CSIDriver's tokenRequests (${tokenRequests.join(', ')})`);
  const driverArgs = image.args;
  assert.equal(driverArgs.find((a) => a.startsWith('--vault-audience='))?.slice('--vault-audience='.length), role['audience'], 'the Vault provider presents that audience by default');
  assert.ok(vaultScript.includes(`vault policy write ${role['policies']} -`), 'the role grants the policy the README writes');
  const secretPath = /vault kv put secret\/(\S+) (\w+)=(\S+)/.exec(vaultScript);
  assert.ok(secretPath);

  // 4. The pod: valid, in the role's namespace, running as the role's service account, naming the role and the secret.
  const pod = parseYaml(heredoc(script, 'POD')) as K8sObject & { spec: { serviceAccountName: string; volumes: { csi: { driver: string; readOnly: boolean; volumeAttributes: Record<string, string> } }[] } };
  await validateAgainstOpenApi(pod);
  assert.equal(pod.metadata.namespace, role['bound_service_account_namespaces']);
  assert.equal(pod.spec.serviceAccountName, role['bound_service_account_names']);
  assert.ok(script.includes(`kubectl create namespace ${pod.metadata.namespace}`));
  assert.ok(script.includes(`kubectl -n ${pod.metadata.namespace} create serviceaccount ${pod.spec.serviceAccountName}`));
  const csi = pod.spec.volumes[0]?.csi;
  assert.ok(csi);
  assert.equal(csi.driver, (findOne(objects, 'CSIDriver') as K8sObject).metadata.name);
  assert.equal(csi.readOnly, true, 'the chart requires read-only volumes by default');
  assert.equal(csi.volumeAttributes['roleName'], roleLine[1]);
  const object = (parseYaml(csi.volumeAttributes['objects'] ?? '') as { objectName: string; secretPath: string; secretKey: string }[])[0];
  assert.ok(object);
  const [, kvPath, key] = secretPath;
  assert.equal(object.secretPath, `secret/data/${kvPath}`, 'KV v2 (dev mode mounts secret/ as v2): reads go to secret/data/<path>');
  assert.equal(object.secretKey, key);
  assert.match(vaultScript, new RegExp(`path "secret/data/${(kvPath as string).split('/')[0]}/\\*"`), 'the policy covers the secret');
  assert.ok(script.includes(`cat /vault/${object.objectName}`));
});

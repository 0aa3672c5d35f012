import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { Errors } from '../../src/errors/catalogue.js';
import { CHART_DIR, REPO_ROOT, exampleValuesFiles } from './chart-support.js';

const doc = (name: string): Promise<string> => readFile(join(REPO_ROOT, 'docs', name), 'utf8');

it('docs/troubleshooting.md explains every error code of the catalogue, with its gRPC status', async () => {
  const text = await doc('troubleshooting.md');
  const statusNames: Record<string, string> = {
    INVALID_ARGUMENT: 'InvalidArgument', ALREADY_EXISTS: 'AlreadyExists', NOT_FOUND: 'NotFound', UNAVAILABLE: 'Unavailable', PERMISSION_DENIED: 'PermissionDenied',
    FAILED_PRECONDITION: 'FailedPrecondition', UNAUTHENTICATED: 'Unauthenticated', INTERNAL: 'Internal', ABORTED: 'Aborted', RESOURCE_EXHAUSTED: 'ResourceExhausted', DEADLINE_EXCEEDED: 'DeadlineExceeded',
  };
  const entries = Object.values(Errors);
  assert.ok(entries.length >= 20);
  for (const { code, status } of entries) {
    const row = text.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row !== undefined, `${code} has a row in docs/troubleshooting.md`);
    assert.ok(row.includes(`| ${statusNames[status] ?? status} |`), `${code}'s row names its status ${status}`);
  }
});

it('docs/install.md documents every values example and every top-level value of the chart', async () => {
  const text = await doc('install.md');
  for (const file of await exampleValuesFiles()) assert.ok(text.includes(`examples/${basename(file)}`) || text.includes(basename(file)), `${basename(file)} is documented`);
  const values = parseYaml(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(values)) assert.ok(new RegExp('`' + key + '[.`/ ]').test(text), `values.${key} is documented`);
});

it('the README install section links the install, troubleshooting and security docs', async () => {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const install = readme.slice(readme.indexOf('## Install in a cluster'));
  for (const link of ['docs/install.md', 'docs/troubleshooting.md', 'docs/security-model.md']) assert.ok(install.includes(link), `README links ${link}`);
  assert.ok(install.includes('helm install credmount deploy/helm/credmount'));
});

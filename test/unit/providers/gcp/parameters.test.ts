import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CredmountError } from '../../../../src/errors/credmount-error.js';
import { parseGcpParameters } from '../../../../src/providers/gcp/gcp-parameters.js';
import { parseSecretVersionName } from '../../../../src/providers/gcp/resource-name.js';

const fixtures = resolve(fileURLToPath(import.meta.url), '../../../../../../test/fixtures/gcp');

interface Spc {
  metadata: { name: string };
  spec: { provider: string; parameters: Record<string, string> };
}

function samples(file: string): Spc[] {
  return parseAllDocuments(readFileSync(resolve(fixtures, file), 'utf8')).map((d) => d.toJS() as Spc);
}

function refusal(parameters: Record<string, string>): CredmountError {
  try {
    parseGcpParameters(parameters);
  } catch (error) {
    assert.ok(error instanceof CredmountError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

const ONE = '- resourceName: projects/demo-project/secrets/db/versions/latest\n  path: db\n';

describe('gcp parameters', () => {
  test('every SecretProviderClass from the upstream docs and tests parses', () => {
    const all = samples('sample-secretproviderclasses.yaml');
    assert.equal(all.length, 7);
    for (const spc of all) {
      assert.equal(spc.spec.provider, 'gcp');
      const parsed = parseGcpParameters(spc.spec.parameters);
      assert.ok(parsed.secrets.length >= 1, spc.metadata.name);
      assert.equal(parsed.impersonation, undefined);
    }
    const mode = parseGcpParameters((all.find((s) => s.metadata.name === 'gcp-test-secrets-mode') as Spc).spec.parameters);
    assert.deepEqual(
      mode.secrets.map((s) => [s.path, s.mode, s.resource.location ?? 'global']),
      [
        ['test-secret', 0o400, 'global'],
        ['test-secret-regional', 0o400, 'us-central1'],
      ],
    );
    const nested = parseGcpParameters((all.find((s) => s.metadata.name === 'gcp-test-secrets-nested') as Spc).spec.parameters);
    assert.equal(nested.secrets[0]?.path, 'my/nested/path/test-secret');
  });

  test("upstream's provider-adc sample is refused, naming auth and saying why", () => {
    const [spc] = samples('provider-adc.yaml');
    assert.ok(spc);
    const error = refusal(spc.spec.parameters);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.equal(error.field, 'volume_context.auth');
    assert.match(error.message, /holds no Google credentials/);
  });

  test('auth: pod-adc and empty are the pod identity', () => {
    assert.equal(parseGcpParameters({ secrets: ONE, auth: 'pod-adc' }).secrets.length, 1);
    assert.equal(parseGcpParameters({ secrets: ONE, auth: '' }).secrets.length, 1);
  });

  test('path wins over fileName (upstream PathString); fileName alone works', () => {
    const both = parseGcpParameters({ secrets: '- resourceName: projects/demo-project/secrets/a/versions/1\n  path: p\n  fileName: f\n' });
    assert.equal(both.secrets[0]?.path, 'p');
    const legacy = parseGcpParameters({ secrets: '- resourceName: projects/demo-project/secrets/a/versions/1\n  fileName: f\n' });
    assert.equal(legacy.secrets[0]?.path, 'f');
  });

  test('mode: octal with a leading 0 or 0o, decimal otherwise (as yaml.v3 reads it)', () => {
    const modes = (text: string) => parseGcpParameters({ secrets: `- resourceName: projects/demo-project/secrets/a/versions/1\n  path: p\n  mode: ${text}\n` }).secrets[0]?.mode;
    assert.equal(modes('0400'), 0o400);
    assert.equal(modes('0o640'), 0o640);
    assert.equal(modes('256'), 256);
    assert.equal(modes('0'), 0);
    assert.equal(modes('511'), 0o777);
  });

  test('impersonation with the annotation keys as parameters', () => {
    const parsed = parseGcpParameters({
      secrets: ONE,
      'iam.gke.io/gcp-service-account': 'final@p.iam.gserviceaccount.com',
      'iam.gke.io/gcp-service-account-delegates': '["mid@q.iam.gserviceaccount.com"]',
    });
    assert.deepEqual(parsed.impersonation, { serviceAccount: 'final@p.iam.gserviceaccount.com', delegates: ['mid@q.iam.gserviceaccount.com'] });
  });

  const bad: [what: string, parameters: Record<string, string>, field: string, message: RegExp][] = [
    ['an unknown parameter', { secrets: ONE, objects: 'x' }, 'volume_context.objects', /unknown parameter for provider "gcp"/],
    ['an unknown auth mode', { secrets: ONE, auth: 'node' }, 'volume_context.auth', /not a supported auth mode/],
    ['no secrets', {}, 'volume_context.secrets', /is required/],
    ['blank secrets', { secrets: '  \n' }, 'volume_context.secrets', /is required/],
    ['secrets that are not YAML', { secrets: '- resourceName: [unclosed' }, 'volume_context.secrets', /not valid YAML/],
    ['secrets that are a map', { secrets: 'resourceName: x\n' }, 'volume_context.secrets', /YAML list/],
    ['an empty list', { secrets: '[]' }, 'volume_context.secrets', /lists no secrets/],
    ['too many secrets', { secrets: Array.from({ length: 101 }, (_, i) => `- {resourceName: projects/demo-project/secrets/s/versions/1, path: p${i}}`).join('\n') }, 'volume_context.secrets', /at most 100/],
    ['a list item that is a string', { secrets: '- projects/demo-project/secrets/a/versions/1\n' }, 'volume_context.secrets[0]', /must be a map/],
    ['an unknown secret field', { secrets: `${ONE}  objectName: x\n` }, 'volume_context.secrets[0].objectName', /unknown field/],
    ['a missing resourceName', { secrets: '- path: p\n' }, 'volume_context.secrets[0].resourceName', /is required/],
    ['a resourceName that is a list', { secrets: '- resourceName: [a]\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /must be a string/],
    ['a resourceName without versions', { secrets: '- resourceName: projects/demo-project/secrets/db\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /must be projects\/<project>\/secrets/],
    ['a resourceName with a prefix', { secrets: '- resourceName: //secretmanager.googleapis.com/projects/demo-project/secrets/db/versions/1\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /must be projects/],
    ['a Parameter Manager resource', { secrets: '- resourceName: projects/demo-project/locations/global/parameters/p/versions/v\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /Parameter Manager/],
    ['a location that could steer the host name', { secrets: '- resourceName: projects/demo-project/locations/evil.example.com#/secrets/db/versions/1\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /location/],
    ['a bad project id', { secrets: '- resourceName: projects/A_B/secrets/db/versions/1\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /project/],
    ['a bad secret id', { secrets: '- resourceName: projects/demo-project/secrets/d%2Fb/versions/1\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /secret "d%2Fb"/],
    ['a version 0', { secrets: '- resourceName: projects/demo-project/secrets/db/versions/0\n  path: p\n' }, 'volume_context.secrets[0].resourceName', /version "0"/],
    ['a missing path', { secrets: '- resourceName: projects/demo-project/secrets/db/versions/1\n' }, 'volume_context.secrets[0].path', /is required/],
    ['an absolute path', { secrets: '- resourceName: projects/demo-project/secrets/db/versions/1\n  path: /etc/passwd\n' }, 'volume_context.secrets[0].path', /relative path/],
    ['a climbing fileName', { secrets: '- resourceName: projects/demo-project/secrets/db/versions/1\n  fileName: ../x\n' }, 'volume_context.secrets[0].fileName', /relative path/],
    ['a path the volume writer reserves', { secrets: '- resourceName: projects/demo-project/secrets/db/versions/1\n  path: ..data\n' }, 'volume_context.secrets[0].path', /reserved for the volume's internal entries/],
    ['a duplicate path', { secrets: `${ONE}${ONE}` }, 'volume_context.secrets[1].path', /used by another secret/],
    ['both extract keys', { secrets: `${ONE}  extractJSONKey: a\n  extractYAMLKey: b\n` }, 'volume_context.secrets[0].extractYAMLKey', /together with extractJSONKey/],
    ['a mode above 0777', { secrets: `${ONE}  mode: 01000\n` }, 'volume_context.secrets[0].mode', /between 0000 and 0777/],
    ['a decimal mode above 511', { secrets: `${ONE}  mode: 512\n` }, 'volume_context.secrets[0].mode', /out of range/],
    ['a mode that is not a number', { secrets: `${ONE}  mode: rw\n` }, 'volume_context.secrets[0].mode', /not a number/],
    ['a negative mode', { secrets: `${ONE}  mode: -1\n` }, 'volume_context.secrets[0].mode', /not a number/],
    ['a service account that is not an email', { secrets: ONE, 'iam.gke.io/gcp-service-account': 'final' }, 'volume_context.iam.gke.io/gcp-service-account', /not a service account email/],
    ['delegates without a service account', { secrets: ONE, 'iam.gke.io/gcp-service-account-delegates': '["a@b.iam.gserviceaccount.com"]' }, 'volume_context.iam.gke.io/gcp-service-account-delegates', /needs iam\.gke\.io\/gcp-service-account/],
    ['delegates that are not JSON', { secrets: ONE, 'iam.gke.io/gcp-service-account': 'f@p.iam.gserviceaccount.com', 'iam.gke.io/gcp-service-account-delegates': 'a@b' }, 'volume_context.iam.gke.io/gcp-service-account-delegates', /JSON list/],
    ['a delegate that is not an email', { secrets: ONE, 'iam.gke.io/gcp-service-account': 'f@p.iam.gserviceaccount.com', 'iam.gke.io/gcp-service-account-delegates': '["nope"]' }, 'volume_context.iam.gke.io/gcp-service-account-delegates', /"nope" is not a service account email/],
  ];
  for (const [what, parameters, field, message] of bad) {
    test(`refuses ${what}, naming ${field}`, () => {
      const error = refusal(parameters);
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.equal(error.code, 'CM_PARAMETER_INVALID');
      assert.equal(error.field, field);
      assert.ok(error.message.startsWith(`${field}: `), error.message);
      assert.match(error.message, message);
    });
  }
});

describe('secret version names', () => {
  test('global, regional, pinned and aliases', () => {
    assert.deepEqual(parseSecretVersionName('projects/demo-project/secrets/db/versions/3'), { name: 'projects/demo-project/secrets/db/versions/3', project: 'demo-project', location: undefined, secret: 'db', version: '3', pinned: true });
    const regional = parseSecretVersionName('projects/123456789012/locations/us-central1/secrets/db_2/versions/latest');
    assert.ok(typeof regional !== 'string');
    assert.equal(regional.location, 'us-central1');
    assert.equal(regional.project, '123456789012');
    assert.equal(regional.pinned, false);
    const alias = parseSecretVersionName('projects/example.com:proj-1/secrets/db/versions/prod');
    assert.ok(typeof alias !== 'string');
    assert.equal(alias.pinned, false);
  });
});

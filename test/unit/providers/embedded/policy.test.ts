import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Policy, PolicyError } from '../../../../src/providers/embedded/policy.js';
import { compileSecretGlob } from '../../../../src/providers/embedded/secret-glob.js';
import { parseDuration } from '../../../../src/providers/embedded/duration.js';

function glob(pattern: string): (path: string) => boolean {
  const compiled = compileSecretGlob(pattern);
  if ('reason' in compiled) throw new Error(compiled.reason);
  return compiled;
}

describe('secret globs', () => {
  const table: [pattern: string, matches: string[], misses: string[]][] = [
    ['payments/db-password', ['payments/db-password'], ['payments/db-password2', 'payments/db', 'other/db-password']],
    ['payments/*', ['payments/db-password', 'payments/a.b'], ['payments', 'payments/reports/q1', 'other/db', 'paymentsX/db']],
    ['payments/db-*', ['payments/db-password', 'payments/db-'], ['payments/api-key', 'payments/db-x/y']],
    ['*/db-password', ['payments/db-password', 'other/db-password'], ['db-password', 'a/b/db-password']],
    ['payments/**', ['payments/db', 'payments/reports/q1/summary'], ['payments', 'other/payments/x']],
    ['payments/**/summary', ['payments/summary', 'payments/reports/q1/summary'], ['payments/reports/q1/summary2', 'summary']],
    ['**', ['a', 'a/b/c'], []],
    ['**/db-password', ['db-password', 'a/db-password', 'a/b/db-password'], ['a/db-password/x']],
    // regular-expression characters are literal
    ['a.b/c+d', ['a.b/c+d'], ['axb/c+d', 'a.b/cd', 'a.b/ccd']],
  ];
  for (const [pattern, matches, misses] of table) {
    it(`${pattern}`, () => {
      const match = glob(pattern);
      for (const path of matches) assert.equal(match(path), true, `${pattern} should match ${path}`);
      for (const path of misses) assert.equal(match(path), false, `${pattern} should not match ${path}`);
    });
  }

  it('refuses malformed patterns', () => {
    for (const pattern of ['', '/abs', 'a//b', 'a/', 'a/../b', 'a/**b', 'x**/y']) {
      assert.ok('reason' in compileSecretGlob(pattern), `${JSON.stringify(pattern)} should be refused`);
    }
  });
});

describe('policy.yaml', () => {
  const policy = Policy.parse(`
rules:
  - namespace: payments
    serviceAccount: billing
    secrets: ["payments/*"]
    certificates: true
    maxCertificateTtl: 1h
  - namespace: payments
    serviceAccount: "*"
    secrets: ["payments/shared/**"]
  - namespace: "*"
    serviceAccount: monitor
    secrets: ["*/metrics-token"]
    certificates: true
    maxCertificateTtl: 10m
`);

  it('matches namespace and service account exactly or by "*"', () => {
    const billing = policy.grantsFor('payments', 'billing');
    assert.equal(billing.matchedRules, 2);
    assert.equal(billing.allowsSecret('payments/db-password'), true);
    assert.equal(billing.allowsSecret('payments/shared/a/b'), true);
    assert.equal(billing.allowsSecret('payments/reports/q1'), false);
    assert.equal(billing.allowsSecret('other/db-password'), false);

    const reporting = policy.grantsFor('payments', 'reporting');
    assert.equal(reporting.allowsSecret('payments/db-password'), false);
    assert.equal(reporting.allowsSecret('payments/shared/x'), true);
    assert.equal(reporting.certificates, false);

    // the namespace must match exactly: "payments-staging" is not "payments"
    assert.equal(policy.grantsFor('payments-staging', 'billing').matchedRules, 0);
    assert.equal(policy.grantsFor('anything', 'monitor').allowsSecret('anything/metrics-token'), true);
    assert.equal(policy.grantsFor('anything', 'billing').matchedRules, 0);
  });

  it('allows certificates when any matching rule does, capped by the largest cap', () => {
    assert.equal(policy.grantsFor('payments', 'billing').certificates, true);
    assert.equal(policy.grantsFor('payments', 'billing').maxCertificateTtlMs, 3_600_000);
    assert.equal(policy.grantsFor('kube-system', 'monitor').maxCertificateTtlMs, 600_000);
    const uncapped = Policy.parse('rules:\n  - {namespace: a, serviceAccount: b, certificates: true}\n  - {namespace: a, serviceAccount: b, certificates: true, maxCertificateTtl: 5m}');
    assert.equal(uncapped.grantsFor('a', 'b').maxCertificateTtlMs, undefined);
  });

  it('treats an empty file as "allow nothing"', () => {
    assert.equal(Policy.parse('').rules.length, 0);
    assert.equal(Policy.parse('rules: []').grantsFor('a', 'b').matchedRules, 0);
  });

  const invalid: [name: string, yaml: string, path: string, reason: RegExp][] = [
    ['bad YAML', 'rules: [', '', /not valid YAML/],
    ['not a mapping', '- a', '', /mapping/],
    ['unknown top-level key', 'rule: []', 'rule', /unknown field/],
    ['rules not a list', 'rules: {a: 1}', 'rules', /list/],
    ['namespace missing', 'rules:\n  - serviceAccount: a', 'rules[0].namespace', /required/],
    ['partial wildcard', 'rules:\n  - {namespace: "pay*", serviceAccount: a}', 'rules[0].namespace', /exact name or "\*"/],
    ['unknown rule field', 'rules:\n  - {namespace: a, serviceAccount: b, secret: [x]}', 'rules[0].secret', /unknown field/],
    ['secrets not a list', 'rules:\n  - {namespace: a, serviceAccount: b, secrets: "x/*"}', 'rules[0].secrets', /list/],
    ['bad pattern', 'rules:\n  - {namespace: a, serviceAccount: b, secrets: ["ok/*", "../x"]}', 'rules[0].secrets[1]', /"\.\."/],
    ['certificates not boolean', 'rules:\n  - {namespace: a, serviceAccount: b, certificates: "yes"}', 'rules[0].certificates', /true or false/],
    ['bad maxCertificateTtl', 'rules:\n  - {namespace: a, serviceAccount: b, maxCertificateTtl: forever}', 'rules[0].maxCertificateTtl', /not a duration/],
    ['duplicate key', 'rules:\n  - {namespace: a, namespace: b, serviceAccount: c}', '', /not valid YAML/],
  ];
  for (const [name, yaml, path, reason] of invalid) {
    it(`refuses ${name}, naming ${path || 'the document'}`, () => {
      assert.throws(
        () => Policy.parse(yaml),
        (error: unknown) => error instanceof PolicyError && error.path === path && reason.test(error.message),
      );
    });
  }
});

describe('durations', () => {
  it('parses Go/Vault-style durations', () => {
    assert.deepEqual(parseDuration('90s'), { ms: 90_000 });
    assert.deepEqual(parseDuration('1h30m'), { ms: 5_400_000 });
    assert.deepEqual(parseDuration('1.5h'), { ms: 5_400_000 });
    assert.deepEqual(parseDuration('2d'), { ms: 172_800_000 });
    for (const bad of ['', '5', '5 m', '-1m', '0s', '1ms', 'm5', '1.2s']) assert.ok('reason' in parseDuration(bad), bad);
  });
});

import { parseDuration } from './duration.js';
import { compileSecretGlob, type SecretGlob } from './secret-glob.js';
import { describeType, isPlainObject, parseYaml, quoteList } from './yaml-input.js';

/**
 * The store's `policy.yaml`: which service accounts may read which secrets and ask the dev CA for
 * certificates. Like a Vault role bound to `bound_service_account_names/namespaces` plus a policy.
 *
 * ```yaml
 * rules:
 *   - namespace: payments          # exact, or "*"
 *     serviceAccount: billing      # exact, or "*"
 *     secrets: ["payments/*"]      # see secret-glob.ts
 *     certificates: true
 *     maxCertificateTtl: 1h
 * ```
 * A request is allowed when any rule that matches the identity allows it; nothing is allowed
 * otherwise.
 */

export interface PolicyRule {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly secrets: readonly string[];
  readonly certificates: boolean;
  readonly maxCertificateTtlMs: number | undefined;
}

/** What one identity may do, the union of every rule that matches it. */
export interface PolicyGrants {
  /** How many rules matched; 0 means the identity is unknown to the policy. */
  readonly matchedRules: number;
  allowsSecret(secretPath: string): boolean;
  readonly certificates: boolean;
  /** The largest cap among the matching rules that allow certificates; undefined = no policy cap. */
  readonly maxCertificateTtlMs: number | undefined;
}

/** A policy file that does not validate; `path` names the offending entry (`rules[2].secrets[0]`). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(path === '' ? reason : `${path}: ${reason}`);
  }
}

const RULE_FIELDS = ['namespace', 'serviceAccount', 'secrets', 'certificates', 'maxCertificateTtl'] as const;

interface CompiledRule extends PolicyRule {
  readonly globs: readonly SecretGlob[];
}

export class Policy {
  private constructor(
    private readonly compiled: readonly CompiledRule[],
    /** Set when there is no policy file at all, to explain a denial. */
    readonly missingReason: string | undefined,
  ) {}

  /** Parse and validate policy YAML. Throws PolicyError. */
  static parse(text: string): Policy {
    const parsed = parseYaml(text);
    if ('reason' in parsed) throw new PolicyError('', parsed.reason);
    // An empty file is a valid policy that allows nothing.
    if (parsed.value === null || parsed.value === undefined) return new Policy([], undefined);
    if (!isPlainObject(parsed.value)) throw new PolicyError('', `the document must be a mapping with a "rules" list, not ${describeType(parsed.value)}`);
    for (const key of Object.keys(parsed.value)) {
      if (key !== 'rules') throw new PolicyError(key, 'unknown field (the document has only "rules")');
    }
    const rules = parsed.value['rules'];
    if (rules === null || rules === undefined) return new Policy([], undefined);
    if (!Array.isArray(rules)) throw new PolicyError('rules', `must be a list, not ${describeType(rules)}`);
    return new Policy(
      rules.map((rule: unknown, index) => compileRule(rule, `rules[${index}]`)),
      undefined,
    );
  }

  /** The policy in force when the store has no policy.yaml: nothing is allowed. */
  static missing(path: string): Policy {
    return new Policy([], `the store has no policy file (${path})`);
  }

  get rules(): readonly PolicyRule[] {
    return this.compiled;
  }

  grantsFor(namespace: string, serviceAccount: string): PolicyGrants {
    const matching = this.compiled.filter(
      (rule) => (rule.namespace === '*' || rule.namespace === namespace) && (rule.serviceAccount === '*' || rule.serviceAccount === serviceAccount),
    );
    const certificateRules = matching.filter((rule) => rule.certificates);
    const caps = certificateRules.map((rule) => rule.maxCertificateTtlMs);
    return {
      matchedRules: matching.length,
      allowsSecret: (secretPath) => matching.some((rule) => rule.globs.some((glob) => glob(secretPath))),
      certificates: certificateRules.length > 0,
      maxCertificateTtlMs: caps.length === 0 || caps.includes(undefined) ? undefined : Math.max(...(caps as number[])),
    };
  }
}

function compileRule(rule: unknown, path: string): CompiledRule {
  if (!isPlainObject(rule)) throw new PolicyError(path, `a rule must be a mapping, not ${describeType(rule)}`);
  for (const key of Object.keys(rule)) {
    if (!(RULE_FIELDS as readonly string[]).includes(key)) throw new PolicyError(`${path}.${key}`, `unknown field (a rule has ${quoteList(RULE_FIELDS)})`);
  }
  const namespace = nameOrWildcard(rule['namespace'], `${path}.namespace`);
  const serviceAccount = nameOrWildcard(rule['serviceAccount'], `${path}.serviceAccount`);

  const secretsValue = rule['secrets'] ?? [];
  if (!Array.isArray(secretsValue)) throw new PolicyError(`${path}.secrets`, `must be a list of patterns, not ${describeType(secretsValue)}`);
  const secrets: string[] = [];
  const globs: SecretGlob[] = [];
  secretsValue.forEach((pattern: unknown, index) => {
    const where = `${path}.secrets[${index}]`;
    if (typeof pattern !== 'string') throw new PolicyError(where, `must be a string pattern, not ${describeType(pattern)}`);
    const glob = compileSecretGlob(pattern);
    if ('reason' in glob) throw new PolicyError(where, glob.reason);
    secrets.push(pattern);
    globs.push(glob);
  });

  const certificates = rule['certificates'] ?? false;
  if (typeof certificates !== 'boolean') throw new PolicyError(`${path}.certificates`, `must be true or false, not ${describeType(certificates)}`);

  let maxCertificateTtlMs: number | undefined;
  const maxTtl = rule['maxCertificateTtl'];
  if (maxTtl !== undefined && maxTtl !== null) {
    if (typeof maxTtl !== 'string') throw new PolicyError(`${path}.maxCertificateTtl`, `must be a duration like "1h", not ${describeType(maxTtl)}`);
    const duration = parseDuration(maxTtl);
    if ('reason' in duration) throw new PolicyError(`${path}.maxCertificateTtl`, duration.reason);
    maxCertificateTtlMs = duration.ms;
  }
  return { namespace, serviceAccount, secrets, certificates, maxCertificateTtlMs, globs };
}

function nameOrWildcard(value: unknown, path: string): string {
  if (value === undefined || value === null) throw new PolicyError(path, 'is required (an exact name, or "*" for any)');
  if (typeof value !== 'string' || value === '') throw new PolicyError(path, `must be an exact name or "*", not ${typeof value === 'string' ? 'an empty string' : describeType(value)}`);
  if (value !== '*' && value.includes('*')) throw new PolicyError(path, `${JSON.stringify(value)}: only an exact name or "*" alone is allowed here`);
  return value;
}

import { execFile } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const run = promisify(execFile);

/** The repository root (this file runs from dist/test/deploy/). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
export const CHART_DIR = join(REPO_ROOT, 'deploy/helm/credmount');
export const EXAMPLES_DIR = join(CHART_DIR, 'examples');
/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion): render for it. */
export const KUBE_VERSION = '1.30.0';

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** helm from scripts/install-helm.sh (scripts/test.sh runs it first), or $HELM. */
export async function helmBinary(): Promise<string> {
  const helm = process.env['HELM'] ?? join(REPO_ROOT, '.tools/bin/helm');
  try {
    await access(helm);
  } catch {
    throw new Error(`helm not found at ${helm}: run scripts/install-helm.sh (scripts/test.sh does)`);
  }
  return helm;
}

export interface RenderOptions {
  readonly valuesFiles?: readonly string[];
  readonly set?: readonly string[];
  readonly extraArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

function templateArgs(options: RenderOptions): string[] {
  return [
    'template', 'credmount', CHART_DIR, '--namespace', 'credmount', '--kube-version', KUBE_VERSION,
    ...(options.valuesFiles ?? []).flatMap((file) => ['--values', file]),
    ...(options.set ?? []).flatMap((value) => ['--set', value]),
    ...(options.extraArgs ?? []),
  ];
}

/** `helm template` with the given values; the objects it renders, in order. */
export async function renderChart(options: RenderOptions = {}): Promise<K8sObject[]> {
  const { stdout } = await run(await helmBinary(), templateArgs(options), { env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
  return parseManifests(stdout);
}

/** `helm template` that must fail: its error output. */
export async function renderChartError(options: RenderOptions): Promise<string> {
  try {
    await run(await helmBinary(), templateArgs(options), { env: options.env ?? process.env });
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr ?? error);
  }
  throw new Error(`helm template succeeded but should have failed (${JSON.stringify(options)})`);
}

/** `helm lint --strict` (warnings fail too) with a values file; its output. */
export async function lintChart(valuesFile?: string): Promise<string> {
  const args = ['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION, '--namespace', 'credmount', ...(valuesFile === undefined ? [] : ['--values', valuesFile])];
  try {
    const { stdout } = await run(await helmBinary(), args);
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`rendered YAML is invalid: ${document.errors.map((e) => e.message).join('; ')}`);
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** The values files documented in docs/install.md: every file in the chart's examples/. */
export async function exampleValuesFiles(): Promise<string[]> {
  return (await readdir(EXAMPLES_DIR)).filter((name) => name.endsWith('.yaml')).sort().map((name) => join(EXAMPLES_DIR, name));
}

/** The chart's defaults merged with a values file (maps merge, everything else replaces), as helm does. */
export async function effectiveValues(valuesFile?: string): Promise<Record<string, unknown>> {
  const defaults = parseYaml(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  if (valuesFile === undefined) return defaults;
  return merge(defaults, parseYaml(await readFile(valuesFile, 'utf8')) as Record<string, unknown>);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = isMap(prior) && isMap(value) ? merge(prior, value) : value;
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function findOne(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0] as K8sObject;
}

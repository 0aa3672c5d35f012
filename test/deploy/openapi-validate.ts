import type { K8sObject } from './chart-support.js';

/**
 * Validates a rendered object offline against the Kubernetes OpenAPI schema of its kind, with the
 * kubernetes-models package (JSON schemas generated from Kubernetes' OpenAPI spec, compiled with
 * ajv; its CSIDriverSpec has serviceAccountTokenInSecrets and nodeAllocatableUpdatePeriodSeconds,
 * i.e. Kubernetes >= 1.34). It checks types, formats, enums and required fields; like a
 * non-strict API server it does not flag unknown fields, so the chart tests read back every
 * field the chart relies on.
 */
const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'storage.k8s.io/v1': 'kubernetes-models/storage.k8s.io/v1',
  'rbac.authorization.k8s.io/v1': 'kubernetes-models/rbac.authorization.k8s.io/v1',
  'apiextensions.k8s.io/v1': 'kubernetes-models/apiextensions.k8s.io/v1',
};

type Model = new (data: unknown) => { validate(): void };

export async function validateAgainstOpenApi(object: K8sObject): Promise<void> {
  const specifier = MODULES[object.apiVersion];
  if (specifier === undefined) throw new Error(`${object.kind} ${object.metadata.name}: no schema for apiVersion ${object.apiVersion}`);
  const module = (await import(specifier)) as Record<string, unknown>;
  const model = module[object.kind] as Model | undefined;
  if (typeof model !== 'function') throw new Error(`${object.kind} ${object.metadata.name}: ${object.apiVersion} has no kind ${object.kind}`);
  try {
    new model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata.name} is not valid for ${object.apiVersion}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

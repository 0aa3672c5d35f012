/**
 * The two patch formats the test server accepts for events: JSON Patch (RFC 6902: add, replace,
 * remove on object paths) and JSON Merge Patch (RFC 7386). Enough for what a client sends to
 * update an event's count and timestamps; an unsupported operation is an error, not ignored.
 */
export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new Error('a JSON patch must be an array of operations');
  const result = structuredClone(document) as Record<string, unknown>;
  for (const operation of patch as { op?: unknown; path?: unknown; value?: unknown }[]) {
    if (typeof operation.path !== 'string' || !operation.path.startsWith('/')) throw new Error('every operation needs a path starting with /');
    const keys = operation.path.slice(1).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop() as string;
    let parent: Record<string, unknown> = result;
    for (const key of keys) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) throw new Error(`path ${operation.path} does not exist`);
      parent = next as Record<string, unknown>;
    }
    if (operation.op === 'add') parent[last] = operation.value;
    else if (operation.op === 'replace') {
      if (!(last in parent)) throw new Error(`replace: path ${operation.path} does not exist`);
      parent[last] = operation.value;
    } else if (operation.op === 'remove') {
      if (!(last in parent)) throw new Error(`remove: path ${operation.path} does not exist`);
      delete parent[last];
    } else throw new Error(`unsupported JSON patch operation ${JSON.stringify(operation.op)}`);
  }
  return result;
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

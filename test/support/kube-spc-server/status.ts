/**
 * `Status` bodies as the API server writes them for failures (meta/v1 Status, kind "Status").
 * Reasons and message shapes follow apimachinery's StatusReason documentation:
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
 */
export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly details?: { readonly name?: string; readonly group?: string; readonly kind: string };
  readonly code: number;
}

function failure(code: number, reason: string, message: string, details?: StatusBody['details']): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : { details }), code };
}

/** `<resource>.<group>` as the API server names a resource in messages ("events" for the core group). */
export function qualified(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(resource: string, group: string, name: string): StatusBody {
  return failure(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource });
}

export function alreadyExists(resource: string, group: string, name: string): StatusBody {
  return failure(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource });
}

export function forbidden(user: string, verb: string, resource: string, group: string, namespace: string, name: string | undefined): StatusBody {
  const subject = name === undefined ? qualified(resource, group) : `${qualified(resource, group)} "${name}"`;
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`;
  return failure(403, 'Forbidden', message, { ...(name === undefined ? {} : { name }), group, kind: resource });
}

export function unauthorized(): StatusBody {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function badRequest(message: string): StatusBody {
  return failure(400, 'BadRequest', message);
}

export function unsupportedMediaType(contentType: string): StatusBody {
  return failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`);
}

export function methodNotAllowed(): StatusBody {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function serviceUnavailable(): StatusBody {
  return failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
}

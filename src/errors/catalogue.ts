import { CredmountError, type CredmountErrorOptions, type StatusName } from './credmount-error.js';

/**
 * The catalogue of coded errors. Each entry is a factory so that the code, the status and the
 * message shape stay together; `test/unit/errors/catalogue.test.ts` walks every entry.
 * Arguments are names, reasons and sizes only — never a token, secret value or key.
 */
function define<A extends unknown[]>(code: string, status: StatusName, message: (...args: A) => string, field?: (...args: A) => string | undefined) {
  const factory = (...args: A) => new CredmountError(code, status, message(...args), { field: field?.(...args) });
  return Object.assign(factory, { code, status });
}

/**
 * The key kubelet puts the pod's service-account tokens under (in `secrets` or `volume_context`).
 * Defined here, in the lowest room, because the messages below name it and every room that knows
 * it (kubelet/, which reads it; observability/, which keeps it out of logs) can import from here.
 */
export const SERVICE_ACCOUNT_TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';

export const Errors = {
  // --- request shape (csi/, kubelet/) ---
  fieldMissing: define('CM_FIELD_MISSING', 'INVALID_ARGUMENT', (field: string) => `${field} is required`, (f) => f),
  fieldInvalid: define('CM_FIELD_INVALID', 'INVALID_ARGUMENT', (field: string, reason: string) => `${field}: ${reason}`, (f) => f),
  tokensMissing: define(
    'CM_TOKENS_MISSING',
    'INVALID_ARGUMENT',
    () => `${SERVICE_ACCOUNT_TOKENS_KEY} is missing from secrets and volume_context: the CSIDriver object must set tokenRequests`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  tokensMalformed: define(
    'CM_TOKENS_MALFORMED',
    'INVALID_ARGUMENT',
    (where: string, reason: string) => `${where}[${JSON.stringify(SERVICE_ACCOUNT_TOKENS_KEY)}] is not valid: ${reason}`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  tokenMalformed: define(
    'CM_TOKEN_MALFORMED',
    'INVALID_ARGUMENT',
    (audience: string, reason: string) => `service-account token for audience ${JSON.stringify(audience)} is malformed: ${reason}`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  tokenExpired: define(
    'CM_TOKEN_EXPIRED',
    'INVALID_ARGUMENT',
    (audience: string, expiredAt: string) => `service-account token for audience ${JSON.stringify(audience)} expired at ${expiredAt}`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  tokenIdentityMismatch: define(
    'CM_TOKEN_IDENTITY_MISMATCH',
    'INVALID_ARGUMENT',
    (audience: string, claim: string, expected: string, actual: string) =>
      `service-account token for audience ${JSON.stringify(audience)} belongs to another identity: claim ${claim} is ${JSON.stringify(actual)} but the pod's is ${JSON.stringify(expected)}`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  tokenAudienceMissing: define(
    'CM_TOKEN_AUDIENCE_MISSING',
    'INVALID_ARGUMENT',
    (audience: string, available: readonly string[]) =>
      `no service-account token for audience ${JSON.stringify(audience)} (kubelet sent ${available.length === 0 ? 'none' : available.map((a) => JSON.stringify(a)).join(', ')}): add it to the CSIDriver's tokenRequests`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  unknownProvider: define(
    'CM_UNKNOWN_PROVIDER',
    'INVALID_ARGUMENT',
    (name: string, known: readonly string[]) => `volume_context.provider: unknown provider ${JSON.stringify(name)} (this driver has: ${known.join(', ')})`,
    () => 'volume_context.provider',
  ),
  parameterInvalid: define(
    'CM_PARAMETER_INVALID',
    'INVALID_ARGUMENT',
    (parameter: string, reason: string) => `volume_context.${parameter}: ${reason}`,
    (p) => `volume_context.${p}`,
  ),
  filePathInvalid: define(
    'CM_FILE_PATH_INVALID',
    'INVALID_ARGUMENT',
    (path: string, reason: string) => `file name ${JSON.stringify(path)} is not allowed: ${reason}`,
    () => 'file path',
  ),
  contentTooLarge: define(
    'CM_CONTENT_TOO_LARGE',
    'INVALID_ARGUMENT',
    (bytes: number, limit: number) => `volume content is ${bytes} bytes, more than the limit of ${limit} bytes`,
    () => 'volume content',
  ),

  // --- lifecycle (volumes/) ---
  volumeConflict: define(
    'CM_VOLUME_CONFLICT',
    'ALREADY_EXISTS',
    (volumeId: string, reason: string) => `volume ${volumeId} is already published with different arguments: ${reason}`,
    () => 'volume_id',
  ),
  volumeNotFound: define('CM_VOLUME_NOT_FOUND', 'NOT_FOUND', (volumeId: string) => `volume ${volumeId} is not published on this node`, () => 'volume_id'),
  volumePathNotFound: define('CM_VOLUME_PATH_NOT_FOUND', 'NOT_FOUND', (path: string) => `volume_path ${path} does not exist`, () => 'volume_path'),
  contentExpired: define(
    'CM_CONTENT_EXPIRED',
    'UNAVAILABLE',
    (volumeId: string, reason: string) => `volume ${volumeId} holds expired credentials and refreshing them failed: ${reason}`,
  ),

  // --- backends (providers/) ---
  accessDenied: define('CM_ACCESS_DENIED', 'PERMISSION_DENIED', (what: string, reason: string) => `${what}: access denied: ${reason}`),
  notFound: define('CM_BACKEND_NOT_FOUND', 'NOT_FOUND', (what: string) => `${what} does not exist`),
  backendRejected: define('CM_BACKEND_REJECTED', 'FAILED_PRECONDITION', (what: string, reason: string) => `${what}: the backend refused the request: ${reason}`),
  tokenRejected: define(
    'CM_TOKEN_REJECTED',
    'UNAUTHENTICATED',
    (audience: string, reason: string) => `service-account token for audience ${JSON.stringify(audience)} was rejected: ${reason}`,
    () => SERVICE_ACCOUNT_TOKENS_KEY,
  ),
  providerConfigInvalid: define(
    'CM_PROVIDER_CONFIG_INVALID',
    'FAILED_PRECONDITION',
    (provider: string, option: string, reason: string) => `${provider} provider: ${option}: ${reason}`,
    (provider, option) => `providers.${provider}.${option}`,
  ),
  backendUnavailable: define('CM_BACKEND_UNAVAILABLE', 'UNAVAILABLE', (backend: string, reason: string) => `${backend} is unavailable: ${reason}`),
  checksumMismatch: define(
    'CM_CHECKSUM_MISMATCH',
    'UNAVAILABLE',
    (what: string, checksum: string) => `${what}: the payload does not match its ${checksum} checksum (corrupted in transit); nothing was written`,
  ),
  secretContentInvalid: define(
    'CM_SECRET_CONTENT_INVALID',
    'FAILED_PRECONDITION',
    (field: string, what: string, reason: string) => `${field}: ${what}: ${reason}`,
    (field) => field,
  ),

  // --- SecretProviderClass references and the Kubernetes API (kube/) ---
  classAttributeConflict: define(
    'CM_CLASS_ATTRIBUTE_CONFLICT',
    'INVALID_ARGUMENT',
    (attribute: string, name: string) =>
      `volume_context.${attribute}: cannot be combined with secretProviderClass ${JSON.stringify(name)}: put it in the SecretProviderClass's spec.parameters (or spec.provider), or drop secretProviderClass`,
    (attribute) => `volume_context.${attribute}`,
  ),
  classNotFound: define(
    'CM_CLASS_NOT_FOUND',
    'FAILED_PRECONDITION',
    (namespace: string, name: string) =>
      `volume_context.secretProviderClass: SecretProviderClass ${namespace}/${name} does not exist: create it in the pod's namespace (kubelet retries the mount)`,
    () => 'volume_context.secretProviderClass',
  ),
  classForbidden: define(
    'CM_CLASS_FORBIDDEN',
    'PERMISSION_DENIED',
    (namespace: string, name: string, apiMessage: string) =>
      `reading SecretProviderClass ${namespace}/${name} is forbidden: the driver's service account needs RBAC "get" on "secretproviderclasses" in API group "secrets-store.csi.x-k8s.io" (a ClusterRole bound to it); the API server said: ${apiMessage}`,
    () => 'volume_context.secretProviderClass',
  ),
  classInvalid: define(
    'CM_CLASS_INVALID',
    'INVALID_ARGUMENT',
    (namespace: string, name: string, field: string, reason: string) => `SecretProviderClass ${namespace}/${name}: ${field}: ${reason}`,
    (_namespace, _name, field) => `SecretProviderClass.${field}`,
  ),
  classUnknownProvider: define(
    'CM_CLASS_UNKNOWN_PROVIDER',
    'INVALID_ARGUMENT',
    (namespace: string, name: string, provider: string, known: readonly string[]) =>
      `SecretProviderClass ${namespace}/${name}: spec.provider: unknown provider ${JSON.stringify(provider)} (this driver has: ${known.join(', ')})`,
    () => 'SecretProviderClass.spec.provider',
  ),
  kubeApiUnavailable: define('CM_KUBE_API_UNAVAILABLE', 'UNAVAILABLE', (what: string, reason: string) => `the Kubernetes API is unavailable (${what}): ${reason}`),
  kubeApiUnauthenticated: define(
    'CM_KUBE_API_UNAUTHENTICATED',
    'FAILED_PRECONDITION',
    (what: string) => `the Kubernetes API refused the driver's credentials (${what}): check the driver's service-account token, or --kubeconfig`,
  ),
  kubeConfigInvalid: define('CM_KUBE_CONFIG_INVALID', 'FAILED_PRECONDITION', (reason: string) => `Kubernetes API client configuration: ${reason}`),

  // --- node (storage/) ---
  mountFailed: define('CM_MOUNT_FAILED', 'INTERNAL', (target: string, reason: string) => `mounting a tmpfs at ${target} failed: ${reason}`, () => 'target_path'),
  internal: define('CM_INTERNAL', 'INTERNAL', (reason: string) => `internal error: ${reason}`),
} as const;

/** Attach a backend's Retry-After to an error (providers use it for 429/503 answers). */
export function withRetryAfter(error: CredmountError, retryAfterMs: number | undefined): CredmountError {
  if (retryAfterMs === undefined) return error;
  return new CredmountError(error.code, error.status, error.message, { field: error.field, retryAfterMs, cause: error.cause } satisfies CredmountErrorOptions);
}

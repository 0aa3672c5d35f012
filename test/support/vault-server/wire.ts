/**
 * What goes on the wire: Vault's response envelope (sdk/logical/translate_response.go,
 * `HTTPResponse`) and its error bodies (`{"errors": [...]}` for every status ≥ 400).
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** An HTTP answer an engine produced. */
export interface Reply {
  readonly status: number;
  /** Serialised as JSON; undefined → no body (204). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The `auth` block of a response (`HTTPAuth`). */
export interface WireAuth {
  readonly client_token: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly token_policies: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly lease_duration: number;
  readonly renewable: boolean;
  readonly entity_id: string;
  readonly token_type: string;
  readonly orphan: boolean;
  readonly mfa_requirement: null;
  readonly num_uses: number;
}

export interface EnvelopeParts {
  readonly leaseId?: string;
  readonly renewable?: boolean;
  readonly leaseDuration?: number;
  readonly data?: unknown;
  readonly warnings?: readonly string[];
  readonly auth?: WireAuth;
  readonly mountType?: string;
}

/** A successful response body with every envelope field, as Vault's HTTP layer writes it. */
export function envelope(parts: EnvelopeParts): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: parts.leaseId ?? '',
    renewable: parts.renewable ?? false,
    lease_duration: parts.leaseDuration ?? 0,
    data: parts.data ?? null,
    wrap_info: null,
    warnings: parts.warnings !== undefined && parts.warnings.length > 0 ? parts.warnings : null,
    auth: parts.auth ?? null,
    mount_type: parts.mountType ?? '',
  };
}

export function ok(parts: EnvelopeParts): Reply {
  return { status: 200, body: envelope(parts) };
}

/** `{"errors": [...]}` with a status. */
export function failure(status: number, ...messages: string[]): Reply {
  return { status, body: { errors: messages } };
}

/** go-multierror's text, which Vault puts into one `errors` entry for token/ACL failures. */
export function multiError(...messages: string[]): string {
  const head = messages.length === 1 ? '1 error occurred:' : `${messages.length} errors occurred:`;
  return `${head}\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

/** Vault's answers that do not depend on an engine. */
export const VaultErrors = {
  /** A valid token whose policies do not cover the path. */
  permissionDenied: (): Reply => failure(403, multiError('permission denied')),
  /** An unknown, expired or revoked token (Vault ≥ 1.17 adds `invalid token`). */
  invalidToken: (legacy: boolean): Reply => failure(403, legacy ? multiError('permission denied') : multiError('permission denied', 'invalid token')),
  /** Nothing stored at the path (KV reads), or an empty list. */
  notFound: (): Reply => failure(404),
  noHandler: (path: string): Reply => failure(404, `no handler for route ${JSON.stringify(path)}. route entry not found.`),
  unsupportedOperation: (): Reply => failure(405, 'unsupported operation'),
  badRequest: (message: string): Reply => failure(400, message),
  sealed: (): Reply => failure(503, 'Vault is sealed'),
  noActiveNode: (): Reply => failure(503, 'no active Vault instance found'),
  internal: (message = 'internal error', status = 500): Reply => failure(status, message),
} as const;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Vault's `base62.Random(n)`: n characters from [A-Za-z0-9]. */
export function base62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: rejection sampling keeps the characters uniform.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

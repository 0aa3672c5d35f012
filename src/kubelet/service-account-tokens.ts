import { Errors } from '../errors/catalogue.js';
import type { KubeletPublishInput } from './kubelet-publish-input.js';
import { quoteForMessage } from './kubernetes-names.js';
import { parseRfc3339 } from './rfc3339.js';
import { own, SERVICE_ACCOUNT_TOKENS_KEY } from './volume-context-keys.js';

/** Which map of the request the tokens JSON came from; errors name it. */
export type TokensSource = 'secrets' | 'volume_context';

/** One entry of kubelet's tokens JSON, shape-checked but not yet decoded. */
export interface TokenEntry {
  readonly audience: string;
  /** Secret: never log it, never put it in an error. */
  readonly token: string;
  /** `expirationTimestamp` from the TokenRequest status. */
  readonly expirationTimestamp: Date;
}

export interface LocatedTokens {
  readonly where: TokensSource;
  readonly json: string;
}

/**
 * Find kubelet's tokens JSON. With `serviceAccountTokenInSecrets: true` (KEP-5538, Kubernetes
 * 1.35+) kubelet puts it in `secrets` only; otherwise in `volume_context`. We read `secrets`
 * first, so a driver whose CSIDriver object is switched over keeps working across kubelet
 * versions. Undefined when neither has it: the CSIDriver object sets no `tokenRequests`, which
 * is only an error for a volume whose provider needs a token (checked by volumes/).
 */
export function locateServiceAccountTokens(input: Pick<KubeletPublishInput, 'secrets' | 'volumeContext'>): LocatedTokens | undefined {
  const inSecrets = own(input.secrets, SERVICE_ACCOUNT_TOKENS_KEY);
  if (inSecrets !== undefined) return { where: 'secrets', json: inSecrets };
  const inContext = own(input.volumeContext, SERVICE_ACCOUNT_TOKENS_KEY);
  if (inContext !== undefined) return { where: 'volume_context', json: inContext };
  return undefined;
}

/**
 * Parse `{"<audience>": {"token": "<jwt>", "expirationTimestamp": "<RFC 3339>"}, ...}` — kubelet's
 * json.Marshal of map[audience]TokenRequestStatus. Reasons name keys and positions only: the
 * JSON holds tokens, so neither it nor JSON.parse's message (which quotes the input) is echoed.
 */
export function parseTokensJson(where: TokensSource, json: string): TokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error: unknown) {
    throw Errors.tokensMalformed(where, json.trim() === '' ? 'it is empty' : `it is not valid JSON${jsonErrorPosition(error)}`);
  }
  if (!isPlainObject(parsed)) {
    throw Errors.tokensMalformed(where, `it must be a JSON object of audience → {token, expirationTimestamp}, not ${describeJsonType(parsed)}`);
  }

  const entries: TokenEntry[] = [];
  for (const [audience, value] of Object.entries(parsed)) {
    const name = `the entry for audience ${quoteForMessage(audience)}`;
    if (!isPlainObject(value)) throw Errors.tokensMalformed(where, `${name} must be an object {token, expirationTimestamp}, not ${describeJsonType(value)}`);
    const token = value['token'];
    if (typeof token !== 'string' || token === '') throw Errors.tokensMalformed(where, `${name} has no "token" string`);
    const expiration = value['expirationTimestamp'];
    if (typeof expiration !== 'string') throw Errors.tokensMalformed(where, `${name} has no "expirationTimestamp" string`);
    // The value is not echoed: it sits next to the token and could be anything.
    const expirationTimestamp = parseRfc3339(expiration);
    if (expirationTimestamp === undefined) {
      throw Errors.tokensMalformed(where, `${name} has an "expirationTimestamp" that is not an RFC 3339 date-time such as 2026-01-01T00:00:00Z`);
    }
    entries.push({ audience, token, expirationTimestamp });
  }
  return entries;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** " (at position N)" from a JSON.parse SyntaxError, without the input excerpt V8 adds. */
function jsonErrorPosition(error: unknown): string {
  const position = error instanceof Error ? /position (\d+)/.exec(error.message)?.[1] : undefined;
  return position === undefined ? '' : ` (at position ${position})`;
}

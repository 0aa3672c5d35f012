import { pino, type Logger, type DestinationStream } from 'pino';
import { SERVICE_ACCOUNT_TOKENS_KEY } from '../errors/catalogue.js';
import { CENSORED, censorSensitiveKeys } from './log-censor.js';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, at any depth. They are a second line of defence: the
 * code never hands tokens, secret values or keys to the logger in the first place (a test proves
 * it with canaries), but a future careless `log.info({ req })` must still not leak.
 */
export const SENSITIVE_LOG_KEYS: ReadonlySet<string> = new Set([
  'token',
  'tokens',
  'secrets',
  'jwt',
  'content',
  'files',
  'privateKey',
  'privateKeyPem',
  'password',
  'authorization',
  'Authorization',
  SERVICE_ACCOUNT_TOKENS_KEY,
  // Credentials of the driver itself (Kubernetes API) and of backends, under their usual names.
  'bearerToken',
  'accessToken',
  'clientToken',
  'client_token',
  'secret_id',
]);

/**
 * pino's redact paths: the sensitive keys at the top level of a line, plus the two-level paths
 * where they usually sit. Deeper keys are censored by `censorSensitiveKeys` (log-censor.ts) in
 * pino's `log` and `bindings` formatters. No path starts with a wildcard: pino runs every key of
 * every line through such paths, at ~90 µs and ~130 KB of garbage a line (bench/README.md).
 */
export const REDACT_PATHS: readonly string[] = [
  ...[...SENSITIVE_LOG_KEYS].map((key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : `[${JSON.stringify(key)}]`)),
  `volume_context[${JSON.stringify(SERVICE_ACCOUNT_TOKENS_KEY)}]`,
  'headers.authorization',
  'headers.Authorization',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to capture them. */
  readonly destination?: DestinationStream;
}

/**
 * A log file written synchronously, for a process whose terminal shows something else (the demo).
 * Made here, where pino is imported statically: a dynamic `import('pino')` elsewhere lost its
 * named export in the bundle the image runs (`pino.destination` undefined).
 */
export function logFileDestination(path: string): DestinationStream {
  return pino.destination({ dest: path, sync: true });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      name: 'credmount',
      level: options.level ?? 'info',
      redact: { paths: [...REDACT_PATHS], censor: CENSORED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => censorSensitiveKeys(object, SENSITIVE_LOG_KEYS),
        bindings: (bindings) => censorSensitiveKeys(bindings, SENSITIVE_LOG_KEYS),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  censorChildBindings(logger);
  return logger;
}

/**
 * pino applies `formatters.bindings` to the root's own bindings only: a child's are serialized
 * as given (pino 10's `child` swaps in an identity formatter). Children inherit from the root
 * (Object.create), so censoring here covers children of children and `setBindings` too.
 */
function censorChildBindings(logger: Logger): void {
  const originalChild = logger.child as unknown as (this: Logger, bindings: object, options?: object) => Logger;
  const originalSetBindings = logger.setBindings as unknown as (this: Logger, bindings: object) => void;
  Object.assign(logger, {
    child(this: Logger, bindings: object, childOptions?: object): Logger {
      return originalChild.call(this, censorSensitiveKeys(bindings, SENSITIVE_LOG_KEYS), childOptions);
    },
    setBindings(this: Logger, bindings: object): void {
      originalSetBindings.call(this, censorSensitiveKeys(bindings, SENSITIVE_LOG_KEYS));
    },
  });
}

/** A logger that drops everything (unit tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

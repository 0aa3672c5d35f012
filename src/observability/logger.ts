import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors before a line is written. They are a second line of defence: the code
 * never hands tokens, secret values or keys to the logger in the first place (a test proves
 * it with canaries), but a future careless `log.info({ req })` must still not leak.
 */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'tokens',
  '*.tokens',
  'secrets',
  '*.secrets',
  'jwt',
  '*.jwt',
  'content',
  '*.content',
  'files',
  '*.files',
  'privateKey',
  '*.privateKey',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'volume_context["csi.storage.k8s.io/serviceAccount.tokens"]',
  '*.volume_context["csi.storage.k8s.io/serviceAccount.tokens"]',
  // Credentials of the driver itself (Kubernetes API) and of backends, under their usual names.
  'bearerToken',
  '*.bearerToken',
  'accessToken',
  '*.accessToken',
  'clientToken',
  '*.clientToken',
  'client_token',
  '*.client_token',
  'secret_id',
  '*.secret_id',
  'Authorization',
  '*.Authorization',
  'headers.Authorization',
  'privateKeyPem',
  '*.privateKeyPem',
  // pino wildcards match one level; the most dangerous keys are covered two levels down too.
  '*.*.token',
  '*.*.tokens',
  '*.*.secrets',
  '*.*.password',
  '*.*.privateKey',
  '*.*.volume_context["csi.storage.k8s.io/serviceAccount.tokens"]',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to capture them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'credmount',
      level: options.level ?? 'info',
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything (unit tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

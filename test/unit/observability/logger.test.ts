import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, REDACT_PATHS, SENSITIVE_LOG_KEYS, silentLogger } from '../../../src/observability/logger.js';

const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';
const CANARY = 'CANARY-eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2ln';

/** A destination that keeps every line pino writes. */
function capture(level = 'info') {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (chunk: string) => void chunks.push(chunk) } });
  return {
    logger,
    chunks,
    lines: (): Record<string, unknown>[] => chunks.map((chunk) => JSON.parse(chunk) as Record<string, unknown>),
    last: (): Record<string, unknown> => {
      const chunk = chunks.at(-1);
      assert.ok(chunk !== undefined, 'a line was written');
      return JSON.parse(chunk) as Record<string, unknown>;
    },
  };
}

describe('createLogger line format', () => {
  test('writes one JSON object per line with the level as a label', () => {
    const { logger, chunks, lines } = capture();
    logger.info({ volumeId: 'csi-1' }, 'published');
    logger.warn('careful');
    assert.equal(chunks.length, 2);
    for (const chunk of chunks) {
      assert.ok(chunk.endsWith('\n'), 'each line ends with a newline');
      assert.equal(chunk.indexOf('\n'), chunk.length - 1, 'one line per write');
    }
    const [info, warn] = lines();
    assert.equal(info?.['level'], 'info');
    assert.equal(info?.['msg'], 'published');
    assert.equal(info?.['volumeId'], 'csi-1');
    assert.equal(info?.['name'], 'credmount');
    assert.equal(info?.['pid'], process.pid);
    assert.equal(typeof info?.['time'], 'string');
    assert.ok(!Number.isNaN(Date.parse(info?.['time'] as string)), 'time is an ISO date');
    assert.equal(warn?.['level'], 'warn');
  });

  test('defaults to info: debug is dropped, info is written', () => {
    const { logger, lines } = capture(undefined);
    logger.debug('hidden');
    logger.info('shown');
    assert.deepEqual(
      lines().map((l) => l['msg']),
      ['shown'],
    );
  });

  test('filters by level', () => {
    const { logger, lines } = capture('warn');
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    assert.deepEqual(
      lines().map((l) => [l['level'], l['msg']]),
      [
        ['warn', 'w'],
        ['error', 'e'],
        ['fatal', 'f'],
      ],
    );
  });

  test('debug level lets debug through but not trace', () => {
    const { logger, lines } = capture('debug');
    logger.trace('t');
    logger.debug('d');
    assert.deepEqual(
      lines().map((l) => l['level']),
      ['debug'],
    );
  });

  test('silent writes nothing', () => {
    const { logger, chunks } = capture('silent');
    logger.fatal({ token: CANARY }, 'nothing');
    assert.equal(chunks.length, 0);
  });

  test('silentLogger drops everything', () => {
    const logger = silentLogger();
    assert.equal(logger.level, 'silent');
    assert.equal(logger.isLevelEnabled('fatal'), false);
  });
});

describe('createLogger redaction', () => {
  const cases: [name: string, object: Record<string, unknown>, path: string[]][] = [
    ['token', { token: CANARY }, ['token']],
    ['nested *.token', { request: { token: CANARY } }, ['request', 'token']],
    ['tokens', { tokens: { vault: CANARY } }, ['tokens']],
    ['secrets', { secrets: { [TOKENS_KEY]: CANARY } }, ['secrets']],
    ['nested *.secrets', { request: { secrets: { a: CANARY } } }, ['request', 'secrets']],
    ['password', { password: CANARY }, ['password']],
    ['nested *.password', { p12: { password: CANARY } }, ['p12', 'password']],
    ['authorization', { authorization: `Bearer ${CANARY}` }, ['authorization']],
    ['headers.authorization', { headers: { authorization: `Bearer ${CANARY}` } }, ['headers', 'authorization']],
    ['jwt', { jwt: CANARY }, ['jwt']],
    ['content', { content: CANARY }, ['content']],
    ['files', { files: [{ path: 'a', content: CANARY }] }, ['files']],
    ['privateKey', { privateKey: CANARY }, ['privateKey']],
    ['the tokens key of volume_context', { volume_context: { [TOKENS_KEY]: CANARY, 'csi.storage.k8s.io/pod.name': 'pod-a' } }, ['volume_context', TOKENS_KEY]],
    ['the tokens key of a nested volume_context', { request: { volume_context: { [TOKENS_KEY]: CANARY, provider: 'embedded' } } }, ['request', 'volume_context', TOKENS_KEY]],
    // Deeper than pino's two-level wildcards ever reached.
    ['a token four levels down', { call: { request: { body: { token: CANARY } } } }, ['call', 'request', 'body', 'token']],
    ['a password in a list', { logins: [{ user: 'a' }, { password: CANARY }] }, ['logins', '1', 'password']],
    ['a bearer token of a class instance', { client: new (class ApiClient { readonly server = 'https://k8s'; readonly bearerToken = CANARY })() }, ['client', 'bearerToken']],
    ['the tokens key at the top level', { [TOKENS_KEY]: CANARY }, [TOKENS_KEY]],
  ];

  for (const [name, object, path] of cases) {
    test(`censors ${name}`, () => {
      const { logger, chunks, last } = capture();
      logger.info(object, 'call');
      assert.equal(chunks.length, 1);
      assert.ok(!(chunks[0] ?? '').includes(CANARY), `the canary is not in ${chunks[0] ?? ''}`);
      let value: unknown = last();
      for (const key of path) value = (value as Record<string, unknown>)[key];
      assert.equal(value, '[REDACTED]');
    });
  }

  test('keeps the other keys of volume_context', () => {
    const { logger, last } = capture();
    logger.info({ volume_context: { [TOKENS_KEY]: CANARY, 'csi.storage.k8s.io/pod.name': 'pod-a', provider: 'embedded' } });
    assert.deepEqual(last()['volume_context'], { [TOKENS_KEY]: '[REDACTED]', 'csi.storage.k8s.io/pod.name': 'pod-a', provider: 'embedded' });
  });

  test('leaves harmless fields alone', () => {
    const { logger, last } = capture();
    logger.info({ volumeId: 'csi-1', pod: 'payments/billing', provider: 'embedded', result: 'mounted' });
    const line = last();
    assert.equal(line['volumeId'], 'csi-1');
    assert.equal(line['pod'], 'payments/billing');
    assert.equal(line['result'], 'mounted');
  });

  test('redaction does not modify the logged object', () => {
    const { logger } = capture();
    const object = { token: CANARY, request: { token: CANARY } };
    logger.info(object);
    assert.equal(object.token, CANARY);
    assert.equal(object.request.token, CANARY);
  });

  test('child loggers redact too', () => {
    const { logger, chunks } = capture();
    logger.child({ component: 'test' }).warn({ secrets: { a: CANARY }, password: CANARY });
    assert.equal(chunks.length, 1);
    assert.ok(!(chunks[0] ?? '').includes(CANARY));
  });

  test("a child's bindings are censored at any depth too", () => {
    const { logger, chunks, last } = capture();
    logger.child({ component: 'vault', client: { auth: { clientToken: CANARY } } }).info('login');
    assert.ok(!(chunks[0] ?? '').includes(CANARY), chunks[0]);
    assert.deepEqual(last()['client'], { auth: { clientToken: '[REDACTED]' } });
    assert.equal(last()['component'], 'vault');
    // A child of a child, and bindings set later.
    const grandchild = logger.child({ component: 'vault' }).child({ lease: { password: CANARY } });
    grandchild.info('renew');
    grandchild.setBindings({ login: { secret_id: CANARY } });
    grandchild.info('again');
    assert.equal(chunks.length, 3);
    for (const chunk of chunks) assert.ok(!chunk.includes(CANARY), chunk);
    assert.deepEqual(last()['login'], { secret_id: '[REDACTED]' });
  });

  test('an error logged as the first argument is censored like one under err', () => {
    const { logger, chunks, last } = capture();
    logger.error(Object.assign(new Error('denied'), { response: { headers: { Authorization: `Bearer ${CANARY}` } } }));
    assert.ok(!(chunks[0] ?? '').includes(CANARY), chunks[0]);
    assert.equal(last()['msg'], 'denied');
  });

  test('an error keeps its message, stack and type; its own sensitive keys are censored', () => {
    const { logger, chunks, last } = capture();
    const cause = Object.assign(new Error('inner'), { password: CANARY });
    const error = Object.assign(new TypeError('outer', { cause }), { token: CANARY, status: 401 });
    logger.warn({ err: error }, 'failed');
    assert.ok(!(chunks[0] ?? '').includes(CANARY), chunks[0]);
    const err = last()['err'] as Record<string, unknown>;
    assert.equal(err['type'], 'TypeError');
    assert.match(String(err['message']), /^outer/); // pino appends the causes' messages
    assert.match(String(err['stack']), /TypeError: outer/);
    assert.equal(err['status'], 401);
    assert.equal(err['token'], '[REDACTED]');
    assert.match(String(err['stack']), /caused by: Error: inner/); // pino writes a cause's message and stack, not its keys
    assert.equal(error.token, CANARY, 'the error itself is untouched');
  });

  test('frozen objects and cycles are censored without throwing or leaking', () => {
    const { logger, chunks } = capture();
    const frozen = Object.freeze({ inner: Object.freeze({ token: CANARY, keep: 'yes' }) });
    const cyclic: Record<string, unknown> = { name: 'loop', password: CANARY };
    cyclic['self'] = cyclic;
    logger.info({ frozen, cyclic });
    assert.equal(chunks.length, 1);
    assert.ok(!(chunks[0] ?? '').includes(CANARY), chunks[0]);
    assert.match(chunks[0] ?? '', /"keep":"yes"/);
    assert.equal(frozen.inner.token, CANARY);
  });

  test('the sensitive keys include the names the brief promises', () => {
    for (const key of ['token', 'tokens', 'secrets', 'password', 'authorization', 'privateKey', TOKENS_KEY]) {
      assert.ok(SENSITIVE_LOG_KEYS.has(key), key);
    }
    assert.ok(REDACT_PATHS.includes(`volume_context["${TOKENS_KEY}"]`));
  });

  test('no redact path starts with a wildcard (pino would run every key of every line through it)', () => {
    for (const path of REDACT_PATHS) assert.ok(!path.startsWith('*'), path);
  });
});

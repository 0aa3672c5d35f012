import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CredmountError } from '../../../src/errors/credmount-error.js';
import type { FetchResult, ParsedParameters, Provider } from '../../../src/providers/provider.js';
import { ProviderRegistry } from '../../../src/providers/registry.js';

/** A provider that only has a name and, optionally, a close() that records it ran. */
class NamedProvider implements Provider<null> {
  closed = 0;
  close?: () => Promise<void>;

  constructor(
    readonly name: string,
    options: { closable?: boolean; closeDelayMs?: number } = {},
  ) {
    if (options.closable ?? true) {
      this.close = async () => {
        if (options.closeDelayMs !== undefined) await sleep(options.closeDelayMs);
        this.closed += 1;
      };
    }
  }

  parse(): ParsedParameters<null> {
    return { value: null, audiences: [], scope: 'pod' };
  }

  async fetch(): Promise<FetchResult> {
    return { files: [], versions: {}, refreshAt: new Date(0) };
  }
}

describe('ProviderRegistry', () => {
  test('get returns the provider registered under that name', () => {
    const vault = new NamedProvider('vault');
    const embedded = new NamedProvider('embedded');
    const registry = new ProviderRegistry([vault, embedded]);
    assert.equal(registry.get('vault'), vault);
    assert.equal(registry.get('embedded'), embedded);
  });

  test('get of an unknown name is CM_UNKNOWN_PROVIDER naming the known ones', () => {
    const registry = new ProviderRegistry([new NamedProvider('vault'), new NamedProvider('embedded')]);
    assert.throws(
      () => registry.get('aws'),
      (error: unknown) => {
        assert.ok(error instanceof CredmountError);
        assert.equal(error.code, 'CM_UNKNOWN_PROVIDER');
        assert.equal(error.status, 'INVALID_ARGUMENT');
        assert.equal(error.field, 'volume_context.provider');
        assert.ok(error.message.includes('"aws"'), error.message);
        assert.ok(error.message.includes('embedded, vault'), `known providers listed, sorted: ${error.message}`);
        return true;
      },
    );
  });

  test('names are matched exactly (no case folding, no trimming)', () => {
    const registry = new ProviderRegistry([new NamedProvider('vault')]);
    for (const name of ['Vault', ' vault', 'vault ', '']) {
      assert.throws(() => registry.get(name), (error: unknown) => error instanceof CredmountError && error.code === 'CM_UNKNOWN_PROVIDER');
    }
  });

  test('inherited object keys are not providers', () => {
    const registry = new ProviderRegistry([new NamedProvider('vault')]);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.throws(() => registry.get(name), (error: unknown) => error instanceof CredmountError && error.code === 'CM_UNKNOWN_PROVIDER');
    }
  });

  test('an empty registry says it has none', () => {
    assert.throws(() => new ProviderRegistry().get('vault'), (error: unknown) => error instanceof CredmountError && error.code === 'CM_UNKNOWN_PROVIDER');
    assert.deepEqual(new ProviderRegistry().names(), []);
  });

  test('registering a name twice throws, in the constructor and in register()', () => {
    assert.throws(() => new ProviderRegistry([new NamedProvider('vault'), new NamedProvider('vault')]), /vault.*twice/);
    const registry = new ProviderRegistry([new NamedProvider('vault')]);
    const first = registry.get('vault');
    assert.throws(() => registry.register(new NamedProvider('vault')), /vault.*twice/);
    assert.equal(registry.get('vault'), first, 'the first registration stays');
  });

  test('names() is sorted and a copy', () => {
    const registry = new ProviderRegistry([new NamedProvider('zeta'), new NamedProvider('alpha')]);
    registry.register(new NamedProvider('mid'));
    const names = registry.names();
    assert.deepEqual(names, ['alpha', 'mid', 'zeta']);
    names.push('injected');
    assert.deepEqual(registry.names(), ['alpha', 'mid', 'zeta']);
  });

  test('close() closes every provider and waits for each', async () => {
    const fast = new NamedProvider('fast');
    const slow = new NamedProvider('slow', { closeDelayMs: 30 });
    const noClose = new NamedProvider('plain', { closable: false });
    const registry = new ProviderRegistry([fast, slow, noClose]);
    await registry.close();
    assert.equal(fast.closed, 1);
    assert.equal(slow.closed, 1, 'close() resolved only after the slow provider closed');
    assert.equal(noClose.close, undefined);
  });

  test('close() rejects when a provider fails to close, after asking every one', async () => {
    const good = new NamedProvider('good');
    const bad = new NamedProvider('bad');
    bad.close = async () => {
      throw new Error('cannot close');
    };
    const registry = new ProviderRegistry([bad, good]);
    await assert.rejects(registry.close(), /cannot close/);
    assert.equal(good.closed, 1);
  });
});

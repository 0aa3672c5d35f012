import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bindMallocTrim, startMallocTrim, type MallocTrimBinding } from '../../../src/cli/malloc-trim.js';
import { createLogger } from '../../../src/observability/logger.js';
import { runModuleScript, sourceModule } from '../../support/module-script.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) } });
  return { logger, lines };
}

void describe('bindMallocTrim', () => {
  void it("binds glibc's malloc_trim on Linux, and the call answers 0 or 1", () => {
    const binding = bindMallocTrim();
    assert.ok('trim' in binding, `not bound: ${'unavailable' in binding ? binding.unavailable : ''}`);
    assert.ok([0, 1].includes(binding.trim(0)));
  });

  void it('is unavailable, with the reason, off Linux', () => {
    const binding = bindMallocTrim('darwin');
    assert.ok('unavailable' in binding);
    assert.match(binding.unavailable, /darwin/);
  });
});

void describe('startMallocTrim', () => {
  void it('trims with no padding every interval until stopped', async () => {
    const pads: number[] = [];
    const { logger } = capturingLogger();
    const stop = startMallocTrim({ intervalMs: 10, logger, bind: () => ({ trim: (pad) => (pads.push(pad), 0) }) });
    await sleep(80);
    stop();
    const calls = pads.length;
    assert.ok(calls >= 2, `trimmed ${calls} times in 80 ms at a 10 ms interval`);
    assert.ok(pads.every((pad) => pad === 0));
    await sleep(40);
    assert.equal(pads.length, calls, 'trimmed after stop');
  });

  void it('binds on the first tick, not at start (a cold start does not load the FFI)', async () => {
    let binds = 0;
    const { logger } = capturingLogger();
    const stop = startMallocTrim({ intervalMs: 30, logger, bind: () => (binds++, { trim: () => 0 }) });
    assert.equal(binds, 0);
    await sleep(100);
    stop();
    assert.equal(binds, 1, 'bound once, however many ticks');
  });

  void it('an interval of 0 never binds or trims', async () => {
    let binds = 0;
    const { logger } = capturingLogger();
    const stop = startMallocTrim({ intervalMs: 0, logger, bind: () => (binds++, { trim: () => 0 }) });
    await sleep(30);
    stop();
    assert.equal(binds, 0);
  });

  void it('without malloc_trim (musl), says why once and stops', async () => {
    let binds = 0;
    const { logger, lines } = capturingLogger();
    const unavailable: MallocTrimBinding = { unavailable: 'no malloc_trim in this C library' };
    const stop = startMallocTrim({ intervalMs: 10, logger, bind: () => (binds++, unavailable) });
    await sleep(60);
    stop();
    assert.equal(binds, 1);
    assert.deepEqual(
      lines.map((line) => [line['level'], line['msg'], line['reason']]),
      [['info', 'not returning freed memory to the kernel periodically', 'no malloc_trim in this C library']],
    );
  });

  void it('a failing call is reported once and not repeated', async () => {
    let calls = 0;
    const { logger, lines } = capturingLogger();
    const stop = startMallocTrim({
      intervalMs: 10,
      logger,
      bind: () => ({
        trim: () => {
          calls++;
          throw new Error('boom');
        },
      }),
    });
    await sleep(60);
    stop();
    assert.equal(calls, 1);
    assert.deepEqual(lines.map((line) => [line['level'], line['err']]), [['warn', 'boom']]);
  });

  void it('returns memory glibc held free to the kernel (a real heap, in a child process)', async () => {
    // 32 MiB in 64 KiB buffers (below glibc's mmap threshold: they come from its heap), all freed
    // but the last, which pins the heap's top: glibc's own trimming returns none of it.
    const script = `
      const { startMallocTrim } = await import(${sourceModule('cli/malloc-trim.js')});
      const { createLogger } = await import(${sourceModule('observability/logger.js')});
      let buffers = [];
      for (let i = 0; i < 512; i++) buffers.push(Buffer.allocUnsafeSlow(64 * 1024).fill(i));
      const pinned = buffers.at(-1);
      buffers = undefined;
      globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 20)); globalThis.gc();
      const before = process.memoryUsage.rss();
      const lines = [];
      const stop = startMallocTrim({ intervalMs: 20, logger: createLogger({ level: 'debug', destination: { write: (chunk) => lines.push(JSON.parse(chunk)) } }) });
      await new Promise((resolve) => setTimeout(resolve, 150));
      stop();
      console.log(JSON.stringify({ before, after: process.memoryUsage.rss(), pinned: pinned.length, lines }));`;
    const { stdout } = await runModuleScript(script, { nodeFlags: ['--expose-gc'] });
    const result = JSON.parse(stdout) as { before: number; after: number; lines: { msg: string; returnedMiB: number }[] };
    const returnedMiB = (result.before - result.after) / 1048576;
    assert.ok(returnedMiB >= 16, `only ${returnedMiB.toFixed(1)} MiB returned`);
    const reported = result.lines.find((line) => line.msg === 'returned freed memory to the kernel');
    assert.ok(reported !== undefined && reported.returnedMiB >= 16, JSON.stringify(result.lines));
  });
});

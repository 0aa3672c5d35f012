import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../src/cli/duration.js';

const valid: [text: string, ms: number][] = [
  ['90s', 90_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
  ['1h30m', 5_400_000],
  ['1m30s', 90_000],
  ['2h0m5s', 7_205_000],
  ['250ms', 250],
  ['1s500ms', 1_500],
  ['1.5s', 1_500],
  ['0.5h', 1_800_000],
  ['45', 45_000],
  ['1.5', 1_500],
  ['0', 0],
  ['  5m  ', 300_000],
];

for (const [text, ms] of valid) {
  test(`${JSON.stringify(text)} is ${ms} ms`, () => {
    assert.equal(parseDuration(text, '--flag'), ms);
  });
}

const invalid = ['abc', '5x', '1d', '-5s', '5 m', 's', 'ms', '1h30', '5m5', '.5s', '5S', '1e3', '5m junk', 'Infinity', 'NaN'];

for (const text of invalid) {
  test(`${JSON.stringify(text)} is refused, naming the flag and quoting the input`, () => {
    assert.throws(
      () => parseDuration(text, '--fetch-timeout'),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.startsWith('--fetch-timeout: '), error.message);
        assert.ok(error.message.includes(JSON.stringify(text)), error.message);
        return true;
      },
    );
  });
}

test('an empty or blank duration is refused as empty', () => {
  for (const text of ['', '   ']) {
    assert.throws(() => parseDuration(text, '--fetch-timeout'), /^Error: --fetch-timeout: empty duration$/);
  }
});

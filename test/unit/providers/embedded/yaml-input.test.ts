import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseYaml } from '../../../../src/providers/embedded/yaml-input.js';

void describe('parseYaml', () => {
  test('parses YAML 1.2: yes stays a string, 0640 is not octal', () => {
    assert.deepEqual(parseYaml('- a: yes\n  b: 0640\n'), { value: [{ a: 'yes', b: 640 }] });
  });

  test('the same text twice gives the same, frozen result (pods of one Deployment share it)', () => {
    const text = `- objectName: x${Math.random()}\n  secretPath: a/b\n`;
    const first = parseYaml(text);
    assert.equal(parseYaml(text), first);
    assert.ok('value' in first);
    const list = first.value as Array<Record<string, unknown>>;
    assert.throws(() => list.push({}), TypeError);
    assert.throws(() => {
      (list[0] as Record<string, unknown>)['secretPath'] = '../../etc';
    }, TypeError);
    assert.equal(list[0]?.['secretPath'], 'a/b');
  });

  test('errors are reported with the reason, also when asked again', () => {
    const text = `- a: [unclosed ${Math.random()}\n`;
    const first = parseYaml(text);
    assert.ok('reason' in first && first.reason.startsWith('it is not valid YAML'));
    assert.deepEqual(parseYaml(text), first);
  });

  test('many distinct texts do not change what each one parses to', () => {
    const texts = Array.from({ length: 40 }, (_, i) => `- n: ${i}\n`);
    for (const text of texts) parseYaml(text);
    texts.forEach((text, i) => assert.deepEqual(parseYaml(text), { value: [{ n: i }] }));
  });
});

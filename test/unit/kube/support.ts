import { parseDriverConfig, type DriverConfig } from '../../../src/cli/config.js';

/** The driver's config with the embedded provider's required JWKS flag set. */
export function parseConfigForTest(argv: readonly string[]): DriverConfig {
  return parseDriverConfig(['--embedded-jwks-file=/etc/credmount/jwks.json', ...argv]);
}

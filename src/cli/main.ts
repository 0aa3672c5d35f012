#!/usr/bin/env node
/**
 * The `credmount` command. Subcommands:
 *   driver       the CSI node plugin (what the DaemonSet runs)
 *   kubelet-sim  drive any CSI driver socket the way kubelet does
 *   demo         driver + simulator + embedded provider in one process, in a temporary directory
 */
import { readPackageVersion } from './package-version.js';

// Each command is imported only when run: the driver (what every node runs) does not pay for
// loading the simulator, the demo or their dependencies at start-up.

const USAGE = `usage: credmount <command> [flags]

commands:
  driver        run the CSI node plugin (see: credmount driver --help)
  kubelet-sim   act as kubelet against a CSI socket (see: credmount kubelet-sim --help)
  demo          run the driver, the simulator and the embedded provider together
  version       print the version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'driver':
      return (await import('./driver-command.js')).runDriverCommand(rest);
    case 'kubelet-sim':
      return (await import('./kubelet-sim-command.js')).runKubeletSimCommand(rest);
    case 'demo':
      return (await import('./demo-command.js')).runDemoCommand(rest);
    case 'version':
    case '--version':
      console.log(readPackageVersion());
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`credmount: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`credmount: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

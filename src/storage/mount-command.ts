import { execFile } from 'node:child_process';

/**
 * The one place credmount runs an external program. mount(8)/umount(8) are used for now; a
 * later change replaces them with the mount(2)/umount2(2) system calls, which only has to
 * swap this function (or inject another `CommandRunner`).
 *
 * execFile, not exec: the arguments (a target path that comes from kubelet) go straight to the
 * program with no shell to interpret them.
 */

export type CommandRunner = (file: string, args: readonly string[]) => Promise<void>;

/** A command that ran and failed; `stderr` is what mount/umount said, for the error message. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly file: string,
    readonly exitCode: number | string | undefined,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(`${file} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no error output'}`, cause === undefined ? undefined : { cause });
  }
}

/** mount of a tmpfs is instant; a hung call must still end well inside kubelet's 2-minute budget. */
const COMMAND_TIMEOUT_MS = 30_000;

export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    // LC_ALL=C: the callers recognise "not mounted" in the message, so it must be English.
    execFile(file, [...args], { timeout: COMMAND_TIMEOUT_MS, env: { ...process.env, LC_ALL: 'C' } }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      // `code` is the exit status, or a spawn error name such as ENOENT (program not installed).
      const exitCode: unknown = (error as { code?: unknown }).code;
      reject(new CommandFailedError(file, typeof exitCode === 'number' || typeof exitCode === 'string' ? exitCode : undefined, String(stderr) || error.message, error));
    });
  });

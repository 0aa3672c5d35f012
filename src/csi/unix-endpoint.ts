import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `--endpoint unix:///var/lib/kubelet/plugins/<driver>/csi.sock` → the socket path. Only unix
 * sockets: kubelet and the sidecars reach a node plugin through the filesystem.
 */
export function socketPathFromEndpoint(endpoint: string): string {
  // `unix:///abs/path` or `unix:/abs/path`; `unix://host/...` and relative paths are refused.
  const match = /^unix:(?:\/\/)?(\/[^/].*)$/.exec(endpoint);
  if (match?.[1] === undefined) throw new Error(`--endpoint must look like unix:///path/to/csi.sock, got ${JSON.stringify(endpoint)}`);
  return match[1];
}

/**
 * A socket left by a previous process (killed, crashed) makes bind fail with EADDRINUSE. Remove
 * it, but only if it is a socket: a regular file at that path is a configuration mistake.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    const stat = await lstat(path);
    if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to remove it`);
    await unlink(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}

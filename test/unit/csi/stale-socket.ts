import { link, rm } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * A socket file nobody listens on, as a SIGKILLed driver leaves it. Node unlinks a unix socket
 * when its server closes, so this binds one beside `path`, hard-links the socket inode to
 * `path`, then closes the server: the link survives as a real socket with no listener.
 */
export async function createStaleSocket(path: string): Promise<void> {
  const live = `${path}.live`;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(live, () => resolve());
  });
  try {
    await link(live, path);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(live, { force: true });
  }
}

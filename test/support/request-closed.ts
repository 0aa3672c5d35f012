import type { IncomingMessage } from 'node:http';

/** True once the connection `request` came on has closed, false if it is still open after `ms`. */
export function closedWithin(request: IncomingMessage, ms: number): Promise<boolean> {
  return new Promise((resolveClosed) => {
    if (request.socket.destroyed) return resolveClosed(true);
    const timer = setTimeout(() => resolveClosed(false), ms);
    request.socket.once('close', () => {
      clearTimeout(timer);
      resolveClosed(true);
    });
  });
}

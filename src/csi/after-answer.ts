/**
 * Runs `work` once the answer just given to grpc-js has been written to the socket.
 *
 * grpc-js hands a unary answer to Node's http2, which writes it from immediates queued in the
 * same turn of the event loop. Any work before that — in a setImmediate queued after the
 * callback, too — delays kubelet's answer by its whole duration: in a bare grpc-js server, a 2 ms
 * loop after the callback added 2 ms to the round trip either way. A timer runs in the next turn,
 * after those immediates, and added nothing. The call's log line and the volume's metadata
 * record go here.
 */
export function afterAnswerSent(work: () => void): void {
  setTimeout(work, 0);
}

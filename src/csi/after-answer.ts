/**
 * Runs `work` once the answer just given to grpc-js has been written to the socket.
 *
 * A unary answer leaves in two writes, each made by Node's http2 from a native immediate (the
 * check phase, which runs native immediates before JavaScript ones): the headers and message in
 * the turn of the callback; then grpc-js, from the message's write callback, ends the stream, and
 * the trailers — the moment kubelet has its answer — are written in a later turn's check phase.
 * Work that runs before that delays the answer by its whole length: in the same turn (a
 * setImmediate queued after the callback, too) or in the next turn's timers phase. A
 * `setTimeout(work, 0)` often lands there (a timer's start is the loop's cached time, which a
 * long handler has left behind): in first publishes the log line and the metadata record, ~0.3
 * ms, ran between grpc-js's sendTrailers and the stream's close (bench/README.md, session 7).
 *
 * So: an immediate that queues another, which runs in the next turn's check phase after the
 * native immediate that writes the trailers. `test/unit/csi/after-answer.test.ts` holds this to a
 * real grpc-js server and a client in another process (the timer fails it intermittently). If
 * the socket is full the trailers wait for it and the work may run first: later work, never lost
 * work. The call's log line and the volume's metadata record go here.
 */
export function afterAnswerSent(work: () => void): void {
  setImmediate(() => setImmediate(work));
}

/** The grpc-js server options the driver runs with (the benchmarks' bare grpc-js server uses them too). */
export const CSI_SERVER_OPTIONS: Readonly<Record<string, number>> = Object.freeze({
  // Large contexts (many objects, tokens for several audiences) can exceed gRPC's defaults.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  // Nobody reads channelz here, and with it on every call goes through grpc-js's bookkeeping
  // handler (call counters, timestamps, a session record): ~0.07–0.09 ms of CPU per call on a new
  // connection, and kubelet makes three such calls per republish (bench/README.md, session 12).
  'grpc.enable_channelz': 0,
});

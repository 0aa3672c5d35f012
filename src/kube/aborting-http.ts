type ClientModule = typeof import('@kubernetes/client-node');
/** client-node's HTTP library (node-fetch underneath), through which every API call goes. */
export type KubeHttpLibrary = InstanceType<ClientModule['IsomorphicFetchHttpLibrary']>;

/**
 * client-node's HTTP library with each request given `signal`: when the driver stops waiting for
 * an answer (a timeout, an abandoned fetch), the request is aborted and its connection closed,
 * instead of staying open for as long as the API server — or a dead network path — keeps it.
 * Passed per call as `{ httpApi }`, client-node's per-call configuration.
 */
export function abortingOn(signal: AbortSignal, http: KubeHttpLibrary): KubeHttpLibrary {
  return {
    send(request) {
      request.setSignal(signal);
      return http.send(request);
    },
  };
}

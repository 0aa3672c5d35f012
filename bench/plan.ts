/**
 * How big each measurement is: the full benchmark (minutes) or the smoke run (seconds), which
 * checks that every measurement works end to end, not how fast it is.
 */
export interface Plan {
  readonly name: 'full' | 'smoke';
  /**
   * `warmup` publishes, then `batches` × `batchSize` measured: a driver that has just started. Then
   * on, unmeasured, until `inServiceAfter` first publishes in all, and `inServiceBatches` more
   * measured batches: a driver in service, whose publish path V8 has optimised (it takes several
   * hundred publishes; bench/README.md, session 9).
   */
  readonly firstPublish: { readonly warmup: number; readonly batches: number; readonly batchSize: number; readonly inServiceAfter: number; readonly inServiceBatches: number };
  /**
   * `volumes` published, republished `warmupRounds` times (a driver in service has done thousands
   * of republishes: V8 has optimised the path), then `rounds` measured rounds.
   */
  readonly freshRepublish: { readonly volumes: number; readonly warmupRounds: number; readonly rounds: number };
  readonly burst: { readonly pods: number; readonly runs: number };
  /** Volumes republished every `intervalMs` (kubelet's ~60 s compressed) for `warmupSeconds`, then measured for `seconds`. */
  readonly steadyState: { readonly volumes: number; readonly intervalMs: number; readonly warmupSeconds: number; readonly seconds: number; readonly settleSeconds: number };
  /**
   * Embedded provider with time scaled: `hourMs` of real time stands for one hour, so kubelet's
   * 60 s cadence is hourMs/60, the 5 min refresh interval hourMs/12 and a 1 h certificate lives
   * hourMs. Counted over `hours` scaled hours after every volume has been published.
   */
  readonly backendEmbedded: { readonly volumesPerKind: number; readonly hourMs: number; readonly hours: number };
  /**
   * Vault dynamic leases on the real clock: `hourMs` stands for one hour, leases of
   * `leaseSeconds` up to `maxLeaseSeconds` (whole seconds, as Vault counts).
   */
  readonly backendVault: { readonly volumes: number; readonly hourMs: number; readonly hours: number; readonly leaseSeconds: number; readonly maxLeaseSeconds: number };
  readonly coldStart: { readonly runs: number };
  /** The bare grpc-js reference: sequential calls per volume and paced calls, warmed up like measurements 2 and 4. */
  readonly grpcFloor: { readonly volumes: number; readonly warmupRounds: number; readonly rounds: number; readonly intervalMs: number; readonly warmupSeconds: number; readonly seconds: number };
}

export const FULL_PLAN: Plan = {
  name: 'full',
  firstPublish: { warmup: 20, batches: 3, batchSize: 100, inServiceAfter: 1_000, inServiceBatches: 2 },
  // 30 rounds of 110: what kubelet sends a full node in its driver's first half hour or so.
  freshRepublish: { volumes: 110, warmupRounds: 30, rounds: 10 },
  burst: { pods: 200, runs: 3 },
  steadyState: { volumes: 110, intervalMs: 1_000, warmupSeconds: 30, seconds: 60, settleSeconds: 10 },
  // 60 s for an hour (60x): republish every 1 s, secrets re-read every 5 s, certificates of 60 s.
  backendEmbedded: { volumesPerKind: 20, hourMs: 60_000, hours: 1 },
  // 36 s for an hour (100x): republish every 0.6 s; leases of 6 s (10 min) up to 18 s (30 min).
  backendVault: { volumes: 20, hourMs: 36_000, hours: 2, leaseSeconds: 6, maxLeaseSeconds: 18 },
  coldStart: { runs: 10 },
  grpcFloor: { volumes: 110, warmupRounds: 30, rounds: 10, intervalMs: 1_000, warmupSeconds: 15, seconds: 30 },
};

export const SMOKE_PLAN: Plan = {
  name: 'smoke',
  firstPublish: { warmup: 2, batches: 1, batchSize: 5, inServiceAfter: 12, inServiceBatches: 1 },
  freshRepublish: { volumes: 5, warmupRounds: 2, rounds: 2 },
  burst: { pods: 10, runs: 1 },
  steadyState: { volumes: 5, intervalMs: 250, warmupSeconds: 0.5, seconds: 2, settleSeconds: 0.5 },
  backendEmbedded: { volumesPerKind: 3, hourMs: 6_000, hours: 1 },
  backendVault: { volumes: 3, hourMs: 6_000, hours: 1, leaseSeconds: 1, maxLeaseSeconds: 3 },
  coldStart: { runs: 2 },
  grpcFloor: { volumes: 5, warmupRounds: 2, rounds: 2, intervalMs: 250, warmupSeconds: 0.5, seconds: 1 },
};

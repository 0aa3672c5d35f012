/**
 * KV secrets engines. Version 2 (vault-plugin-secrets-kv path_data.go): versions numbered from 1,
 * `GET <mount>/data/<path>[?version=N]` answers `{data, metadata}`; a deleted or destroyed version
 * answers 404 with the metadata and `data: null`; no key or no such version answers 404
 * `{"errors":[]}`. Version 1 (passthrough.go): `GET <mount>/<path>` answers the stored map with
 * `lease_duration` = the mount's default TTL unless the data has a `ttl` (or `lease`) key.
 * Writes come from tests through methods, not HTTP.
 */
import { parseDurationSeconds, rfc3339Nano, type Now } from './time.js';
import { failure, ok, type Reply } from './wire.js';

interface Kv2Version {
  readonly data: Record<string, unknown>;
  readonly createdAt: number;
  deletedAt: number | undefined;
  destroyed: boolean;
}

interface Kv2Key {
  readonly versions: Map<number, Kv2Version>;
  current: number;
  customMetadata: Record<string, string> | null;
}

export class Kv2Mount {
  private readonly keys = new Map<string, Kv2Key>();

  constructor(private readonly now: Now) {}

  write(path: string, data: Record<string, unknown>, customMetadata?: Record<string, string>): number {
    let key = this.keys.get(path);
    if (key === undefined) {
      key = { versions: new Map(), current: 0, customMetadata: null };
      this.keys.set(path, key);
    }
    key.current += 1;
    key.versions.set(key.current, { data: structuredClone(data), createdAt: this.now(), deletedAt: undefined, destroyed: false });
    if (customMetadata !== undefined) key.customMetadata = { ...customMetadata };
    return key.current;
  }

  /** Soft delete (`DELETE data/<path>` or `POST delete/<path>`): default the latest version. */
  delete(path: string, versions?: readonly number[]): void {
    const key = this.keys.get(path);
    if (key === undefined) return;
    for (const n of versions ?? [key.current]) {
      const version = key.versions.get(n);
      if (version !== undefined && version.deletedAt === undefined) version.deletedAt = this.now();
    }
  }

  destroy(path: string, versions: readonly number[]): void {
    const key = this.keys.get(path);
    if (key === undefined) return;
    for (const n of versions) {
      const version = key.versions.get(n);
      if (version !== undefined) version.destroyed = true;
    }
  }

  /** `GET <mount>/data/<path>`; `versionParam` is the raw `version` query value, if any. */
  read(path: string, versionParam: string | null): Reply {
    let requested = 0;
    if (versionParam !== null && versionParam !== '') {
      if (!/^-?\d+$/.test(versionParam)) {
        return failure(400, `error converting input ${versionParam} for field "version"`);
      }
      requested = Number(versionParam);
    }
    const key = this.keys.get(path);
    if (key === undefined) return failure(404);
    const number = requested > 0 ? requested : key.current;
    const version = key.versions.get(number);
    if (version === undefined) return failure(404);
    const metadata = {
      created_time: rfc3339Nano(version.createdAt),
      custom_metadata: key.customMetadata,
      deletion_time: version.deletedAt === undefined ? '' : rfc3339Nano(version.deletedAt),
      destroyed: version.destroyed,
      version: number,
    };
    const gone = (version.deletedAt !== undefined && version.deletedAt <= this.now()) || version.destroyed;
    const reply = ok({ data: { data: gone ? null : structuredClone(version.data), metadata }, mountType: 'kv' });
    return gone ? { ...reply, status: 404 } : reply;
  }
}

export class Kv1Mount {
  private readonly entries = new Map<string, Record<string, unknown>>();

  constructor(private readonly defaultLeaseTtl: number) {}

  write(path: string, data: Record<string, unknown>): void {
    this.entries.set(path, structuredClone(data));
  }

  delete(path: string): void {
    this.entries.delete(path);
  }

  read(path: string): Reply {
    const data = this.entries.get(path);
    if (data === undefined) return failure(404);
    const ttl = parseDurationSeconds(data['ttl'] ?? data['lease']) ?? this.defaultLeaseTtl;
    return ok({ data: structuredClone(data), leaseDuration: ttl, mountType: 'kv' });
  }
}

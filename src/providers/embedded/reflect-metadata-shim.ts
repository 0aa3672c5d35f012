/**
 * @peculiar/x509 resolves its algorithm providers through tsyringe, and tsyringe refuses to load
 * unless `Reflect.getMetadata` exists (it expects the `reflect-metadata` package). We may not add
 * that package, and tsyringe only needs the four functions below, so a minimal WeakMap-backed
 * implementation is installed — only when no polyfill is present, so a real one always wins.
 *
 * Import this module (for its side effect) before `@peculiar/x509`; `./x509.ts` does exactly that.
 */

type MetadataTarget = object;
type MetadataKey = unknown;

interface ReflectMetadataApi {
  getMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): unknown;
  getOwnMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): unknown;
  defineMetadata(key: MetadataKey, value: unknown, target: MetadataTarget, property?: string | symbol): void;
  hasMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): boolean;
  hasOwnMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): boolean;
}

const reflect = Reflect as unknown as Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  // target → property (undefined for the target itself) → metadata key → value
  const store = new WeakMap<MetadataTarget, Map<string | symbol | undefined, Map<MetadataKey, unknown>>>();

  const ownMap = (target: MetadataTarget, property: string | symbol | undefined, create: boolean) => {
    let byProperty = store.get(target);
    if (byProperty === undefined) {
      if (!create) return undefined;
      byProperty = new Map();
      store.set(target, byProperty);
    }
    let byKey = byProperty.get(property);
    if (byKey === undefined && create) {
      byKey = new Map();
      byProperty.set(property, byKey);
    }
    return byKey;
  };

  const api: ReflectMetadataApi = {
    getOwnMetadata: (key, target, property) => ownMap(target, property, false)?.get(key),
    hasOwnMetadata: (key, target, property) => ownMap(target, property, false)?.has(key) ?? false,
    defineMetadata: (key, value, target, property) => {
      ownMap(target, property, true)?.set(key, value);
    },
    // Like reflect-metadata: walk the prototype chain.
    getMetadata: (key, target, property) => {
      for (let t: MetadataTarget | null = target; t !== null; t = Object.getPrototypeOf(t) as MetadataTarget | null) {
        const own = ownMap(t, property, false);
        if (own?.has(key)) return own.get(key);
      }
      return undefined;
    },
    hasMetadata: (key, target, property) => {
      for (let t: MetadataTarget | null = target; t !== null; t = Object.getPrototypeOf(t) as MetadataTarget | null) {
        if (ownMap(t, property, false)?.has(key)) return true;
      }
      return false;
    },
  };
  Object.assign(Reflect, api);
}

export {};

/**
 * Secret Manager version names, as the GCP provider for the Secrets Store CSI driver accepts them
 * (its util/constants.go): global `projects/<p>/secrets/<s>/versions/<v>` and regional
 * `projects/<p>/locations/<l>/secrets/<s>/versions/<v>`. Unlike upstream, the match is anchored
 * at both ends and every segment is checked, because the location becomes part of a host name
 * (`secretmanager.<location>.rep.googleapis.com`) and the rest part of a URL path.
 */
export interface SecretVersionName {
  /** The name exactly as written, for messages and object ids. */
  readonly name: string;
  readonly project: string;
  /** The region of a regional secret; undefined for a global one. */
  readonly location: string | undefined;
  readonly secret: string;
  readonly version: string;
  /** A version number never changes its content; an alias (`latest`, or a named alias) can. */
  readonly pinned: boolean;
}

const GLOBAL = /^projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/]+)$/;
const REGIONAL = /^projects\/([^/]+)\/locations\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/]+)$/;
const PARAMETER = /^projects\/[^/]+\/locations\/[^/]+\/parameters\//;
/** Project ids (6–30 chars), domain-scoped ids (`example.com:proj`) and project numbers. */
const PROJECT = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d{1,20}$/;
/** Secret ids: letters, digits, `-` and `_`, at most 255 (Secret Manager's rule). */
const SECRET = /^[A-Za-z0-9_-]{1,255}$/;
/** A version number, `latest`, or an alias (letters, digits, `-`, `_`; at most 63, not starting with a digit). */
const VERSION = /^(?:[1-9]\d{0,18}|latest|[A-Za-z_][A-Za-z0-9_-]{0,62})$/;
/** Locations are short lowercase names (upstream caps them at 30). */
const LOCATION = /^[a-z][a-z0-9-]{0,29}$/;

/** Parse a `resourceName`; the reason says what is wrong (never `undefined` on success). */
export function parseSecretVersionName(name: string): SecretVersionName | string {
  if (PARAMETER.test(name)) return 'Parameter Manager resources are not supported by this driver (only Secret Manager secret versions)';
  const regional = REGIONAL.exec(name);
  const global = regional === null ? GLOBAL.exec(name) : null;
  if (regional === null && global === null) {
    return 'must be projects/<project>/secrets/<secret>/versions/<version> or projects/<project>/locations/<location>/secrets/<secret>/versions/<version>';
  }
  const [project, location, secret, version] = regional !== null ? [regional[1], regional[2], regional[3], regional[4]] : [global?.[1], undefined, global?.[2], global?.[3]];
  if (project === undefined || !PROJECT.test(project)) return `project ${JSON.stringify(project)} is not a project id or number`;
  if (location !== undefined && !LOCATION.test(location)) return `location ${JSON.stringify(location)} is not a Google Cloud location (lowercase letters, digits and "-", at most 30)`;
  if (secret === undefined || !SECRET.test(secret)) return `secret ${JSON.stringify(secret)} is not a secret id (letters, digits, "-" and "_", at most 255)`;
  if (version === undefined || !VERSION.test(version)) return `version ${JSON.stringify(version)} is not a version number, "latest" or an alias`;
  return { name, project, location, secret, version, pinned: /^\d+$/.test(version) };
}

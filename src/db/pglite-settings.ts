// How the embedded database (PGlite) starts. Its build keeps PostgreSQL's server default of 160 MB of shared
// buffers, and in a single WASM heap every buffer is touched at start: two thirds of an idle Tessera's memory on
// PGlite was buffers for a database of a few megabytes. PostgreSQL's own advice for shared_buffers is a share of a
// machine's memory; an embedded database shares a process with its application, and its files still go through
// the operating system's page cache, which is what serves a larger database's reads. 32 MB keeps the embedded
// process within its 300 MB budget under load (docs/operations-boot-and-memory.md has the measurements).
import { PGlite } from '@electric-sql/pglite';

const SHARED_BUFFERS = '32MB';

/** PGlite's own start parameters with the shared buffers bounded, plus any the caller adds. */
export function pgliteStartParams(...extra: string[]): string[] {
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`, ...extra];
}

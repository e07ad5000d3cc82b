// What PGlite parses query results with, trimmed to what Tessera's queries can return.
//
// PGlite 0.4 copies its table of result parsers into a new object at every query (`{ ...this.parsers,
// ...options.parsers }`), and the Prisma adapter passes parsers with every query, so no query escapes the copy.
// At start PGlite adds a parser for every array type in the catalog: 316 entries on a fresh database, 211 of them
// arrays of row types (one for each table and view of the system catalogs, and of Tessera's own tables when the
// database was migrated before this start). Copying the table cost 78 µs of a one-row query's 250 µs (a loop of
// 3,000 queries); without the row-type arrays, 34 µs of 150 µs. Tessera never selects an array of rows, so those
// parsers go; every other stays, and each value a query returns parses as before. (An array of rows, if one were
// ever selected, would come back as PostgreSQL's text for it instead of an array of strings.) The instance is
// changed in place, including one a caller passed in (tests share theirs between apps).
import type { PGlite } from '@electric-sql/pglite';

const ROW_TYPE_ARRAYS = `SELECT a.oid FROM pg_catalog.pg_type a JOIN pg_catalog.pg_type e ON e.oid = a.typelem
  WHERE a.typcategory = 'A' AND e.typcategory = 'C'`;

const trimmed = new WeakSet<PGlite>();

/** Removes the parsers of row-type arrays from the instance's table; once per instance. */
export async function trimResultParsers(pglite: PGlite): Promise<void> {
  if (trimmed.has(pglite)) return;
  const { rows } = await pglite.query<{ oid: number }>(ROW_TYPE_ARRAYS);
  const rowArrays = new Set(rows.map((row) => String(row.oid)));
  // A new object rather than deletes: the table stays as compact as V8 can make it.
  pglite.parsers = Object.fromEntries(Object.entries(pglite.parsers).filter(([type]) => !rowArrays.has(type)));
  trimmed.add(pglite);
}

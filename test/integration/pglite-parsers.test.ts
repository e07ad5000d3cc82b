// The embedded database's result parsers after src/db/pglite-parsers.ts trims them: arrays of row types go, and
// every value Tessera's queries return still parses as it did (arrays of base types included).
// ci: embedded database only. (Its subject is PGlite's parser table.)
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '../helper.js';

t.test('arrays of rows lose their parser; base types and their arrays parse as before', async (t) => {
  const db = await createTestDatabase({ embedded: true });
  t.teardown(() => db.close());
  const pglite = db.pglite!;

  const rowArrays = (
    await pglite.query<{ oid: number }>(
      `SELECT a.oid FROM pg_type a JOIN pg_type e ON e.oid = a.typelem WHERE a.typcategory = 'A' AND e.typcategory = 'C'`,
    )
  ).rows.map((r) => r.oid);
  t.ok(rowArrays.length > 200, 'the catalog has its row-type arrays');
  t.same(
    rowArrays.filter((oid) => pglite.parsers[oid] !== undefined),
    [],
    'none of them has a parser left',
  );
  for (const [name, oid] of [
    ['text[]', 1009],
    ['int4[]', 1007],
    ['int8[]', 1016],
    ['bool[]', 1000],
    ['uuid[]', 2951],
    ['jsonb[]', 3807],
    ['timestamptz[]', 1185],
    ['text', 25],
    ['int4', 23],
  ] as const)
    t.type(pglite.parsers[oid], 'function', `${name} keeps its parser`);

  const id = randomUUID();
  const at = new Date('2026-12-07T10:00:00.000Z');
  const { rows } = await pglite.query<Record<string, unknown>>(
    `SELECT ARRAY['a', 'b,c']::text[] AS texts, ARRAY[1, 2]::int4[] AS ints, ARRAY[9007199254740993]::int8[] AS bigs,
       ARRAY[true, false] AS bools, ARRAY[$1::uuid] AS ids, ARRAY['{"a":1}'::jsonb] AS docs, ARRAY[$2::timestamptz] AS times,
       7::int4 AS n, 'x'::text AS s`,
    [id, at.toISOString()],
  );
  t.same(
    rows[0],
    {
      texts: ['a', 'b,c'],
      ints: [1, 2],
      bigs: [9007199254740993n],
      bools: [true, false],
      ids: [id],
      docs: [{ a: 1 }],
      times: [at],
      n: 7,
      s: 'x',
    },
    'each value parses to its JavaScript type',
  );

  // Through Prisma: a text[] column of Tessera's schema, written and read back.
  const client = await db.database.prisma.oAuthClient.create({
    data: {
      id: `parsers-${id}`,
      name: 'Parsers',
      authMethod: 'none',
      createdAt: at,
      updatedAt: at,
      redirectUris: ['https://app.example/cb', 'https://app.example/other'],
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
    },
  });
  const read = await db.database.prisma.oAuthClient.findUniqueOrThrow({ where: { id: client.id } });
  t.same(
    read.redirectUris,
    ['https://app.example/cb', 'https://app.example/other'],
    'a text[] column reads as an array',
  );
});

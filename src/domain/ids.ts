// Every id Tessera makes is a lower-case UUID (randomUUID). One pattern for all the places that must check
// one before it reaches a uuid column: token claims, route parameters.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `value` is a UUID as Tessera writes them (lower case). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

// Shard 1 of 2 of the fast tiers (unit and integration): see test/shard.ts.
// First, before tap: the shard runs without tap's async hook (see test/shard-async-hooks.ts).
import '../shard-async-hooks.js';
import { runShard } from '../shard.js';

await runShard(0, 2);

// Shard 1 of 2 of the fast tiers (unit and integration): see test/shard.ts.
import { runShard } from '../shard.js';

await runShard(0, 2);

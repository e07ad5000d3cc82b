import { PGlite } from '@electric-sql/pglite';
const variant = process.argv[2];
const base = ["--single","-F","-O","-j","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0"];
const opts = {};
if (variant === 'small') { opts.startParams = [...base, '-c', 'shared_buffers='+process.argv[3]]; }
if (variant === 'smallmem') { opts.startParams = [...base, '-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB']; opts.initialMemory = 64*1024*1024; }
if (variant === 'mem') { opts.initialMemory = 64*1024*1024; }
const c0 = process.cpuUsage();
const db = await PGlite.create('/tmp/bootw/pgdata1', opts);
const r = await db.query("select name, setting, unit from pg_settings where name in ('shared_buffers','wal_buffers','work_mem','temp_buffers','maintenance_work_mem')");
console.log(variant, JSON.stringify(r.rows.map(x=>x.name+'='+x.setting+(x.unit??''))));
await db.query('select count(*) from _prisma_migrations');
const c = process.cpuUsage(c0);
console.log(variant, 'cpu', Math.round((c.user+c.system)/1000), 'rss', Math.round(process.memoryUsage.rss()/1e6), 'hwm', (await import('node:fs')).readFileSync('/proc/self/status','utf8').match(/VmHWM:\s+(\d+)/)[1]/1000|0, 'ab', Math.round(process.memoryUsage().arrayBuffers/1e6));
await db.close();

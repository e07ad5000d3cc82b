// npm run keys -- list        the keys in KEYS_DIR, newest (signing) first
// npm run keys -- generate    writes a new RSA key; it signs from the next start of the service
import { generateKeyFile, KeyStore } from '../src/domain/keys.js';

const dir = process.env.KEYS_DIR || 'keys';
const [cmd] = process.argv.slice(2);

try {
  if (cmd === 'generate') {
    const kid = await generateKeyFile(dir, new Date());
    console.log(`generated ${dir}/${kid}.pem (kid ${kid}); it signs once the service restarts`);
  } else if (cmd === 'list') {
    const store = await KeyStore.load(dir, { generateIfEmpty: false });
    for (const k of store.jwks.keys) console.log(`${k.kid}${k.kid === store.signing.kid ? '  (signing)' : ''}`);
  } else {
    console.error('usage: npm run keys -- list | generate   (KEYS_DIR, default keys/)');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
}

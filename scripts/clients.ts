// npm run clients -- new <client_id>   makes a secret for a service client (introspection, revocation)
// Prints the secret once (give it to the service) and the entry for SERVICE_CLIENTS / SERVICE_CLIENTS_FILE
// (only the secret's SHA-256 is kept on Tessera's side).
import { CLIENT_ID_PATTERN, hashClientSecret, newClientSecret } from '../src/domain/tokens/service-clients.js';

const [cmd, id] = process.argv.slice(2);

if (cmd === 'new' && id && CLIENT_ID_PATTERN.test(id)) {
  const secret = newClientSecret();
  console.log(`client_id:     ${id}`);
  console.log(`client_secret: ${secret}   (shown once; store it in the service's secret store)`);
  console.log(
    `entry:         ${id}:${hashClientSecret(secret)}   (add to SERVICE_CLIENTS or a line of SERVICE_CLIENTS_FILE)`,
  );
} else {
  console.error('usage: npm run clients -- new <client_id>   (client_id: 1-64 of A-Z a-z 0-9 . _ ~ -)');
  process.exitCode = 2;
}

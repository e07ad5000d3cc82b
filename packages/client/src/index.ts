// @tessera/client: Tessera's session in a browser SPA. How to use it, and what it does across tabs, is in
// this package's README.md.
export { createClient, type ClientOptions, type TesseraClient, type User, type Session } from './client.js';
export { TesseraError } from './errors.js';
export type { ClientEvent, ClientEvents } from './events.js';

// Each request's logger, made when it first writes a line. Fastify gives every request a child of the app's
// logger, bound to its request id (and trace id: src/http/request-id.ts). Pino serialises a child's bindings
// through every redaction path (REDACTED_PATHS in src/app.ts) when the child is made: about 4 % of a JWKS
// request's CPU, paid by requests that then log nothing at the configured level (LOG_LEVEL=warn, or a route
// with nothing to report). Here the child is made on the first call at an enabled level, and that call and
// every later one go to it: a request that logs writes exactly the lines it wrote before.
// A route with its own log level or serializers gets its child at once: its level is not the app's.
import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
/** The app's logger as pino makes it: it can say whether a level would write. */
type LevelAware = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

class LazyRequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;
  readonly #parent: LevelAware;
  readonly #bindings: Bindings;

  constructor(parent: LevelAware, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #made(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }

  #write(level: Level, args: unknown[]): void {
    if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return;
    (this.#made()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#made().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  isLevelEnabled(level: string): boolean {
    return ((this.#child ?? this.#parent) as LevelAware).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return (this.#made() as FastifyBaseLogger & { bindings(): Bindings }).bindings();
  }

  /** Whether pino's child was made: by a line, a level set, a child or a read of the bindings. */
  get made(): boolean {
    return this.#child !== undefined;
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#made().child(bindings, options);
  }
}

/**
 * Whether a request's logger is still the app's, untouched: lazy, with no child made (no line written, no level
 * set for this request alone) and no route level or serializers. Such a request's line can be written by another
 * child of the app's logger with the same fields and be the same line (src/plugins/request-log.ts).
 */
export function untouchedRequestLogger(log: FastifyBaseLogger): boolean {
  return log instanceof LazyRequestLogger && !log.made;
}

/** A request's logger: the child made lazily where that keeps its lines the same, else at once. */
export function requestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  const levelAware = typeof (parent as Partial<LevelAware>).isLevelEnabled === 'function';
  if (!levelAware || options.level !== undefined || options.serializers !== undefined)
    return parent.child(bindings, options);
  return new LazyRequestLogger(parent as LevelAware, bindings);
}

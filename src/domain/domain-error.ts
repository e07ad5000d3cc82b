// The one error the domain throws. It names what went wrong with a code from the catalog (src/errors.ts) but
// carries no HTTP status or response shape: the edge (plugins/error-handler.ts, `toAppError`) maps it once.
// Domain code never imports AppError; routes and plugins never invent codes of their own.
import type { ErrorCode, StepUpChallenge } from '../errors.js';

export class DomainError extends Error {
  override name = 'DomainError';
  readonly code: ErrorCode;
  /** A public, specific explanation (which field, which limit); never internal detail. */
  readonly publicMessage: string | undefined;
  /** Seconds before a retry can succeed, when the domain knows (a lock, a throttle). */
  readonly retryAfter: number | undefined;
  /** step_up_required: the level and age the act needs. */
  readonly stepUp: StepUpChallenge | undefined;

  constructor(
    code: ErrorCode,
    opts: { message?: string; detail?: string; retryAfter?: number; cause?: unknown; stepUp?: StepUpChallenge } = {},
  ) {
    // `detail` is the Error message: it goes to logs, never to clients.
    super(opts.detail ?? code, { cause: opts.cause });
    this.code = code;
    this.publicMessage = opts.message;
    this.retryAfter = opts.retryAfter;
    this.stepUp = opts.stepUp;
  }
}

// One error type for every failed call: the server's stable `code` (README, "Errors") and HTTP status, so an
// app branches on `err.code`, never on a message.

export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  constructor(
    /** The catalog code (`invalid_credentials`, `email_taken`, …), or `network_error` when no answer came. */
    readonly code: string,
    readonly status: number,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** The TesseraError for a non-2xx answer (its JSON body when it has one). */
export async function errorOf(res: Response): Promise<TesseraError> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; request_id?: string };
  return new TesseraError(
    body.code ?? `http_${res.status}`,
    res.status,
    body.message ?? res.statusText,
    body.request_id,
  );
}

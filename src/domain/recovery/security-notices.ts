// Security notices by email. A passkey added to or removed from an account is told to its owner, in the
// transaction that adds or removes it. When refresh-token reuse ends a session (src/domain/sessions/session-lifecycle.ts), the
// user is told when, which session (its device and address) and where the repeated use came from. The
// message is written in the transaction that ends the session, so the notice exists exactly when the
// revocation committed, and only for the request that ended it (a concurrent second reuse finds it ended).
import type { ReuseListener } from '../sessions/session-lifecycle.js';
import type { PasskeyNotice } from '../passkeys/passkeys.js';
import { enqueueMail } from '../mail/outbox.js';
import type { MailTemplates } from '../mail/templates.js';

export class SecurityNotices {
  constructor(private readonly templates: MailTemplates) {}

  readonly onRefreshReuse: ReuseListener = async (tx, ended, meta, now) => {
    const [s] = await tx.$queryRaw<{ email: string; created_at: Date; user_agent: string | null; ip: string | null }[]>`
      SELECT u.email, s.created_at, s.user_agent, s.ip FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = ${ended.id}::uuid`;
    if (!s) return;
    const mail = this.templates.render('session_reuse', s.email, {
      time: now.toISOString(),
      session_started: s.created_at.toISOString(),
      session_device: s.user_agent ?? 'unknown',
      session_ip: s.ip ?? 'unknown',
      device: meta.userAgent?.slice(0, 200) ?? 'unknown',
      ip: meta.ip,
    });
    await enqueueMail(tx, mail, now);
  };

  /** A passkey was added or removed (src/domain/passkeys/passkeys.ts): written in that transaction. */
  readonly onPasskeyChange: PasskeyNotice = async (tx, change, meta, now) => {
    const [u] = await tx.$queryRaw<{ email: string }[]>`SELECT email FROM users WHERE id = ${change.userId}::uuid`;
    if (!u) return;
    const mail = this.templates.render(change.kind === 'added' ? 'passkey_added' : 'passkey_removed', u.email, {
      time: now.toISOString(),
      label: change.label,
      device: meta.userAgent?.slice(0, 200) ?? 'unknown',
      ip: meta.ip,
    });
    await enqueueMail(tx, mail, now);
  };
}

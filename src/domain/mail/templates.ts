// The messages Tessera sends, as text and HTML. Built-in wording below; a deployment replaces any part by
// dropping <kind>.subject.txt, <kind>.txt or <kind>.html into MAIL_TEMPLATES_DIR (read once at boot, so a
// missing or unreadable folder is a boot error, not a failed send). Placeholders are {{name}}; values are
// HTML-escaped in the HTML part. The product name is {{product}} everywhere.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingMail } from './outbox.js';

const MAIL_KINDS = [
  'verify_email',
  'password_reset',
  'password_changed',
  'session_reuse',
  'email_change_confirm',
  'email_change_requested',
  'email_change_done',
  'email_change_taken',
  // Second factors (src/domain/mfa/notices.ts).
  'mfa_factor_added',
  'mfa_factor_removed',
  'mfa_recovery_code_used',
  'mfa_locked',
  'api_key_leaked',
] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

interface Template {
  subject: string;
  text: string;
  html: string;
}

const BUILT_IN: Record<MailKind, Template> = {
  verify_email: {
    subject: 'Confirm your email address for {{product}}',
    text: 'Hello,\n\nConfirm that {{email}} is your address for {{product}} by opening this link:\n\n{{link}}\n\nThe link works once and expires in {{valid_for}}. If you did not create an account, ignore this message.\n',
    html: '<p>Hello,</p><p>Confirm that {{email}} is your address for {{product}}:</p><p><a href="{{link}}">Confirm my address</a></p><p>The link works once and expires in {{valid_for}}. If you did not create an account, ignore this message.</p>',
  },
  password_reset: {
    subject: 'Reset your {{product}} password',
    text: 'Hello,\n\nSomeone (hopefully you) asked to reset the password of {{email}} on {{product}}. Choose a new one here:\n\n{{link}}\n\nThe link works once and expires in {{valid_for}}. If you did not ask, ignore this message: your password stays as it is.\n',
    html: '<p>Hello,</p><p>Someone (hopefully you) asked to reset the password of {{email}} on {{product}}.</p><p><a href="{{link}}">Choose a new password</a></p><p>The link works once and expires in {{valid_for}}. If you did not ask, ignore this message: your password stays as it is.</p>',
  },
  password_changed: {
    subject: 'Your {{product}} password was changed',
    text: 'Hello,\n\nThe password of {{email}} on {{product}} was changed at {{time}} (from address {{ip}}). Every session was ended.\n\nIf this was not you, reset your password at once and contact us.\n',
    html: '<p>Hello,</p><p>The password of {{email}} on {{product}} was changed at {{time}} (from address {{ip}}). Every session was ended.</p><p>If this was not you, reset your password at once and contact us.</p>',
  },
  email_change_confirm: {
    subject: 'Confirm your new email address for {{product}}',
    text: 'Hello,\n\nSomeone (hopefully you) asked to use {{email}} as the address of a {{product}} account, instead of {{old_email}}. Confirm it here:\n\n{{link}}\n\nThe link works once and expires in {{valid_for}}. Nothing changes until then. If you did not ask, ignore this message.\n',
    html: '<p>Hello,</p><p>Someone (hopefully you) asked to use {{email}} as the address of a {{product}} account, instead of {{old_email}}.</p><p><a href="{{link}}">Confirm the new address</a></p><p>The link works once and expires in {{valid_for}}. Nothing changes until then. If you did not ask, ignore this message.</p>',
  },
  email_change_requested: {
    subject: 'A change of your {{product}} email address was requested',
    text: 'Hello,\n\nAt {{time}} someone signed in to your {{product}} account asked to change its address from {{email}} to {{new_email}} (from address {{ip}}). Nothing changes until the new address is confirmed; if it is, we will write to you here again with a link to undo it.\n\nIf this was not you, change your password now.\n',
    html: '<p>Hello,</p><p>At {{time}} someone signed in to your {{product}} account asked to change its address from {{email}} to {{new_email}} (from address {{ip}}). Nothing changes until the new address is confirmed; if it is, we will write to you here again with a link to undo it.</p><p>If this was not you, change your password now.</p>',
  },
  email_change_done: {
    subject: 'Your {{product}} email address was changed',
    text: 'Hello,\n\nAt {{time}} the address of your {{product}} account changed from {{email}} to {{new_email}}.\n\nIf this was not you, undo it here (it also ends every session):\n\n{{link}}\n\nThe link works once, for {{valid_for}}.\n',
    html: '<p>Hello,</p><p>At {{time}} the address of your {{product}} account changed from {{email}} to {{new_email}}.</p><p>If this was not you, <a href="{{link}}">undo it</a> (it also ends every session).</p><p>The link works once, for {{valid_for}}.</p>',
  },
  email_change_taken: {
    subject: 'Someone asked to use your {{product}} email address',
    text: 'Hello,\n\nAt {{time}} someone signed in to another {{product}} account asked to change its address to {{new_email}} (from address {{ip}}). That address is, or looks like, {{email}}, which already belongs to your account, so nothing was changed and no link was sent.\n\nThere is nothing you need to do.\n',
    html: '<p>Hello,</p><p>At {{time}} someone signed in to another {{product}} account asked to change its address to {{new_email}} (from address {{ip}}). That address is, or looks like, {{email}}, which already belongs to your account, so nothing was changed and no link was sent.</p><p>There is nothing you need to do.</p>',
  },
  mfa_factor_added: {
    subject: 'A second factor was added to your {{product}} account',
    text: 'Hello,\n\nAt {{time}} a second factor ({{factor}}) was added to the {{product}} account {{email}} (from address {{ip}}). Signing in now asks for it after the password.\n\nIf this was not you, change your password and remove the factor at once.\n',
    html: '<p>Hello,</p><p>At {{time}} a second factor ({{factor}}) was added to the {{product}} account {{email}} (from address {{ip}}). Signing in now asks for it after the password.</p><p>If this was not you, change your password and remove the factor at once.</p>',
  },
  mfa_factor_removed: {
    subject: 'A second factor was removed from your {{product}} account',
    text: 'Hello,\n\nAt {{time}} a second factor ({{factor}}) was removed from the {{product}} account {{email}} ({{by}}, from address {{ip}}).\n\nIf this was not you, change your password at once and contact us.\n',
    html: '<p>Hello,</p><p>At {{time}} a second factor ({{factor}}) was removed from the {{product}} account {{email}} ({{by}}, from address {{ip}}).</p><p>If this was not you, change your password at once and contact us.</p>',
  },
  mfa_recovery_code_used: {
    subject: 'A recovery code of your {{product}} account was used',
    text: 'Hello,\n\nAt {{time}} a recovery code was used to sign in to the {{product}} account {{email}} (from address {{ip}}). {{remaining}} unused codes remain; make a new set when few are left.\n\nIf this was not you, change your password at once.\n',
    html: '<p>Hello,</p><p>At {{time}} a recovery code was used to sign in to the {{product}} account {{email}} (from address {{ip}}). {{remaining}} unused codes remain; make a new set when few are left.</p><p>If this was not you, change your password at once.</p>',
  },
  mfa_locked: {
    subject: 'Second-factor sign-in to your {{product}} account is paused',
    text: 'Hello,\n\nAt {{time}} too many wrong second-factor codes were entered for the {{product}} account {{email}} (last from address {{ip}}), after a correct password. Second-factor sign-in is paused for {{valid_for}}.\n\nSomeone who knows your password may be trying to get in: change your password.\n',
    html: '<p>Hello,</p><p>At {{time}} too many wrong second-factor codes were entered for the {{product}} account {{email}} (last from address {{ip}}), after a correct password. Second-factor sign-in is paused for {{valid_for}}.</p><p>Someone who knows your password may be trying to get in: change your password.</p>',
  },
  api_key_leaked: {
    subject: 'A {{product}} API key of yours was reported leaked and revoked',
    text: 'Hello,\n\nAt {{time}} someone reported that your {{product}} API key {{key_id}} ("{{key_name}}") was exposed, so we revoked it: it no longer works.\n\nMake a new key for whatever used it, and remove the old one from wherever it was found.\n',
    html: '<p>Hello,</p><p>At {{time}} someone reported that your {{product}} API key {{key_id}} (&ldquo;{{key_name}}&rdquo;) was exposed, so we revoked it: it no longer works.</p><p>Make a new key for whatever used it, and remove the old one from wherever it was found.</p>',
  },
  session_reuse: {
    subject: 'A {{product}} session was ended for your safety',
    text: 'Hello,\n\nAt {{time}} we ended one of your {{product}} sessions because its refresh token was used twice, which happens when a token is copied.\n\nThe session: started {{session_started}}, device {{session_device}}, address {{session_ip}}.\nThe repeated use came from: device {{device}}, address {{ip}}.\n\nIf you do not recognise this, change your password.\n',
    html: '<p>Hello,</p><p>At {{time}} we ended one of your {{product}} sessions because its refresh token was used twice, which happens when a token is copied.</p><ul><li>The session: started {{session_started}}, device {{session_device}}, address {{session_ip}}.</li><li>The repeated use came from: device {{device}}, address {{ip}}.</li></ul><p>If you do not recognise this, change your password.</p>',
  },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function fill(template: string, vars: Record<string, string>, encode: (s: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => (name in vars ? encode(vars[name]!) : whole));
}

export class MailTemplates {
  private constructor(
    private readonly templates: Record<MailKind, Template>,
    private readonly product: string,
  ) {}

  /** The built-in templates, with any part found in `dir` in its place. */
  static async load(product: string, dir?: string): Promise<MailTemplates> {
    const templates = structuredClone(BUILT_IN);
    if (dir) {
      for (const kind of MAIL_KINDS) {
        for (const [part, ext] of [
          ['subject', 'subject.txt'],
          ['text', 'txt'],
          ['html', 'html'],
        ] as const) {
          const file = path.join(dir, `${kind}.${ext}`);
          try {
            const content = await readFile(file, 'utf8');
            templates[kind][part] = part === 'subject' ? content.trim() : content;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
              throw new Error(`MAIL_TEMPLATES_DIR: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
          }
        }
      }
    }
    return new MailTemplates(templates, product);
  }

  render(kind: MailKind, to: string, vars: Record<string, string>): OutgoingMail {
    const all = { product: this.product, email: to, ...vars };
    const t = this.templates[kind];
    // A subject is one line whatever a value holds.
    const subject = fill(t.subject, all, (s) => s).replace(/[\r\n]+/g, ' ');
    return { kind, to, subject, text: fill(t.text, all, (s) => s), html: fill(t.html, all, escapeHtml) };
  }
}

/** "30 minutes", "24 hours": how long a link works, for the message. */
export function durationText(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`;
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** The link base with the token appended as a query parameter. */
export function linkWithToken(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.href;
}

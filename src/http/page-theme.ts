// The look and wording of the built-in pages (sign in, consent, error), re-templated the way the mail templates
// are (src/domain/mail/templates.ts): built-in defaults, a product name, and a folder (PAGES_TEMPLATES_DIR) whose
// files replace parts of them, read once at boot so a bad file stops the boot rather than a sign-in:
//   wording.json  {"login_heading": "Welcome to {{product}}", …}: any of PAGE_WORDS; placeholders {{name}}
//   style.css     appended to the built-in stylesheet (sent in the page's nonce'd style block)
// plus a logo URL and two colours from the environment. Everything a page shows from here is text: the wording
// and every value are HTML-escaped whole, so neither a product name nor a wording file can add markup. The CSP
// stays as strict as before: no script at all; the logo's origin is the only source an image may load from.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PageThemeSettings } from '../config-authorization.js';

/** Every phrase of the pages, by name, with the placeholders it may use. */
const PAGE_WORDS = {
  login_title: 'Sign in',
  login_heading: 'Sign in to continue to {{client}}',
  email_label: 'Email',
  password_label: 'Password',
  login_button: 'Sign in',
  consent_title: 'Allow access?',
  consent_heading: '{{client}} wants to access your account',
  consent_intro: 'It will be sent back to {{host}} and will be able to:',
  allow_button: 'Allow',
  deny_button: 'Deny',
  error_title: 'Cannot continue',
  error_heading: 'This sign-in cannot continue',
  error_help: "Go back to the application and try again. If it keeps happening, tell the application's developers.",
} as const;
export type PageWord = keyof typeof PAGE_WORDS;

declare module 'fastify' {
  interface FastifyInstance {
    /** The built-in pages' product name, logo, colours and wording (src/http/page-theme.ts). */
    pageTheme: PageTheme;
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`PAGES_TEMPLATES_DIR: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

function wordsFrom(text: string, file: string): Partial<Record<PageWord, string>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`PAGES_TEMPLATES_DIR: ${file} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`PAGES_TEMPLATES_DIR: ${file} must be an object of phrases`);
  for (const [key, phrase] of Object.entries(value)) {
    if (!(key in PAGE_WORDS)) throw new Error(`PAGES_TEMPLATES_DIR: ${file} names an unknown phrase ${key}`);
    if (typeof phrase !== 'string' || phrase.length > 500)
      throw new Error(`PAGES_TEMPLATES_DIR: ${file}: ${key} must be a string of at most 500 characters`);
  }
  return value as Partial<Record<PageWord, string>>;
}

export class PageTheme {
  private constructor(
    private readonly settings: PageThemeSettings,
    private readonly words: Record<PageWord, string>,
    /** The operator's stylesheet, appended to the built-in one. */
    readonly extraStyle: string,
  ) {}

  /** The built-in theme, with any part found in the settings' folder in its place. */
  static async load(settings: PageThemeSettings): Promise<PageTheme> {
    const words: Record<PageWord, string> = { ...PAGE_WORDS };
    let style = '';
    if (settings.templatesDir) {
      const wordsFile = path.join(settings.templatesDir, 'wording.json');
      const text = await readOptional(wordsFile);
      if (text !== null) Object.assign(words, wordsFrom(text, wordsFile));
      style = (await readOptional(path.join(settings.templatesDir, 'style.css'))) ?? '';
      // The stylesheet goes inside a <style> element: it must not be able to close it.
      if (/<\/?style|<!--|<\/|<script/i.test(style))
        throw new Error('PAGES_TEMPLATES_DIR: style.css must be plain CSS (no markup)');
    }
    return new PageTheme(settings, words, style);
  }

  /** A phrase, its placeholders filled, as text. */
  text(word: PageWord, vars: Record<string, string> = {}): string {
    const all: Record<string, string> = { product: this.settings.productName, ...vars };
    return this.words[word].replace(/\{\{(\w+)\}\}/g, (whole, name: string) => all[name] ?? whole);
  }

  /** A phrase, its placeholders filled, as escaped HTML. */
  say(word: PageWord, vars: Record<string, string> = {}): string {
    return escapeHtml(this.text(word, vars));
  }

  /** The colours, as CSS custom properties the built-in stylesheet reads. */
  get colorRules(): string {
    return `:root{--primary:${this.settings.primaryColor};--background:${this.settings.backgroundColor}}`;
  }

  /** The banner above every page: the logo (when configured) and the product name. */
  get banner(): string {
    const name = escapeHtml(this.settings.productName);
    const logo = this.settings.logoUrl
      ? `<img src="${escapeHtml(this.settings.logoUrl)}" alt="" height="40" class="logo">`
      : '';
    return `<header class="brand">${logo}<span class="product">${name}</span></header>`;
  }

  /** The CSP source the logo loads from, or null. */
  get imageSource(): string | null {
    return this.settings.logoUrl ? new URL(this.settings.logoUrl).origin : null;
  }
}

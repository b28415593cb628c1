import { create as contentDisposition } from 'content-disposition';

/**
 * The `Content-Disposition` of a download: `attachment; filename="<ASCII fallback>"` and, when the
 * name is not plain ASCII, `filename*=UTF-8''<the name, percent-encoded>` (RFC 6266, RFC 8187).
 * Clients that read `filename*` (wget, aria2c, browsers) save under the real name; clients that
 * read only `filename` (curl -J) save under the fallback, which is readable rather than a row of `?`.
 */
export function downloadDisposition(name: string): string {
  return contentDisposition(name, { fallback: asciiFallback(name) });
}

/** Letters NFKD does not take apart, written as their usual ASCII spellings. */
const SPELLED: Readonly<Record<string, string>> = Object.freeze({
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
});

/** What stands for a name whose stem has no ASCII letter or digit left (`製品.zip` → `download.zip`). */
export const FALLBACK_STEM = 'download';

/** Trailing extensions kept as they are (`.tar.gz`, `.zip`, `.AppImage`): dot-separated ASCII words of 1-10 characters. */
const EXTENSION = /(?:\.[A-Za-z0-9]{1,10})+$/;

/**
 * The ASCII name for clients that only read `filename`: diacritics stripped (NFKD, then the
 * combining marks removed: `Übersicht-Ä.tar.gz` → `Ubersicht-A.tar.gz`), a few letters spelled
 * out (`ß` → `ss`, `æ` → `ae`), every other run of non-ASCII characters one `_` (`Daten-製品.zip` →
 * `Daten-_.zip`), and, when no ASCII letter or digit is left before the extension,
 * `download` + the extension (`製品.tar.gz` → `download.tar.gz`). An ASCII name is its own fallback.
 */
export function asciiFallback(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) return name;
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^\x20-\x7e]/gu, (c) => SPELLED[c] ?? '\u0000')
    .replace(/\u0000+/g, '_');
  const extension = EXTENSION.exec(ascii)?.[0] ?? '';
  const stem = ascii.slice(0, ascii.length - extension.length);
  return /[A-Za-z0-9]/.test(stem) ? ascii : FALLBACK_STEM + extension;
}

/** How numbers and times read on the portal's pages. */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 3000000 → "2.9 MiB"; below 1 KiB: "512 bytes". */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** An ISO time as "2025-03-01 14:05 UTC" (unparseable: as given). */
export function humanTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Thousands separators: 3000000 → "3,000,000". */
export function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

import parseRange from 'range-parser';

export type RangeDecision =
  { readonly kind: 'full' } | { readonly kind: 'partial'; readonly start: number; readonly end: number } | { readonly kind: 'unsatisfiable' };

/**
 * What to send for a Range header on a file of `size` bytes. One range is served as 206; a header
 * asking for several ranges gets the whole file (RFC 9110 lets a server ignore Range), as does a
 * malformed header; a range wholly past the end is 416.
 */
export function decideRange(size: number, header: string | undefined): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) return { kind: 'unsatisfiable' };
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return { kind: 'full' };
  const { start, end } = ranges[0]!;
  if (start === 0 && end === size - 1) return { kind: 'full' };
  return { kind: 'partial', start, end };
}

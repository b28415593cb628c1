/** One figure of a benchmark, as written to bench/results/<name>.json. */
export interface Result {
  metric: string;
  unit: string;
  value: number;
  peer?: string;
  peerValue?: number;
  /** value / peerValue; for "lower is better" metrics, read it as such. */
  ratio?: number;
  target?: number;
  /** 'higher' (default) or 'lower' is better. */
  better?: 'higher' | 'lower';
  /** Every run's value, the value being their median. */
  runs?: number[];
  /**
   * 'baseline' when the peer is another configuration of the project (e.g. "no pool"), not
   * another program: the summary then lists the row among headline numbers, not comparisons.
   */
  peerKind?: 'baseline';
}

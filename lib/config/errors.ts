import { CodedError, CommonErrors } from '../errors/index.js';

/**
 * The configuration's one error. Every problem names the field it is about (a dotted path such as
 * `commlink.keyCount`) and, when the bad value came from the environment, the variable it came from.
 */

/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /**
   * Dotted path of the field (`commlink.keyCount`). For a name that matches no field it is that
   * name: the environment variable (`FFS_COMMLINK__KEYCOUNT`) or the override's dotted path.
   */
  readonly field: string;
  /** Full sentence, starting with `config: `. Never holds a secret's value. */
  readonly message: string;
}

export class ConfigError extends CodedError {
  /** The first problem's field. */
  readonly field: string;
  /** Every problem found (at least one); `message` lists them all, one per line. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[] | ConfigProblem, cause?: unknown) {
    const list = Array.isArray(problems) ? [...problems] : [problems as ConfigProblem];
    if (list.length === 0) throw new TypeError('ConfigError needs at least one problem');
    super(CommonErrors.CONFIG.code, list.map((p) => p.message).join('\n'), { field: list[0]!.field }, cause);
    this.name = 'ConfigError';
    this.field = list[0]!.field;
    this.problems = Object.freeze(list.map((p) => Object.freeze({ field: p.field, message: p.message })));
  }
}

/** Builds the usual one-problem error: `config: <field> <text>`. */
export function configError(field: string, text: string): ConfigError {
  return new ConfigError({ field, message: `config: ${field} ${text}` });
}

import type { z } from 'zod';

/**
 * One commlink operation's contract: its name, what it does, and the schemas of its request and
 * its reply. Both ends import the same object: the side that serves it parses the request with
 * `request` (strict: an unknown field is refused), and the side that asks parses the reply with
 * `reply`. Nothing about an operation's shape is declared anywhere else.
 */
export interface Operation<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly summary: string;
  readonly request: Req;
  readonly reply: Rep;
  /** True when the request carries a bulk stream (an upload), sent with the request options. */
  readonly stream?: boolean;
}

/** Defines an operation's contract (frozen: a contract never changes at run time). */
export function defineOperation<Req extends z.ZodType, Rep extends z.ZodType>(operation: Operation<Req, Rep>): Operation<Req, Rep> {
  return Object.freeze({ ...operation });
}

/** What the asking side sends. */
export type RequestIn<O extends Operation> = z.input<O['request']>;
/** What the serving side's handler receives (defaults applied, times parsed …). */
export type RequestOut<O extends Operation> = z.output<O['request']>;
/** What the serving side's handler returns. */
export type ReplyIn<O extends Operation> = z.input<O['reply']>;
/** What the asking side gets, checked. */
export type ReplyOut<O extends Operation> = z.output<O['reply']>;

import type { Body, Handler, RequestContext } from '../commlink/index.js';
import { CommonErrors } from '../errors/index.js';
import { firstProblem } from '../validation/input.js';
import type { Operation, ReplyIn, RequestIn, RequestOut } from './operation.js';

/**
 * The request of `operation` parsed from `body`, or ERR_INVALID_INPUT naming the first field at
 * fault (an unknown field first). Nothing may be read or written before this succeeds.
 */
export function parseRequest<O extends Operation>(operation: O, body: unknown): RequestOut<O> {
  const parsed = operation.request.safeParse(body);
  if (!parsed.success) {
    const { field, what } = firstProblem(parsed.error);
    throw CommonErrors.INVALID_INPUT(`${operation.name}: ${what}`, { field });
  }
  return parsed.data as RequestOut<O>;
}

/** `body` checked against the request schema and passed on as it came (to forward it unchanged). */
export function checkedRequest<O extends Operation>(operation: O, body: Body): RequestIn<O> {
  parseRequest(operation, body);
  return body as RequestIn<O>;
}

/** An operation bound to its work on the serving side, with the service's own context `C`. */
export interface Implementation<C> {
  readonly operation: Operation;
  /** `request` is absent when the operation runs in-process (the admin CLI). */
  run(body: Body, context: C, request?: RequestContext): Promise<Body> | Body;
}

/** Implements `operation`: `run` gets the parsed request and returns the reply its contract describes. */
export function implement<O extends Operation, C>(
  operation: O,
  run: (input: RequestOut<O>, context: C, request: RequestContext | undefined) => ReplyIn<O> | Promise<ReplyIn<O>>,
): Implementation<C> {
  return {
    operation,
    // A reply is a plain object of tobj values; its optional fields may be undefined, which the
    // tobj encoder leaves out, so the contract's input type stands for a Body here.
    run: (body, context, request) => run(parseRequest(operation, body), context, request) as Promise<Body> | Body,
  };
}

/** The commlink handlers of a service: each implementation by its operation's name, with its context. */
export function handlersOf<C>(implementations: readonly Implementation<C>[], context: C | ((request: RequestContext) => C)): Map<string, Handler> {
  const contextOf = typeof context === 'function' ? (context as (request: RequestContext) => C) : () => context;
  return new Map(implementations.map((i) => [i.operation.name, (body: Body, request: RequestContext) => i.run(body, contextOf(request), request)]));
}

import type { ErrorAnswer } from '../../http/error-edge.js';
import { html, type Html } from '../html.js';
import { layout } from '../layout.js';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Something in the request is not right',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Not allowed here',
  413: 'Too large',
  415: 'Not a form this page takes',
  429: 'Too many attempts',
  500: 'Something went wrong',
  503: 'Temporarily unavailable',
  504: 'Temporarily unavailable',
};

/** The HTML error page: what happened, the field at fault, and the request id to quote. */
export function errorPageHtml(answer: ErrorAnswer): Html {
  const title = TITLES[answer.status] ?? 'Something went wrong';
  return layout(
    title,
    html`<h1>${title}</h1>
<p class="error" role="alert">${answer.message}</p>
${answer.field ? html`<p>Field: <code>${answer.field}</code></p>` : ''}
<p class="muted">Error <code>${answer.code}</code> (HTTP ${answer.status}). If you contact support, quote request id <code>${answer.requestId}</code>.</p>
<p><a href="/downloads">Back to my downloads</a></p>`,
  );
}

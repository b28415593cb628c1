import { html, type Html } from '../html.js';
import { layout, type Viewer } from '../layout.js';

export interface EulaView {
  viewer: Viewer;
  eula: { id: number; title: string; body: string };
  accepted: boolean;
  next: string;
}

/** A license agreement's text and the form to accept it (then back to `next`). */
export function eulaPage(view: EulaView): Html {
  const { eula } = view;
  return layout(
    eula.title,
    html`<h1>License agreement: ${eula.title}</h1>
<div class="eula" role="document" aria-label="License agreement text" tabindex="0">${eula.body}</div>
${
  view.accepted
    ? html`<p class="note">You have accepted this agreement. <a href="${view.next}">Continue</a></p>`
    : html`<form method="post" action="/eula/${eula.id}/accept">
<input type="hidden" name="csrf" value="${view.viewer.csrf}">
<input type="hidden" name="next" value="${view.next}">
<p>By selecting “I accept” you agree to the terms above on behalf of <code>${view.viewer.login}</code>. Your acceptance is recorded.</p>
<p><button type="submit">I accept</button> <a href="/downloads">Cancel</a></p>
</form>`
}`,
    view.viewer,
  );
}

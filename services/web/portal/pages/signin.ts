import { html, type Html } from '../html.js';
import { layout } from '../layout.js';

export interface SigninView {
  csrf: string;
  next?: string | undefined;
  login?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

/** The sign-in form: labelled fields, the error (if any) announced and tied to the fields. */
export function signinPage(view: SigninView): Html {
  const error = view.error ? html`<p class="error" id="signin-error" role="alert">${view.error}</p>` : '';
  const notice = view.notice ? html`<p class="note" role="status">${view.notice}</p>` : '';
  const described = view.error ? html` aria-describedby="signin-error" aria-invalid="true"` : '';
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
${notice}${error}
<form method="post" action="/signin">
<input type="hidden" name="csrf" value="${view.csrf}">
${view.next ? html`<input type="hidden" name="next" value="${view.next}">` : ''}
<label for="login">Login</label>
<input type="text" id="login" name="login" value="${view.login ?? ''}" autocomplete="username"
  autocapitalize="none" spellcheck="false" required maxlength="128"${described}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024"${described}>
<p><button type="submit">Sign in</button></p>
</form>
<p class="muted">The same login and password work for FTP and SFTP.</p>`,
  );
}

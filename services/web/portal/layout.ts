import { createHash } from 'node:crypto';
import { html, trusted, type Html, type Interpolated } from './html.js';

/** The portal's one stylesheet, inline; the Content-Security-Policy allows exactly it, by hash. */
const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#4a5260;--line:#c9ced6;--accent:#0b5cad;--bg:#fff;--soft:#f3f5f8;--bad:#a3141c}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;padding:.5rem 1rem;background:var(--fg);color:#fff}
.skip:focus{left:0;z-index:1}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;justify-content:space-between;
  padding:.75rem 1.25rem;border-bottom:1px solid var(--line);background:var(--soft)}
header .site{font-weight:700;color:var(--fg);text-decoration:none}
header form{display:inline}
main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin:1.25rem 0 .25rem}
.muted{color:var(--muted)}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.25rem 0 .5rem}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid var(--line)}
thead th{background:var(--soft)}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.hash{word-break:break-all;min-width:16ch}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;max-width:24rem;padding:.5rem;font:inherit;border:1px solid var(--muted);border-radius:4px}
button{font:inherit;padding:.45rem 1rem;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:var(--bg);color:var(--accent)}
.error{border-left:4px solid var(--bad);background:#fdecee;padding:.5rem .75rem;color:var(--bad)}
.note{border-left:4px solid var(--accent);background:var(--soft);padding:.5rem .75rem}
.eula{white-space:pre-wrap;border:1px solid var(--line);padding:1rem;max-height:32rem;overflow:auto;background:var(--soft)}
dl.where dt{font-weight:600;margin-top:.75rem}
dl.where dd{margin:0;word-break:break-all}
@media (max-width:40rem){main{padding:.75rem}th,td{padding:.35rem}}
`.trim();

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The pages' policy: nothing runs, nothing loads from elsewhere; forms post only here. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface Viewer {
  login: string;
  name: string;
  csrf: string;
}

export interface PageOptions {
  /** Go on to this local URL at once (a download after a form: see page.ts afterForm). */
  refreshTo?: string | undefined;
}

/** A whole page: language, skip link, header (with sign-out for a signed-in viewer), main. */
export function layout(title: string, main: Interpolated, viewer?: Viewer, options: PageOptions = {}): Html {
  const account = viewer
    ? html`<nav aria-label="Account"><a href="/downloads">My downloads</a> · <span>Signed in as ${viewer.name} (<code>${viewer.login}</code>)</span>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="${viewer.csrf}">
<button type="submit" class="secondary">Sign out</button></form></nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Software downloads</title>
${options.refreshTo ? html`<meta http-equiv="refresh" content="0; url=${options.refreshTo}">\n` : ''}<style>${trusted(STYLE)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header><a class="site" href="/">Software downloads</a>${account}</header>
<main id="main" tabindex="-1">
${main}
</main>
</body>
</html>
`;
}

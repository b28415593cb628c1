import type { StagedRelease } from '../../shapes.js';
import { humanSize } from '../format.js';
import { html, type Html } from '../html.js';
import { layout, type Viewer } from '../layout.js';

/** After "Use FTP/SFTP": where the staged release is, the login to use, and the HTTP links. */
export function stagePage(viewer: Viewer, staged: StagedRelease): Html {
  const where =
    staged.ftpUrl || staged.sftpUrl
      ? html`<dl class="where">
${staged.ftpUrl ? html`<dt>FTP</dt><dd><a href="${staged.ftpUrl}"><code>${staged.ftpUrl}</code></a></dd>` : ''}
${staged.sftpUrl ? html`<dt>SFTP</dt><dd><a href="${staged.sftpUrl}"><code>${staged.sftpUrl}</code></a></dd>` : ''}
<dt>Login</dt><dd><code>${viewer.login}</code></dd>
<dt>Password</dt><dd>your portal password (or, for SFTP, an SSH key registered for you)</dd>
</dl>`
      : html`<p class="note">This file host offers neither FTP nor SFTP. Use the HTTP links below.</p>`;
  return layout(
    `${staged.product} ${staged.version} by FTP/SFTP`,
    html`<h1>${staged.product} ${staged.version} is ready</h1>
<p>The release is staged on file host <code>${staged.host}</code>.</p>
<h2>FTP and SFTP</h2>
${where}
<h2>HTTP links</h2>
<p class="muted">These links are signed for you and expire; do not share them.</p>
<ul>
${staged.files.map((f) => html`<li><a href="${f.url}">${f.filename}</a> (${humanSize(f.size)}, SHA-256 <code class="hash">${f.sha256}</code>)</li>\n`)}
</ul>
<p><a href="/downloads">Back to my downloads</a></p>`,
    viewer,
  );
}

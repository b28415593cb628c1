import type { ReplyOut } from '../../../../lib/contracts/operation.js';
import type { entitlementsList, ResolvedArtifact } from '../../../../lib/contracts/internal-db/index.js';
import { grouped, humanSize, humanTime } from '../format.js';
import { html, type Html } from '../html.js';
import { layout, type Viewer } from '../layout.js';

/** An entitlement as the page shows it: as entitlements.list answers it. */
export type EntitlementView = ReplyOut<typeof entitlementsList>['entitlements'][number];

export interface DownloadsView {
  viewer: Viewer;
  artifacts: readonly ResolvedArtifact[];
  entitlements: readonly EntitlementView[];
  /** Product code → its name. */
  productNames: ReadonlyMap<string, string>;
  /** A download to start now (after the sign-in or EULA form that led here). */
  starting?: ResolvedArtifact | undefined;
}

/** What an entitlement means now, in words. */
export function entitlementStatus(e: EntitlementView): string {
  const range = e.range.trim() === '*' ? 'all versions' : `versions ${e.range}`;
  const kept = e.onExpiry === 'keep' ? 'releases published before then remain' : 'no releases remain';
  switch (e.status) {
    case 'pending':
      return `${range}; starts on ${humanTime(e.startsAt)}`;
    case 'active':
      return e.expiresAt ? `${range}; active until ${humanTime(e.expiresAt)} (after that, ${kept})` : `${range}; active, no expiry`;
    case 'expired-keep':
      return `${range}; expired on ${humanTime(e.expiresAt ?? '')}: releases published before then remain`;
    case 'expired':
      return `${range}; expired on ${humanTime(e.expiresAt ?? '')}: no releases remain`;
    case 'revoked':
      return `${range}; revoked: no releases remain`;
  }
}

/** Stable element id of a release's section (the EULA page returns here). */
export function releaseAnchor(product: string, version: string): string {
  return `release-${product}-${version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function productAnchor(product: string): string {
  return `product-${product}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function releaseSection(viewer: Viewer, files: readonly ResolvedArtifact[]): Html {
  const first = files[0]!;
  const anchor = releaseAnchor(first.product, first.version);
  const gate = files.find((f) => !f.eulaAccepted && f.eulaId !== null);
  const back = `/downloads#${anchor}`;
  return html`<section aria-labelledby="${anchor}-h">
<h3 id="${anchor}-h">${first.product} ${first.version}</h3>
<p class="muted">Channel ${first.channel} · published <time datetime="${first.publishedAt}">${humanTime(first.publishedAt)}</time></p>
${
  gate
    ? html`<p class="note">This release needs its license agreement accepted before download.
<a href="/eula/${gate.eulaId}?next=${encodeURIComponent(back)}">Read and accept the license agreement</a></p>`
    : ''
}
<div class="table"><table id="${anchor}">
<caption>Files of ${first.product} ${first.version}</caption>
<thead><tr><th scope="col">File</th><th scope="col">Platform</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Download</th></tr></thead>
<tbody>
${files.map(
  (f) => html`<tr>
<th scope="row">${f.filename}</th>
<td>${f.platform}/${f.arch}</td>
<td><data value="${f.size}" title="${grouped(f.size)} bytes">${humanSize(f.size)}</data></td>
<td><code class="hash">${f.sha256}</code></td>
<td><a href="/download/${f.artifactId}" aria-label="Download ${f.filename}">Download</a></td>
</tr>
`,
)}</tbody>
</table></div>
<form method="post" action="/stage">
<input type="hidden" name="csrf" value="${viewer.csrf}">
<input type="hidden" name="product" value="${first.product}">
<input type="hidden" name="version" value="${first.version}">
<button type="submit" class="secondary" aria-label="Use FTP/SFTP for ${first.product} ${first.version}">Use FTP/SFTP</button>
</form>
</section>
`;
}

/** "My downloads": per product its entitlements' status, then a table per release. */
export function downloadsPage(view: DownloadsView): Html {
  const products = [...new Set([...view.entitlements.map((e) => e.product), ...view.artifacts.map((a) => a.product)])].sort();
  const sections = products.map((product) => {
    const entitlements = view.entitlements.filter((e) => e.product === product);
    const releases = new Map<string, ResolvedArtifact[]>();
    for (const a of view.artifacts.filter((x) => x.product === product)) {
      const list = releases.get(a.version) ?? [];
      list.push(a);
      releases.set(a.version, list);
    }
    const name = view.productNames.get(product) ?? product;
    return html`<section aria-labelledby="${productAnchor(product)}">
<h2 id="${productAnchor(product)}">${name} <span class="muted">(${product})</span></h2>
<ul>${entitlements.map((e) => html`<li>Entitlement: ${entitlementStatus(e)}</li>`)}</ul>
${releases.size === 0 ? html`<p>No releases are available to you now.</p>` : [...releases.values()].map((files) => releaseSection(view.viewer, files))}
</section>
`;
  });
  const starting = view.starting;
  return layout(
    'My downloads',
    html`<h1>My downloads</h1>
${
  starting
    ? html`<p class="note" role="status">Your download of ${starting.filename} (${starting.product} ${starting.version}) starts now.
If it does not, <a href="/download/${starting.artifactId}">download it here</a>.</p>`
    : ''
}
${products.length === 0 ? html`<p>You are not entitled to any product yet.</p>` : sections}`,
    view.viewer,
    { refreshTo: starting ? `/download/${starting.artifactId}` : undefined },
  );
}

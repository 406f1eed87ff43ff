/**
 * Reference pages rendered from an OpenAPI document: plain HTML and CSS, no script and nothing fetched, so they
 * work offline and behind any proxy. Schemas are shown as their JSON, components linked by anchor.
 */

type Json = Record<string, unknown>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** `code` spans and nothing else of Markdown: the descriptions use backticks only. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

/** Pretty JSON of a schema with its `$ref`s turned into links to the component's section. */
function schemaHtml(schema: unknown): string {
  const text = escapeHtml(JSON.stringify(schema, null, 2));
  return `<pre>${text.replace(/&quot;#\/components\/schemas\/([A-Za-z0-9._-]+)&quot;/g, (_m, name: string) => `&quot;<a href="#schema-${anchor(name)}">#/components/schemas/${name}</a>&quot;`)}</pre>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1b1b1b}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f5f5f5;padding:.6rem;overflow:auto;max-height:30rem}
.op{border:1px solid #ddd;border-radius:4px;margin:.6rem 0;padding:.3rem .8rem}.op summary{cursor:pointer}
.m{display:inline-block;min-width:4.2rem;font-weight:bold}.GET{color:#0a6}.POST{color:#07c}.PUT,.PATCH{color:#b70}.DELETE{color:#c22}
.mv{color:#666;font-size:90%}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
nav a{margin-right:1rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

function rangeText(range: unknown): string {
  if (!range || typeof range !== 'object') return '';
  const { min, max } = range as { min?: string; max?: string };
  if (min && max) return `microversions ${min}–${max}`;
  if (min) return `microversion ${min}+`;
  if (max) return `up to microversion ${max}`;
  return '';
}

/** One API's reference page. `links` are the other pages, shown in the header. */
export function renderReferenceHtml(doc: Json, links: { href: string; label: string }[] = []): string {
  const info = doc.info as { title: string; version: string; description?: string };
  const servers = (doc.servers as { url: string }[] | undefined) ?? [];
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const byTag = new Map<string, { method: string; path: string; op: Json }[]>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = ((op.tags as string[] | undefined) ?? ['Other'])[0]!;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method: method.toUpperCase(), path, op });
    }
  }
  const parts: string[] = [];
  parts.push(`<nav>${links.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`).join('')}</nav>`);
  parts.push(`<h1>${escapeHtml(info.title)}</h1><p>${inline(info.description ?? '')}</p>`);
  parts.push(`<p>Base path: <code>${escapeHtml(servers[0]?.url ?? '/')}</code>. Version ${escapeHtml(info.version)}. Machine-readable: the OpenAPI 3.1 document this page was rendered from.</p>`);
  parts.push('<h2>Contents</h2><ul>' + [...byTag.keys()].map((t) => `<li><a href="#tag-${anchor(t)}">${escapeHtml(t)}</a></li>`).join('') + '</ul>');
  for (const [tag, ops] of byTag) {
    parts.push(`<h2 id="tag-${anchor(tag)}">${escapeHtml(tag)}</h2>`);
    for (const { method, path, op } of ops) {
      const mv = rangeText(op['x-openstack-microversion']);
      const rows: string[] = [];
      for (const p of (op.parameters as Json[] | undefined) ?? []) {
        if (typeof p.$ref === 'string') continue;
        rows.push(`<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${escapeHtml(String(p.in))}</td><td>${p.required ? 'yes' : ''}</td><td>${inline(String(p.description ?? ''))}</td></tr>`);
      }
      const params = rows.length ? `<table><tr><th>Parameter</th><th>In</th><th>Required</th><th></th></tr>${rows.join('')}</table>` : '';
      const reqBody = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
      const req = reqBody?.content?.['application/json']?.schema;
      const responses = Object.entries((op.responses ?? {}) as Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>)
        .map(([status, r]) => {
          const s = r.content?.['application/json']?.schema;
          return `<h4>${escapeHtml(status)} ${inline(r.description ?? '')}</h4>${s ? schemaHtml(s) : ''}`;
        })
        .join('');
      parts.push(
        `<details class="op" id="op-${anchor(String(op.operationId))}"><summary><span class="m ${method}">${method}</span> <code>${escapeHtml(path)}</code> — ${inline(String(op.summary ?? ''))}` +
          `${mv ? ` <span class="mv">(${escapeHtml(mv)})</span>` : ''}</summary>` +
          `<p><code>${escapeHtml(String(op.operationId))}</code>${op.description ? ` — ${inline(String(op.description))}` : ''}</p>${params}` +
          `${req ? `<h4>Request body</h4>${schemaHtml(req)}` : ''}${responses}</details>`,
      );
    }
  }
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, unknown>;
  parts.push('<h2 id="schemas">Schemas</h2>');
  for (const [name, s] of Object.entries(schemas)) parts.push(`<h3 id="schema-${anchor(name)}">${escapeHtml(name)}</h3>${schemaHtml(s)}`);
  return page(info.title, parts.join('\n'));
}

/** The index page linking each API's reference page and document. */
export function renderIndexHtml(apis: { title: string; page: string; document: string }[]): string {
  const items = apis
    .map((a) => `<li><a href="${escapeHtml(a.page)}">${escapeHtml(a.title)}</a> — <a href="${escapeHtml(a.document)}">OpenAPI document</a></li>`)
    .join('');
  return page('cinderbox API reference', `<h1>cinderbox API reference</h1><ul>${items}</ul>`);
}

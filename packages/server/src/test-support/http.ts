/** The JSON-over-fetch helper every server test uses against a real socket. */

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Raw body (sent as-is); overrides `body`. */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** `OpenStack-API-Version: volume <mv>` */
  mv?: string;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** Sends one request to `url + path`: the token, microversion and JSON body as headers; parses a JSON answer. */
export async function requestAt(url: string, method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers['X-Auth-Token'] = opts.token;
  if (opts.mv) headers['OpenStack-API-Version'] = `volume ${opts.mv}`;
  let body: string | Buffer | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${url}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

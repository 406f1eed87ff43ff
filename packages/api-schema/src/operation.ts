import type { TSchema } from 'typebox';

/** The three APIs cinderbox serves, each published as one OpenAPI document. */
export type ApiName = 'block-storage' | 'cbr' | 'identity';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** A microversion range, both ends inclusive (`"3.0"`, `"3.70"`); an absent end is open. */
export interface VersionRange {
  min?: string;
  max?: string;
}

/** One response an operation can give: its status and, when it has one, its body. */
export interface OperationResponse {
  status: number;
  description: string;
  body?: TSchema;
}

/**
 * One served operation, as the contract states it. The server validates requests with `body` and `query`, the
 * OpenAPI documents are generated from the list, and the route-coverage test compares the list with the routes the
 * server registers, so a route without an entry (or an entry without a route) fails a test.
 *
 * `path` is in OpenAPI form with the API's own prefix: `/v3/{project_id}/snapshots/{snapshot_id}`,
 * `/v3/{project_id}/vaults`, `/v3/auth/tokens`.
 */
export interface Operation {
  api: ApiName;
  /** Unique within its API, camelCase: `snapshotCreate`, `vaultList`. */
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  /** Where the operation exists at all (Block Storage microversions only). */
  versions?: VersionRange;
  query?: TSchema;
  body?: TSchema;
  /**
   * When the body's schema changes with the microversion: each variant and its range (the newest is also `body`).
   * The server picks the variant for the request's microversion; the document lists them all.
   */
  bodies?: { versions: VersionRange; schema: TSchema }[];
  responses: OperationResponse[];
  /** Answered without a token (version documents, token issue). */
  public?: boolean;
  /** Tag for grouping in the rendered reference (`Snapshots`, `Vaults`, …). */
  tag: string;
}

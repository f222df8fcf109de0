/** A file of the demo page, as scripts/buildWeb.mjs generates it into web/generated/assets.ts. */
export interface WebAsset {
  readonly contentType: string;
  readonly body: string;
  /** A strong validator of the body, quoted as the ETag header wants it. */
  readonly etag: string;
}

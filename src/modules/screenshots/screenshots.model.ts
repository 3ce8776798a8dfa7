import type { ImageFormat } from "../../ports/images";
import type { ScreenshotRow } from "./screenshots.repo";

/**
 * The format by content, never by file name or declared type: PNG signature, JPEG SOI + marker,
 * RIFF….WEBP. Anything else (GIF, SVG, a renamed text file) is null.
 */
export function sniffImage(b: Uint8Array): ImageFormat | null {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  if (b.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (b.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return "jpeg";
  if (b.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "webp";
  return null;
}

/** What clients see of a screenshot: links to the authorized image routes, never blob keys. */
export function toScreenshotView(r: ScreenshotRow) {
  const base = `/api/v1/screenshots/${r.id}`;
  return {
    id: r.id,
    memberId: r.memberId,
    agentId: r.agentId,
    takenAt: r.takenAt.toISOString(),
    createdAt: r.createdAt.toISOString(),
    app: r.app,
    title: r.title,
    width: r.width,
    height: r.height,
    size: r.size,
    sha256: r.sha256,
    imageUrl: `${base}/image`,
    thumbnails: {
      small: `${base}/thumbnail?size=small`,
      medium: `${base}/thumbnail?size=medium`,
    },
  };
}
export type ScreenshotView = ReturnType<typeof toScreenshotView>;

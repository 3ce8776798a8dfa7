/** Image formats accepted as input; the caller identifies them by magic bytes before processing. */
export type ImageFormat = "png" | "jpeg" | "webp";

/** An encoded output image (JPEG) and its pixel size. */
export interface EncodedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** What to make of one input: the full image fitted within a box, plus exact-size thumbnails. */
export interface ImageSpec {
  /** The full image is scaled down (never up) to fit within this box, keeping its aspect ratio. */
  maxWidth: number;
  maxHeight: number;
  /** JPEG quality, 1–100. */
  quality: number;
  /** Thumbnails of exactly this size, cropped to fill (CSS `object-fit: cover`, centred). */
  thumbnails: Record<string, { width: number; height: number }>;
}

export interface ProcessedImage {
  /** The decoded input, as the decoder saw it (after EXIF orientation). */
  source: { format: ImageFormat; width: number; height: number };
  full: EncodedImage;
  thumbnails: Record<string, EncodedImage>;
}

/** The input is not a decodable image of the stated format (corrupt, truncated, too many pixels). */
export class ImageInputError extends Error {
  constructor(
    message: string,
    readonly reason: "corrupt" | "too_many_pixels" | "format_mismatch" = "corrupt",
  ) {
    super(message);
    this.name = "ImageInputError";
  }
}

/** This runtime has no working image library (e.g. sharp's native binary could not be loaded). */
export class ImageProcessingUnavailableError extends Error {
  constructor(message = "image processing is not available on this runtime") {
    super(message);
    this.name = "ImageProcessingUnavailableError";
  }
}

/**
 * Decodes an uploaded image and re-encodes it as JPEG (metadata such as EXIF/GPS stripped).
 * Throws `ImageInputError` for bad input, `ImageProcessingUnavailableError` when the library is
 * missing; anything else is an internal failure.
 */
export interface ImageProcessor {
  process(bytes: Uint8Array, format: ImageFormat, spec: ImageSpec): Promise<ProcessedImage>;
}

import type sharpFn from "sharp";
import type { Metadata, Sharp as Pipeline } from "sharp";
import {
  type EncodedImage,
  type ImageFormat,
  ImageInputError,
  ImageProcessingUnavailableError,
  type ImageProcessor,
  type ImageSpec,
  type ProcessedImage,
} from "../../ports/images";

type Sharp = typeof sharpFn;

/** 40 megapixels (e.g. 8K × 5K): more than any screen, far less than a decompression bomb needs. */
const DEFAULT_MAX_INPUT_PIXELS = 40_000_000;

/**
 * libvips through sharp. sharp is imported on first use, so a process whose platform lacks the
 * native binary still starts (uploads then answer "unavailable") and processes that never see an
 * upload do not pay for loading libvips.
 */
export class SharpImageProcessor implements ImageProcessor {
  #sharp: Promise<Sharp> | undefined;
  readonly #maxInputPixels: number;

  constructor(opts: { maxInputPixels?: number } = {}) {
    this.#maxInputPixels = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  }

  #load(): Promise<Sharp> {
    this.#sharp ??= import("sharp").then(
      (m) => (m.default ?? m) as Sharp,
      (err: unknown) => {
        this.#sharp = undefined;
        throw new ImageProcessingUnavailableError(`sharp could not be loaded: ${(err as Error).message}`);
      },
    );
    return this.#sharp;
  }

  async process(bytes: Uint8Array, format: ImageFormat, spec: ImageSpec): Promise<ProcessedImage> {
    const sharp = await this.#load();
    const input = {
      // Truncated or damaged files fail instead of decoding into grey blocks.
      failOn: "warning",
      limitInputPixels: this.#maxInputPixels,
      // The first frame only; an animated WebP is not a screenshot.
      animated: false,
    } as const;

    let meta: Metadata;
    try {
      // The header only: no pixel limit here, so an image over it is named as such (below), not
      // refused as undecodable by sharp's own limit check.
      meta = await sharp(bytes, { ...input, limitInputPixels: false }).metadata();
    } catch (err) {
      throw new ImageInputError(`not a decodable ${format} image: ${(err as Error).message}`);
    }
    if (meta.format !== format)
      throw new ImageInputError(
        `content decodes as ${meta.format ?? "nothing"}, not ${format}`,
        "format_mismatch",
      );
    if ((meta.width ?? 0) * (meta.height ?? 0) > this.#maxInputPixels)
      throw new ImageInputError(`more than ${this.#maxInputPixels} pixels`, "too_many_pixels");

    let full: EncodedImage;
    try {
      full = await encode(
        sharp(bytes, input)
          .rotate() // honour EXIF orientation before sizing
          .resize({
            width: spec.maxWidth,
            height: spec.maxHeight,
            fit: "inside",
            withoutEnlargement: true,
          }),
        spec.quality,
      );
    } catch (err) {
      throw new ImageInputError(`the ${format} image could not be decoded: ${(err as Error).message}`);
    }

    // Thumbnails come from the already-reduced image: a 1920×1080 JPEG decodes far faster than the
    // original, and the loss is invisible at 300×200.
    const thumbnails: Record<string, EncodedImage> = {};
    for (const [name, size] of Object.entries(spec.thumbnails)) {
      thumbnails[name] = await encode(
        sharp(full.bytes).resize({ ...size, fit: "cover", position: "centre" }),
        spec.quality,
      );
    }
    const rotated = (meta.orientation ?? 1) >= 5;
    return {
      source: {
        format,
        width: (rotated ? meta.height : meta.width) ?? full.width,
        height: (rotated ? meta.width : meta.height) ?? full.height,
      },
      full,
      thumbnails,
    };
  }
}

async function encode(pipeline: Pipeline, quality: number): Promise<EncodedImage> {
  const { data, info } = await pipeline
    // JPEG has no alpha: transparent areas become white rather than black.
    .flatten({ background: "#ffffff" })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer({ resolveWithObject: true });
  return {
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

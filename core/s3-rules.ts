/** S3's rules for multipart uploads, which the worker, publish and the local S3 stand-in all keep. */

/** The least size of every part of a multipart upload but the last. */
export const S3_MIN_PART_BYTES = 5 * 1024 ** 2;
/** The most parts in one multipart upload. */
export const S3_MAX_PARTS = 10_000;

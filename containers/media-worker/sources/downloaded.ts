/** Where a source fetcher landed the download: the media (or its video stream) and, when served apart, its audio stream. */
export interface Downloaded {
  source: string;
  audio?: string;
  /** The source's own metadata (platform pages: yt-dlp's info, trimmed). */
  info?: string;
}

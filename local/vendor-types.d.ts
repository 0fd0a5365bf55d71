// Minimal typings for the stand-ins, which ship none: only what local/ uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    configureBuckets?: Array<{ name: string; configs: Array<string | Buffer> }>;
  }
  /** The Koa context of a request, as far as the local stand-in reads and answers it. */
  interface Context {
    req: import('node:http').IncomingMessage;
    status: number;
    type: string;
    body: unknown;
    method: string;
    path: string;
    response: { length?: number };
    get(name: string): string;
    set(name: string, value: string): void;
  }
  /** An object as s3rver's store takes it. */
  interface StoredObject {
    bucket: string;
    key: string;
    content: Buffer | import('node:stream').Readable;
    metadata: Record<string, string>;
  }
  /** s3rver's filesystem store, as far as the local stand-in wraps or replaces its methods. */
  interface FilesystemStore {
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    putPart(bucket: string, uploadId: string, partNumber: number | string, content: import('node:stream').Readable): Promise<{ size: number; md5: string }>;
    putObjectMultipart(bucket: string, uploadId: string, parts: Array<{ number: number; etag: string }>): Promise<{ size: number; md5: string }>;
    copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: Record<string, string>): Promise<Record<string, string>>;
    deleteObject(bucket: string, key: string): Promise<void>;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    store: FilesystemStore;
    /** Koa's middleware stack (S3rver is a Koa app); composed when it starts listening. */
    middleware: Array<(ctx: Context, next: () => Promise<void>) => Promise<void> | void>;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}

declare module 's3rver/lib/models/error.js' {
  /** An error s3rver answers as S3 does: its code, message and HTTP status, with `detail` as more XML elements. */
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
  }
}

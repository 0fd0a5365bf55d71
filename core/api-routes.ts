import type { Component } from './config.js';

/** API Gateway's own limit on a REST API request body; the local API stands in for it with the same number. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

export type ApiComponent = 'start-job' | 'get-job' | 'list-jobs' | 'cancel-job' | 'create-upload' | 'complete-upload';

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway's resource path; `{id}` is a path parameter. */
  readonly resource: string;
  readonly component: ApiComponent;
  /** The largest body this route needs (0: none); MEDIA_INGEST_MAX_REQUEST_BYTES may lower it, never raise it. */
  readonly maxBodyBytes: number;
}

/**
 * Every route of the API, in one place: the stack's methods (a test holds them equal), the local API's routing and
 * the body limit each handler and the local API enforce (PayloadTooLarge, 413).
 */
export const API_ROUTES: readonly ApiRoute[] = [
  // A job request: a URL, a callback, a storage path and the caller's metadata, all capped far below this.
  { method: 'POST', resource: '/jobs', component: 'start-job', maxBodyBytes: 64 * 1024 },
  { method: 'GET', resource: '/jobs', component: 'list-jobs', maxBodyBytes: 0 },
  { method: 'GET', resource: '/jobs/{id}', component: 'get-job', maxBodyBytes: 0 },
  { method: 'DELETE', resource: '/jobs/{id}', component: 'cancel-job', maxBodyBytes: 0 },
  { method: 'POST', resource: '/uploads', component: 'create-upload', maxBodyBytes: 4 * 1024 },
  // Up to 1,000 parts (core/uploads.ts) of about 70 bytes each: part number and ETag.
  { method: 'POST', resource: '/uploads/{id}/complete', component: 'complete-upload', maxBodyBytes: 128 * 1024 },
];

export const API_COMPONENTS: readonly Component[] = [...new Set(API_ROUTES.map((r) => r.component))];

/** The body limit of a component's route, as the configuration lowers it. */
export function bodyLimit(component: Component, maxRequestBytes: number): number {
  const route = API_ROUTES.find((r) => r.component === component);
  return Math.min(route?.maxBodyBytes ?? 0, maxRequestBytes, API_GATEWAY_MAX_BODY_BYTES);
}

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, SluiceError, type ErrorCode, type Logger } from '@sluice/core';

// One error shape for every answer that is not a success (docs/api.md):
//   {"error":{"code":"SLUICE_…","message":"…","details":{…}?}}
// with the code from the catalog. Bad input is always 4xx; 503 only when JetStream does not
// acknowledge; 500 only for bugs.

/** The body of every error response. */
export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details?: Record<string, unknown>;
  };
}

/** HTTP status of each code a route may throw; anything else is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  SLUICE_INGEST_INVALID: 400,
  SLUICE_NOTIFICATION_INVALID: 400,
  SLUICE_HTTP_BAD_REQUEST: 400,
  SLUICE_AUTH_REQUIRED: 401,
  SLUICE_AUTH_FORBIDDEN: 403,
  SLUICE_NOTIFICATION_BUCKET: 403,
  SLUICE_NOT_FOUND: 404,
  SLUICE_REQUEST_TIMEOUT: 408,
  SLUICE_INGEST_TOO_LARGE: 413,
  SLUICE_PUBLISH_TOO_LARGE: 413,
  SLUICE_UNSUPPORTED_MEDIA_TYPE: 415,
  SLUICE_HEADERS_TOO_LARGE: 431,
  SLUICE_INTERNAL: 500,
  SLUICE_PUBLISH_FAILED: 503,
  SLUICE_NATS_CONNECT: 503,
};

/** Fastify's own errors, by their code: the status they carry and the sluice code they become. */
const FASTIFY: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SLUICE_INGEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SLUICE_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SLUICE_HTTP_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SLUICE_INGEST_INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SLUICE_INGEST_INVALID',
  FST_ERR_VALIDATION: 'SLUICE_INGEST_INVALID',
};

/** The HTTP status a route's error is answered with. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** The response code and body for any error a request produced. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof SluiceError) {
    // An event too large for NATS is the client's problem, under the ingest code clients know.
    const code = err.code === 'SLUICE_PUBLISH_TOO_LARGE' ? 'SLUICE_INGEST_TOO_LARGE' : err.code;
    const status = statusOf(code);
    if (status === 500) return internal();
    const details = publicDetails(err);
    return { status, body: { error: { code, message: err.message, ...(details ? { details } : {}) } } };
  }
  const f = err as Partial<FastifyError>;
  const mapped = typeof f.code === 'string' ? FASTIFY[f.code] : undefined;
  const status = typeof f.statusCode === 'number' ? f.statusCode : undefined;
  if (mapped !== undefined) {
    return { status: status ?? statusOf(mapped), body: body(mapped, f.message ?? ErrorCodes[mapped]) };
  }
  // Other client errors fastify or Node raise while reading a request (an aborted body, …).
  if (status !== undefined && status >= 400 && status < 500)
    return { status, body: body('SLUICE_HTTP_BAD_REQUEST', f.message ?? 'bad request') };
  return internal();
}

function internal(): { status: number; body: ErrorBody } {
  // Never the error's own message: it could carry internals of a bug.
  return { status: 500, body: body('SLUICE_INTERNAL', 'internal error; the server log has the details') };
}

function body(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Details safe to answer with: only those of the API's own client errors. */
function publicDetails(err: SluiceError): Record<string, unknown> | undefined {
  if (err.details === undefined) return undefined;
  if (err.code === 'SLUICE_PUBLISH_FAILED' || err.code === 'SLUICE_PUBLISH_TOO_LARGE') return undefined;
  return err.details;
}

/** The fastify error handler: every error becomes the error shape; 5xx are logged. */
export function handleError(
  logger: Logger,
): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (err, request, reply) => {
    const { status, body } = errorResponse(err);
    if (status >= 500) logger.error({ err, reqId: request.id, code: body.error.code }, 'request failed');
    // Unread body bytes would otherwise be read (and thrown away) to keep the connection alive: a
    // refused 10 MB upload is cut off instead.
    if (!request.raw.complete) void reply.header('connection', 'close');
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  };
}

/** The fastify not-found handler: 404 in the error shape. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete) void reply.header('connection', 'close');
  void reply
    .code(404)
    .type('application/json; charset=utf-8')
    .send(
      body('SLUICE_NOT_FOUND', `no route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}`),
    );
}

/**
 * Node's `clientError`: a request so malformed that no route sees it (bad header bytes, headers too
 * large, a request that timed out). Answered in the error shape, then the connection is closed.
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: ErrorCode = 'SLUICE_HTTP_BAD_REQUEST';
  let message = 'the request is not valid HTTP/1.1';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'SLUICE_HEADERS_TOO_LARGE';
    message = 'the request headers are too large';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'SLUICE_REQUEST_TIMEOUT';
    message = 'the request was not received in time';
  }
  const payload = JSON.stringify(body(code, message));
  // Only when no response has started on this socket: a second status line would corrupt it.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !current?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  }
  // After the answer is flushed (destroy() could drop it while it is still queued).
  socket.destroySoon();
}

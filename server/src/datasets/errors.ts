/** The one error type of the datasets module: an HTTP error code a route can send as it is. */
import type { HttpErrorCode } from '../http-errors.ts';

export class DatasetError extends Error {
  readonly code: HttpErrorCode;
  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.name = 'DatasetError';
    this.code = code;
  }
}

export const badRequest = (message: string): DatasetError => new DatasetError('BAD_REQUEST', message);

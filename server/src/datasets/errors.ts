/** The one error type of the datasets module: an HTTP error code a route can send as it is. */
import { CodedError } from '@tabswarm/protocol';
import type { HttpErrorCode } from '../http-errors.ts';

export class DatasetError extends CodedError<HttpErrorCode> {
  constructor(code: HttpErrorCode, message: string) {
    super(code, message, 'DatasetError');
  }
}

export const badRequest = (message: string): DatasetError => new DatasetError('BAD_REQUEST', message);

// Errors from global-object operations carry a code the control API and CLI map
// to their own (not-found, invalid-id, ...), so a user sees one clear line.
export type ObjectErrorCode =
  | 'not-found'
  | 'invalid-id'
  | 'exists'
  | 'no-space'
  | 'bad-argument'
  | 'not-owner'
  | 'closed'
  | 'unavailable'
  | 'wrong-type';

export class ObjectError extends Error {
  constructor(
    readonly code: ObjectErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ObjectError';
  }
}

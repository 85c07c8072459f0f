/**
 * A message that is valid against the OSCP 2.0 JSON schema but cannot be used (end before start,
 * overlapping blocks, an energy unit for a capacity, ...). The message text is meant for the peer:
 * services answer it with HTTP 400 and an OSCP Error body.
 */
export class OscpMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OscpMappingError';
  }
}

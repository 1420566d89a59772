/**
 * A mistake the user can fix (bad flag, missing file, malformed data line).
 * The CLI prints its message alone, without a stack trace, and exits 1.
 * Library code throws it; it never prints or exits.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Formats a location for error messages: "file:line: field: problem". */
export function at(file: string, line?: number, field?: string): string {
  return `${file}${line !== undefined ? `:${line}` : ''}${field !== undefined ? `: field "${field}"` : ''}`;
}

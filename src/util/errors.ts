/**
 * Errors that reach the user. `InputError` is bad input (a flag, a card, a file): exit code 2.
 * Anything else that escapes is a bug or an environment failure: exit code 1.
 */
export class XbarsimError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InputError extends XbarsimError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Exit code for an error: 2 for bad input, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof XbarsimError ? err.exitCode : 1;
}

/**
 * A value as an error message shows it: JSON, except numbers JSON cannot write (Infinity, NaN), which
 * JSON.stringify would turn into "null"; long values are cut.
 */
export function showValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * JSON-schema validation of cards (ajv) with one-line, user-facing errors:
 * `<file>: field <path> <rule>`. Shared by device and circuit cards.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { InputError, showValue } from '../util/errors';

/**
 * `xHint` is our annotation on union-typed schema nodes: a human list of what is allowed there, shown when
 * no branch of an anyOf matches.
 */
const ajv = new Ajv({
  verbose: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  allErrors: false,
});
ajv.addKeyword({ keyword: 'xHint', schemaType: 'string' });

export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** `/levels/2/sigma` -> `levels[2].sigma`; the empty path (the root) -> `(root)`. */
function jsonPath(pointer: string): string {
  if (pointer === '') return '(root)';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** Join a parent path and a child key as `jsonPath` would write it. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' || parent === '(root)' ? key : `${parent}.${key}`;
}

/** The error for a card: names the file, the field and the rule. */
export function cardError(source: string, path: string, rule: string): InputError {
  return new InputError(`${source}: field ${path} ${rule}`);
}

/** Pick the most helpful ajv error and phrase it. */
function formatAjvErrors(source: string, errors: ErrorObject[]): InputError {
  // A failed anyOf also reports each branch's failure. A branch error deeper than the anyOf means the value
  // had the right shape for that branch and failed inside it: that is the precise complaint. Otherwise the
  // value matched no shape and the anyOf's hint says what is allowed.
  const union = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  let err = errors[0];
  if (union) {
    const deeper = errors.find((e) => e !== union && e.instancePath.length > union.instancePath.length);
    err = deeper ?? union;
  }
  const path = jsonPath(err.instancePath);
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return cardError(source, childPath(path, String(params.missingProperty)), 'is required but missing');
    case 'additionalProperties': {
      const allowed = Object.keys((err.parentSchema as { properties?: object })?.properties ?? {});
      return cardError(
        source,
        childPath(path, String(params.additionalProperty)),
        `is not a known field (allowed here: ${allowed.join(', ')})`,
      );
    }
    case 'enum':
      return cardError(
        source,
        path,
        `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')} (got ${showValue(err.data)})`,
      );
    case 'anyOf':
    case 'oneOf': {
      const hint = (err.parentSchema as { xHint?: string })?.xHint;
      return cardError(
        source,
        path,
        `must be ${hint ?? 'one of the allowed forms'} (got ${showValue(err.data)})`,
      );
    }
    default:
      return cardError(source, path, `${err.message ?? 'is invalid'} (got ${showValue(err.data)})`);
  }
}

/** Validate `json` against a compiled schema; throw an InputError naming the field otherwise. */
export function validateCard<T>(validate: ValidateFunction<T>, json: unknown, source: string): T {
  if (!validate(json)) throw formatAjvErrors(source, validate.errors ?? []);
  return json;
}

/**
 * Flag validation with a JSON schema per command (ajv, with string-to-number coercion), so every
 * command reports bad flags the same way: the flag, the rule and the value.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { InputError, showValue } from '../util/errors';

export interface FlagSchema {
  type: 'object';
  properties: Record<string, object>;
  required?: string[];
}

const ajv = new Ajv({ coerceTypes: true, allErrors: false, useDefaults: true });

function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

function describe(err: ErrorObject, data: Record<string, unknown>): string {
  const key = err.instancePath.replace(/^\//, '') || String(err.params.missingProperty ?? '');
  const flag = flagName(key);
  const got = key in data ? ` (got ${showValue(data[key])})` : '';
  if (err.keyword === 'enum')
    return `flag ${flag}: must be one of ${(err.params.allowedValues as unknown[]).join(', ')}${got}`;
  if (err.keyword === 'required') return `flag ${flag} is required`;
  return `flag ${flag}: ${err.message}${got}`;
}

/** Validate (and coerce in place) parsed command options; returns them typed. */
export function validateFlags<T>(schema: FlagSchema, options: Record<string, unknown>): T {
  const data = { ...options };
  const validate = ajv.compile({ ...schema, additionalProperties: true });
  if (!validate(data)) throw new InputError(describe(validate.errors![0], options));
  // ajv coerces "Infinity" and "1e999" to numbers that pass `integer` and an open range.
  for (const [key, value] of Object.entries(data))
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new InputError(`flag ${flagName(key)}: must be a finite number (got ${showValue(options[key])})`);
  return data as T;
}

export const intFlag = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
export const numFlag = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum });
export const enumFlag = (...values: string[]) => ({ type: 'string', enum: values });

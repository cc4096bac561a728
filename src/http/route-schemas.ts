/** Schema fragments the routes share: every route declares its error responses too. */
export const ERROR_RESPONSES = {
  '4xx': { $ref: 'ErrorBody#' },
  '5xx': { $ref: 'ErrorBody#' },
} as const;

export const ref = (id: string) => ({ $ref: `${id}#` }) as const;

export const ID_PARAMS = (name: string) =>
  ({
    type: 'object',
    required: [name],
    properties: { [name]: { type: 'string', minLength: 1, maxLength: 64 } },
  }) as const;

export const JSON_TYPE = 'application/json; charset=utf-8';

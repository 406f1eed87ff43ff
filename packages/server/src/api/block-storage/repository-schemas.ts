/** Bodies of the console's repository routes (cinderbox extensions; ajv, no coercion). */
export const repoJobCreate = {
  type: 'object',
  required: ['job'],
  properties: {
    job: {
      type: 'object',
      required: ['kind'],
      properties: {
        kind: { enum: ['verify', 'gc'] },
        target: { type: 'string', minLength: 1, maxLength: 63 },
        full: { type: 'boolean' },
        dry_run: { type: 'boolean' },
        grace_seconds: { type: 'integer', minimum: 0, maximum: 31536000 },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

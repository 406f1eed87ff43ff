/** Request bodies of the Keystone subset, after Keystone's own jsonschema (types strict, extras allowed). */
const nullableString = { type: ['string', 'null'] };
// Keystone's `[\S]+`, and no control characters or lone surrogates (see NAME_PATTERN).
const name = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, pattern: '^(?=[\\s\\S]*\\S)[^\\p{Cc}\\p{Cs}]*$' });
const domainRef = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' } },
};

const projectOptions = {
  type: 'object',
  properties: { immutable: { type: ['boolean', 'null'] } },
  additionalProperties: false,
};

const userOptions = {
  type: 'object',
  properties: {
    ignore_change_password_upon_first_use: { type: ['boolean', 'null'] },
    ignore_password_expiry: { type: ['boolean', 'null'] },
    ignore_lockout_failure_attempts: { type: ['boolean', 'null'] },
    lock_password: { type: ['boolean', 'null'] },
    ignore_user_inactivity: { type: ['boolean', 'null'] },
    multi_factor_auth_enabled: { type: ['boolean', 'null'] },
    multi_factor_auth_rules: { type: ['array', 'null'], items: { type: 'array', items: { type: 'string' } } },
  },
  additionalProperties: false,
};

const projectProps = {
  name: name(64),
  domain_id: nullableString,
  description: nullableString,
  enabled: { type: 'boolean' },
  parent_id: nullableString,
  is_domain: { type: 'boolean' },
  options: projectOptions,
  tags: { type: 'array', items: { type: 'string' } },
};

export const PROJECT_KEYS = Object.keys(projectProps);

export const projectCreate = {
  type: 'object',
  required: ['project'],
  properties: { project: { type: 'object', required: ['name'], properties: projectProps } },
};

export const projectUpdate = {
  type: 'object',
  required: ['project'],
  properties: { project: { type: 'object', properties: projectProps, minProperties: 1 } },
};

const userProps = {
  name: name(255),
  domain_id: nullableString,
  default_project_id: nullableString,
  password: nullableString,
  email: nullableString,
  description: nullableString,
  enabled: { type: 'boolean' },
  options: userOptions,
};

export const USER_KEYS = Object.keys(userProps);

export const userCreate = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'object', required: ['name'], properties: userProps } },
};

export const userUpdate = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'object', properties: userProps, minProperties: 1 } },
};

export const passwordChange = {
  type: 'object',
  required: ['user'],
  properties: {
    user: {
      type: 'object',
      required: ['password', 'original_password'],
      properties: { password: { type: 'string' }, original_password: { type: 'string' } },
    },
  },
};

const userRef = {
  type: 'object',
  required: ['password'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' }, domain: domainRef },
};

export const authBody = {
  type: 'object',
  required: ['auth'],
  properties: {
    auth: {
      type: 'object',
      required: ['identity'],
      properties: {
        identity: {
          type: 'object',
          required: ['methods'],
          properties: {
            methods: { type: 'array', minItems: 1, items: { type: 'string' } },
            password: { type: 'object', required: ['user'], properties: { user: userRef } },
            token: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          },
        },
        scope: {
          anyOf: [
            { type: 'string', enum: ['unscoped'] },
            {
              type: 'object',
              properties: {
                project: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, domain: domainRef } },
                domain: domainRef,
                system: { type: 'object' },
              },
            },
          ],
        },
      },
    },
  },
};

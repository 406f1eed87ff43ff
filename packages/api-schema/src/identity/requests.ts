/** Request bodies of the Keystone subset, after Keystone's own jsonschema (types strict, extras allowed). */
import { Type } from 'typebox';
import { nullable } from '../block-storage/common.js';

const nullableString = () => nullable(Type.String());
// Keystone's `[\S]+`, and no control characters or lone surrogates (see NAME_PATTERN).
const name = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^(?=[\\s\\S]*\\S)[^\\p{Cc}\\p{Cs}]*$' });
const domainRef = () => Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) });
const nullableBoolean = () => nullable(Type.Boolean());

const projectOptions = Type.Object({ immutable: Type.Optional(nullableBoolean()) }, { additionalProperties: false });

const userOptions = Type.Object(
  {
    ignore_change_password_upon_first_use: Type.Optional(nullableBoolean()),
    ignore_password_expiry: Type.Optional(nullableBoolean()),
    ignore_lockout_failure_attempts: Type.Optional(nullableBoolean()),
    lock_password: Type.Optional(nullableBoolean()),
    ignore_user_inactivity: Type.Optional(nullableBoolean()),
    multi_factor_auth_enabled: Type.Optional(nullableBoolean()),
    multi_factor_auth_rules: Type.Optional(nullable(Type.Array(Type.Array(Type.String())))),
  },
  { additionalProperties: false },
);

const projectProps = {
  name: name(64),
  domain_id: Type.Optional(nullableString()),
  description: Type.Optional(nullableString()),
  enabled: Type.Optional(Type.Boolean()),
  parent_id: Type.Optional(nullableString()),
  is_domain: Type.Optional(Type.Boolean()),
  options: Type.Optional(projectOptions),
  tags: Type.Optional(Type.Array(Type.String())),
};

/** The project attributes Keystone models; other body keys are kept as extra attributes. */
export const PROJECT_KEYS = Object.keys(projectProps);

export const projectCreate = Type.Object({ project: Type.Object(projectProps) });
export const projectUpdate = Type.Object({ project: Type.Partial(Type.Object(projectProps), { minProperties: 1 }) });

const userProps = {
  name: name(255),
  domain_id: Type.Optional(nullableString()),
  default_project_id: Type.Optional(nullableString()),
  password: Type.Optional(nullableString()),
  email: Type.Optional(nullableString()),
  description: Type.Optional(nullableString()),
  enabled: Type.Optional(Type.Boolean()),
  options: Type.Optional(userOptions),
};

/** The user attributes Keystone models; other body keys are kept as extra attributes. */
export const USER_KEYS = Object.keys(userProps);

export const userCreate = Type.Object({ user: Type.Object(userProps) });
export const userUpdate = Type.Object({ user: Type.Partial(Type.Object(userProps), { minProperties: 1 }) });

export const passwordChange = Type.Object({ user: Type.Object({ password: Type.String(), original_password: Type.String() }) });

const userRef = Type.Object({
  id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  password: Type.String(),
  domain: Type.Optional(domainRef()),
});

export const authBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String(), { minItems: 1 }),
      password: Type.Optional(Type.Object({ user: userRef })),
      token: Type.Optional(Type.Object({ id: Type.String() })),
    }),
    scope: Type.Optional(
      Type.Unsafe<'unscoped' | { project?: { id?: string; name?: string; domain?: { id?: string; name?: string } }; domain?: { id?: string; name?: string }; system?: object }>({
        anyOf: [
          { type: 'string', enum: ['unscoped'] },
          {
            type: 'object',
            properties: {
              project: domainRefWith({ domain: domainRef() }),
              domain: domainRef(),
              system: { type: 'object' },
            },
          },
        ],
      }),
    ),
  }),
});

function domainRefWith(extra: Record<string, unknown>) {
  return { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, ...extra } };
}

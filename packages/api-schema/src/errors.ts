/** The error bodies of the three dialects, as TypeBox schemas (for the documents) and as types. */
import { Type, type Static } from 'typebox';

/** Cinder's fault names (the single key of its error envelope). */
export const CINDER_FAULT_NAMES = [
  'badRequest',
  'unauthorized',
  'forbidden',
  'itemNotFound',
  'badMethod',
  'conflictingRequest',
  'overLimit',
  'badMediaType',
  'requestedRangeNotSatisfiable',
  'notImplemented',
  'serviceUnavailable',
  'computeFault',
] as const;
export type CinderFaultName = (typeof CINDER_FAULT_NAMES)[number];

const faultDetail = Type.Object({
  code: Type.Integer(),
  message: Type.String(),
  retryAfter: Type.Optional(Type.String()),
});

/** Cinder's fault envelope: `{"itemNotFound": {"code": 404, "message": "…"}}`, exactly one key. */
export const CinderFaultSchema = Type.Object(
  Object.fromEntries(CINDER_FAULT_NAMES.map((n) => [n, Type.Optional(faultDetail)])) as Record<CinderFaultName, ReturnType<typeof Type.Optional<typeof faultDetail>>>,
  { additionalProperties: false, minProperties: 1, maxProperties: 1, title: 'CinderFault' },
);
export type CinderFault = Partial<Record<CinderFaultName, { code: number; message: string; retryAfter?: string }>>;

/** Keystone's error body. */
export const KeystoneErrorSchema = Type.Object(
  { error: Type.Object({ code: Type.Integer(), title: Type.String(), message: Type.String() }) },
  { title: 'KeystoneError' },
);
export type KeystoneError = Static<typeof KeystoneErrorSchema>;

/** CBR's error body. */
export const CbrErrorSchema = Type.Object({ error_code: Type.String(), error_msg: Type.String() }, { title: 'CbrError' });
export type CbrError = Static<typeof CbrErrorSchema>;

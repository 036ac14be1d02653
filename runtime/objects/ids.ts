// Global object ids are generation-tagged: "<slot>.<generation>". Freeing a slot
// bumps its generation, so an id whose object was deleted or reclaimed never
// silently resolves to whatever later reuses the slot (paper §3.4).
import { NAME_MAX_BYTES } from '../gsm/layout';
import { ObjectError } from './errors';

export interface ObjectId {
  slot: number;
  generation: number;
}

export const formatId = (id: ObjectId): string => `${id.slot}.${id.generation}`;

const ID_RE = /^(\d{1,9})\.(\d{1,10})$/;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_.:/-]*$/;

export const looksLikeId = (s: string): boolean => ID_RE.test(s);

export function parseId(s: string): ObjectId {
  const m = ID_RE.exec(s);
  if (!m) throw new ObjectError('invalid-id', `malformed object id "${s}" (expected <slot>.<generation>, e.g. 12.3)`);
  const generation = Number(m[2]);
  if (generation < 1 || generation > 0xffffffff) throw new ObjectError('invalid-id', `object id "${s}" has no valid generation`);
  return { slot: Number(m[1]), generation };
}

export function validateName(name: string): Uint8Array {
  if (typeof name !== 'string' || !NAME_RE.test(name))
    throw new ObjectError(
      'bad-argument',
      `object name "${name}" must start with a letter and use only letters, digits and _ . : / -`,
    );
  const bytes = new TextEncoder().encode(name);
  if (bytes.length > NAME_MAX_BYTES) throw new ObjectError('bad-argument', `object name "${name}" is longer than ${NAME_MAX_BYTES} bytes`);
  return bytes;
}

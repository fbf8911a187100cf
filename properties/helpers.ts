/** Shared test helpers: arbitraries for principals, accounts and ledger actions. */
import fc from 'fast-check';
import { principalFromBytes, type Principal } from '../src/core/principal.js';

export const arbPrincipalBytes = fc.uint8Array({ minLength: 0, maxLength: 29 });
export const arbPrincipal: fc.Arbitrary<Principal> = arbPrincipalBytes.map((b) => principalFromBytes(b) as Principal);

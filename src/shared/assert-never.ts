/** Compile-time exhaustiveness check for closed unions: a new member that is not handled fails typecheck. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}

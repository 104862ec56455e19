/**
 * Exact type equality: plain assignability would let `ImageFile` pass for `FieldFile`, or `any` for anything.
 * The deferred conditional types compare by identity.
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/** Fails to compile unless the argument's type is exactly `Expected`: `expectType<string>()(value)`. */
export function expectType<Expected> () {
  // a mismatch demands a second argument, so the call does not compile
  return <Actual>(value: Actual, ...mismatch: Equal<Actual, Expected> extends true ? [] : [expected: Expected]): void => {}
}

/** A type-level assertion: `assertTrue<Equal<A, B>>()`. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- T is the assertion
export function assertTrue<T extends true> (): void {}

/** Touches a value, so that a `@ts-expect-error` line holds nothing but the expression under test. */
export function use (value: unknown): void {}

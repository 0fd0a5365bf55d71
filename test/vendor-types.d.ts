// asl-validator ships no typings: only what the tests use.
declare module 'asl-validator' {
  interface Result {
    isValid: boolean;
    errors: unknown[];
  }
  export default function aslValidator(definition: unknown, options?: { checkArn?: boolean; checkPaths?: boolean }): Result;
}

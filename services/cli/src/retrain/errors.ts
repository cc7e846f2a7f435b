/**
 * A retrain that cannot be judged from what it was given: a bad option, a table that does not
 * cover the window, a champion that trained on the test days. The command exits 2 for these
 * (1 is a gate that failed, 0 one that passed), having said what to change.
 */
export class BadInput extends Error {
  override name = 'BadInput';
}

export const EXIT = { pass: 0, fail: 1, badInput: 2 } as const;

// Prose about a measurement, tied to the measurement. A notebook sentence that states a measured
// fact ("the C program reads 2026", "Pss is below Rss") is written as claim(holds, sentence): it
// is shown (as Markdown) only when `holds` is true, and otherwise the cell fails with a
// ClaimError naming the sentence. A run where the machine disagrees with the prose therefore
// fails the notebook tests instead of printing a false sentence. say() shows a sentence that is
// built from the values themselves and so needs no check.
import { display } from "../display/display";
import { validateBoolean, validateString } from "../validators";

/** What claim() throws when the measurement does not bear the sentence out; `code` is ERR_CLAIM_FAILED. */
export class ClaimError extends Error {
  readonly code = "ERR_CLAIM_FAILED";
  constructor(readonly sentence: string) {
    super(`ERR_CLAIM_FAILED: the notebook says "${sentence}", but this run's measurement does not bear it out`);
    this.name = "ClaimError";
  }
}

/** Shows `sentence` as Markdown (and plain text). */
export function say(sentence: string): void {
  validateString(sentence, "sentence");
  display({ "text/markdown": sentence, "text/plain": sentence });
}

/**
 * Shows `sentence` when `holds` is true; throws ClaimError when it is false.
 * @example claim(pss < rss, "Pss is below Rss: pages are shared.")
 */
export function claim(holds: boolean, sentence: string): void {
  validateBoolean(holds, "holds");
  validateString(sentence, "sentence");
  if (!holds) throw new ClaimError(sentence);
  say(sentence);
}

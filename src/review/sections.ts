/** The sections every review appends after its own, in order (see ReviewSectionProvider). */
import { costDeltaSection } from "./cost-section";
import type { Review, ReviewSection, ReviewSectionProvider } from "./review";

export const REVIEW_SECTIONS: readonly ReviewSectionProvider[] = [costDeltaSection];

/** The appended sections of a finished review, those with something to say. */
export async function reviewSections(review: Review): Promise<ReviewSection[]> {
  const sections = await Promise.all(REVIEW_SECTIONS.map((provide) => Promise.resolve(provide(review))));
  return sections.filter((section) => section !== undefined);
}

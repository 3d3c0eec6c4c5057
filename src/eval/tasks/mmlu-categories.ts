/**
 * MMLU subjects → the four categories of the paper's Table 9 (Humanities, STEM, Social Sciences,
 * Other), via the subject areas of Hendrycks et al.'s release (categories.py).
 */
const AREA: Record<string, string> = {
  abstract_algebra: 'math', anatomy: 'health', astronomy: 'physics', business_ethics: 'business', clinical_knowledge: 'health',
  college_biology: 'biology', college_chemistry: 'chemistry', college_computer_science: 'computer science', college_mathematics: 'math',
  college_medicine: 'health', college_physics: 'physics', computer_security: 'computer science', conceptual_physics: 'physics',
  econometrics: 'economics', electrical_engineering: 'engineering', elementary_mathematics: 'math', formal_logic: 'philosophy',
  global_facts: 'other', high_school_biology: 'biology', high_school_chemistry: 'chemistry', high_school_computer_science: 'computer science',
  high_school_european_history: 'history', high_school_geography: 'geography', high_school_government_and_politics: 'politics',
  high_school_macroeconomics: 'economics', high_school_mathematics: 'math', high_school_microeconomics: 'economics',
  high_school_physics: 'physics', high_school_psychology: 'psychology', high_school_statistics: 'math', high_school_us_history: 'history',
  high_school_world_history: 'history', human_aging: 'health', human_sexuality: 'culture', international_law: 'law', jurisprudence: 'law',
  logical_fallacies: 'philosophy', machine_learning: 'computer science', management: 'business', marketing: 'business',
  medical_genetics: 'health', miscellaneous: 'other', moral_disputes: 'philosophy', moral_scenarios: 'philosophy', nutrition: 'health',
  philosophy: 'philosophy', prehistory: 'history', professional_accounting: 'other', professional_law: 'law', professional_medicine: 'health',
  professional_psychology: 'psychology', public_relations: 'politics', security_studies: 'politics', sociology: 'culture',
  us_foreign_policy: 'politics', virology: 'health', world_religions: 'philosophy',
};

const CATEGORY: Record<string, string> = {
  physics: 'stem', chemistry: 'stem', biology: 'stem', 'computer science': 'stem', math: 'stem', engineering: 'stem',
  history: 'humanities', philosophy: 'humanities', law: 'humanities',
  politics: 'social_sciences', culture: 'social_sciences', economics: 'social_sciences', geography: 'social_sciences', psychology: 'social_sciences',
  other: 'other', business: 'other', health: 'other',
};

export const MMLU_CATEGORIES = ['humanities', 'stem', 'social_sciences', 'other'] as const;

/** The Table 9 category of a subject, or null for a subject outside the 57 of the release. */
export function mmluCategory(subject: string): string | null {
  const area = AREA[subject];
  return area === undefined ? null : CATEGORY[area];
}

export function mmluKnownSubjects(): string[] { return Object.keys(AREA).sort(); }

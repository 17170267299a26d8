//! What the recogniser's Latin letters look like to the reader of a West African ID: which
//! accented letters belong together (a base letter and its accented forms), and which accents
//! the region's names are written with.
//!
//! The recogniser's character list holds every accented Latin letter of Europe; it often puts
//! the right base letter first but the wrong accent (`ē` for `ë`), or the plain letter with the
//! diaeresis a close second (`i` 0.66, `ï` 0.30 in "Aïcha"). [`LatinPrior`] lets CTC decoding
//! decide the base letter from the whole family's probability, then pick the accent among the
//! ones used in French, English, Portuguese, Spanish and the Yoruba/Igbo orthographies; and it
//! prefers a diaeresis after a vowel when the image gives it a fair share — French writes `ë`,
//! `ï`, `ü` only after another vowel, which is exactly where the recogniser hesitates.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Latin letters whose diacritic is part of the glyph (a stroke or a missing dot), so Unicode
/// gives them no decomposition; each with the letter it is written for.
const STROKED: [(char, char); 13] = [
    ('Ø', 'O'),
    ('ø', 'o'),
    ('Đ', 'D'),
    ('đ', 'd'),
    ('Ħ', 'H'),
    ('ħ', 'h'),
    ('ı', 'i'),
    ('Ŀ', 'L'),
    ('ŀ', 'l'),
    ('Ł', 'L'),
    ('ł', 'l'),
    ('Ŧ', 'T'),
    ('ŧ', 't'),
];

fn unstroke(c: char) -> char {
    STROKED
        .iter()
        .find(|(s, _)| *s == c)
        .map_or(c, |(_, base)| *base)
}

/// Base letter of a Latin letter with diacritics (its canonical decomposition without the
/// combining marks, or the letter a stroked one is written for), or the letter itself when it is
/// a plain ASCII letter. `None` for anything else (`ß`, `æ`, digits, punctuation, other scripts).
#[must_use]
pub fn base_letter(c: char) -> Option<char> {
    let mut parts = std::iter::once(unstroke(c)).nfd();
    let base = parts.next()?;
    (base.is_ascii_alphabetic() && parts.all(is_combining_mark)).then_some(base)
}

/// `text` with its accents removed: canonical decomposition (NFD), combining marks dropped,
/// stroked letters written as their base letter (`Zoë` → `Zoe`, `Łódź` → `Lodz`).
#[must_use]
pub fn strip_accents(text: &str) -> String {
    text.chars()
        .map(unstroke)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// Accented letters written in the region's names: French (all of its accents), the acute and
/// grave tones and dot-below vowels of Yoruba and Igbo, Portuguese tildes, Spanish `ñ`.
#[must_use]
pub fn is_regional(c: char) -> bool {
    c.is_ascii_alphabetic()
        || "àâäçéèêëîïôöùûüÿœæáíóúìòñńǹãõẹọịụṣṅ"
            .chars()
            .any(|r| r == c || r.to_uppercase().any(|u| u == c))
}

/// A letter with a diaeresis (`ä ë ï ö ü ÿ`, capitals, and any other carrying U+0308).
#[must_use]
pub fn has_diaeresis(c: char) -> bool {
    std::iter::once(c).nfd().skip(1).any(|m| m == '\u{308}')
}

/// A vowel, accented or not.
#[must_use]
pub fn is_vowel(c: char) -> bool {
    base_letter(c).is_some_and(|b| "aeiouyAEIOUY".contains(b))
}

/// Share of a letter family's probability a diaeresis needs, after a vowel, to be chosen.
pub const DIAERESIS_SHARE: f32 = 0.12;

/// Share of its family's probability an accent the region does not write (`ē`, `č`) needs to be
/// kept: a foreign passport's `Č` read with confidence stays, a hesitant `ē` in "Zoë" gives way.
pub const FOREIGN_SHARE: f32 = 0.6;

/// The letter families of one recogniser's character list.
#[derive(Debug, Clone, Default)]
pub struct LatinPrior {
    /// Family id of each class (class 0 = blank has none).
    family_of: Vec<Option<usize>>,
    /// Classes of each family.
    members: Vec<Vec<usize>>,
    /// Whether each class is a letter the region writes.
    regional: Vec<bool>,
    /// The class's character, when it is one character.
    chars: Vec<Option<char>>,
}

impl LatinPrior {
    /// Families of `charset` (class `i ≥ 1` is `charset[i − 1]`; `classes` includes the blank
    /// and the trailing space class).
    #[must_use]
    pub fn new(charset: &[String], classes: usize) -> Self {
        let mut family_of = vec![None; classes];
        let mut regional = vec![false; classes];
        let mut chars = vec![None; classes];
        let mut bases: Vec<char> = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (k, s) in charset.iter().enumerate() {
            let class = k + 1;
            if class >= classes {
                break;
            }
            let mut it = s.chars();
            let (Some(c), None) = (it.next(), it.next()) else {
                continue;
            };
            chars[class] = Some(c);
            let Some(base) = base_letter(c) else {
                continue;
            };
            regional[class] = is_regional(c);
            let fam = match bases.iter().position(|b| *b == base) {
                Some(f) => f,
                None => {
                    bases.push(base);
                    members.push(Vec::new());
                    bases.len() - 1
                }
            };
            family_of[class] = Some(fam);
            members[fam].push(class);
        }
        Self {
            family_of,
            members,
            regional,
            chars,
        }
    }

    /// Number of classes it was built for.
    #[must_use]
    pub fn classes(&self) -> usize {
        self.family_of.len()
    }

    /// The letter family of a class.
    #[must_use]
    pub fn family(&self, class: usize) -> Option<usize> {
        self.family_of.get(class).copied().flatten()
    }

    /// Choose the letter of a run of steps decoded as one family: `sums[k]` is the summed
    /// probability of `members(family)[k]` over the run. Returns the class.
    #[must_use]
    pub fn choose(&self, family: usize, sums: &[f32], after_vowel: bool) -> Option<usize> {
        let members = self.members.get(family)?;
        let total: f32 = sums.iter().sum();
        if after_vowel && total > 0.0 {
            let best_diaeresis = members
                .iter()
                .zip(sums)
                .filter(|(m, _)| self.regional[**m] && self.chars[**m].is_some_and(has_diaeresis))
                .max_by(|a, b| a.1.total_cmp(b.1));
            if let Some((m, s)) = best_diaeresis
                && *s >= DIAERESIS_SHARE * total
            {
                return Some(*m);
            }
        }
        let best = members.iter().zip(sums).max_by(|a, b| a.1.total_cmp(b.1))?;
        if self.regional[*best.0] || *best.1 >= FOREIGN_SHARE * total {
            return Some(*best.0);
        }
        members
            .iter()
            .zip(sums)
            .filter(|(m, _)| self.regional[**m])
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(Some(*best.0), |(m, _)| Some(*m))
    }

    /// Classes of a family.
    #[must_use]
    pub fn members(&self, family: usize) -> &[usize] {
        self.members.get(family).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_letters_of_accented_forms() {
        assert_eq!(base_letter('ï'), Some('i'));
        assert_eq!(base_letter('Ë'), Some('E'));
        assert_eq!(base_letter('ē'), Some('e'));
        assert_eq!(base_letter('Ž'), Some('Z'));
        assert_eq!(base_letter('ọ'), Some('o'));
        assert_eq!(base_letter('x'), Some('x'));
        assert_eq!(base_letter('ß'), None);
        assert_eq!(base_letter('<'), None);
        assert_eq!(base_letter('7'), None);
        assert_eq!(base_letter('ø'), Some('o'));
        assert_eq!(base_letter('Ł'), Some('L'));
        assert_eq!(base_letter('ǹ'), Some('n'));
        assert_eq!(base_letter('Ṣ'), Some('S'));
        assert_eq!(base_letter('æ'), None);
        assert_eq!(base_letter('Д'), None);
        assert!(has_diaeresis('ï') && has_diaeresis('Ÿ') && !has_diaeresis('i'));
        assert!(!has_diaeresis('é'));
    }

    #[test]
    fn accents_are_stripped_by_decomposition() {
        assert_eq!(strip_accents("Aïcha"), "Aicha");
        assert_eq!(strip_accents("Zoë Adébáyọ̀"), "Zoe Adebayo");
        assert_eq!(strip_accents("ŁÓDŹ Øre"), "LODZ Ore");
        assert_eq!(strip_accents("N’Guessan <<"), "N’Guessan <<");
        assert_eq!(strip_accents("ß æ"), "ß æ");
    }

    #[test]
    fn regional_accents() {
        for c in ['é', 'È', 'ë', 'Ï', 'ç', 'ñ', 'ọ', 'Ẹ', 'ã'] {
            assert!(is_regional(c), "{c}");
        }
        for c in ['ē', 'ė', 'ę', 'ě', 'ł', 'Ø', 'å', 'ő'] {
            assert!(!is_regional(c), "{c}");
        }
    }

    fn prior() -> (LatinPrior, Vec<String>) {
        let charset: Vec<String> = ["i", "ï", "í", "e", "ē", "ë", "ê", "o", "<"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        (LatinPrior::new(&charset, charset.len() + 2), charset)
    }

    #[test]
    fn a_diaeresis_after_a_vowel_wins_a_fair_share() {
        let (p, _) = prior();
        let fam = p.family(1).unwrap();
        assert_eq!(p.members(fam), &[1, 2, 3]);
        // i 0.76, ï 0.21, í 0.03: after "A" the diaeresis is chosen, at a word start it is not.
        assert_eq!(p.choose(fam, &[0.76, 0.21, 0.03], true), Some(2));
        assert_eq!(p.choose(fam, &[0.76, 0.21, 0.03], false), Some(1));
        // A faint diaeresis is not enough.
        assert_eq!(p.choose(fam, &[0.92, 0.06, 0.02], true), Some(1));
    }

    #[test]
    fn accents_outside_the_region_give_way_to_the_best_regional_one() {
        let (p, _) = prior();
        let fam = p.family(4).unwrap();
        assert_eq!(p.members(fam), &[4, 5, 6, 7]);
        // ē 0.50, ë 0.25, ê 0.11 (Zoë read as Zoē): not after a vowel → ë as the best regional.
        assert_eq!(p.choose(fam, &[0.04, 0.50, 0.25, 0.11], false), Some(6));
        // A confident foreign accent (a Czech passport's Č) is kept.
        assert_eq!(p.choose(fam, &[0.02, 0.90, 0.05, 0.03], false), Some(5));
        // A plain e stays plain.
        assert_eq!(p.choose(fam, &[0.97, 0.01, 0.01, 0.01], true), Some(4));
        // The filler has no family.
        assert_eq!(p.family(9), None);
    }
}

//! The name field's grammar (ICAO 9303): the primary identifier's components joined by one
//! filler, `<<`, the secondary identifier's components joined by one filler, then fillers only
//! to the end of the field. No check digit covers the names, so a filler the OCR read as a
//! letter (thin, light chevrons on real passports read as `A` or `K`) passes every check; the
//! grammar, the recogniser's per-character confidences and the printed name in the visual zone
//! are the only witnesses. Repairs here turn such letters back into fillers and say how sure
//! the name is.

/// Letters a printed filler `<` is read as.
const FILLER_LOOKALIKES: &[u8] = b"AKCLX";

/// A name confidence below this is reported as uncertain.
pub const NAME_UNCERTAIN_BELOW: f32 = 0.6;

/// Confidence kept when a trailing one- or two-letter component was judged a misread filler on
/// the evidence of other misread fillers in the same field.
const INFERRED_TRAILING: f32 = 0.8;
/// Confidence kept when a trailing short component was judged a filler on its own low
/// confidence alone.
const LOW_CONF_TRAILING: f32 = 0.55;
/// Confidence kept when letters stand after the name's end that cannot be fillers.
const STRAY_LETTERS: f32 = 0.4;
/// Confidence kept when the name has no secondary identifier and may have lost its separator.
const LOST_SEPARATOR: f32 = 0.5;
/// Confidence given to a name the printed zone confirms.
pub const CONFIRMED: f32 = 0.97;

/// The name field as settled: repaired text, the positions changed to fillers, and how sure.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The field, `A-Z <` only, same length as read.
    pub text: Vec<u8>,
    /// Offsets (within the field) turned into fillers.
    pub changed: Vec<usize>,
    /// 0–1.
    pub confidence: f32,
}

/// One maximal run of non-filler characters: `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
}

fn tokens(text: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'<' {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && text[i] != b'<' {
            i += 1;
        }
        out.push(Token { start, end: i });
    }
    out
}

/// Whether the character at `i` may be a misread filler.
fn filler_like(text: &[u8], confs: &[Option<f32>], i: usize, low: f32) -> bool {
    FILLER_LOOKALIKES.contains(&text[i]) || confs.get(i).copied().flatten().is_some_and(|c| c < low)
}

/// How many tokens make up the name: the secondary identifier starts right after the first
/// `<<`; a run of three or more fillers after the primary identifier, or a second run of two or
/// more after the secondary one, ends the name.
fn name_token_count(toks: &[Token]) -> usize {
    let mut separator_seen = false;
    for (k, pair) in toks.windows(2).enumerate() {
        let gap = pair[1].start - pair[0].end;
        if gap == 1 {
            continue;
        }
        if !separator_seen && gap == 2 {
            separator_seen = true;
            continue;
        }
        return k + 1;
    }
    toks.len()
}

/// Settle the name field `text` (fillers and letters) with per-character confidences (same
/// length; `None` where unknown). `low` is the confidence under which a character is uncertain.
#[must_use]
pub fn settle(text: &[u8], confs: &[Option<f32>], low: f32) -> Settled {
    let mut out = text.to_vec();
    let mut changed = Vec::new();
    let toks = tokens(text);
    let keep = name_token_count(&toks);
    let mut cap = 1.0f32;
    let mut evidence = false;
    for t in &toks[keep.min(toks.len())..] {
        if (t.start..t.end).all(|i| filler_like(text, confs, i, low)) {
            out[t.start..t.end].fill(b'<');
            changed.extend(t.start..t.end);
            evidence = true;
        } else {
            // Letters after the name's end that look like nothing a filler is read as.
            cap = cap.min(STRAY_LETTERS);
        }
    }
    // The name's last component: a lone letter or two that look like fillers, after a single
    // filler, where the field shows misread fillers elsewhere or the letters are uncertain.
    if keep >= 2
        && let Some(last) = toks.get(keep - 1)
        && (last.start..last.end).all(|i| FILLER_LOOKALIKES.contains(&text[i]))
        && {
            let len = last.end - last.start;
            let gap = last.start - toks[keep - 2].end;
            // "AAA": one letter repeated, as a filler run is misread.
            let repeated = len >= 2
                && text[last.start..last.end]
                    .iter()
                    .all(|&c| c == text[last.start]);
            (gap == 1 && (len <= 2 || repeated)) || (gap == 2 && repeated && evidence)
        }
    {
        let uncertain = (last.start..last.end)
            .any(|i| confs.get(i).copied().flatten().is_some_and(|c| c < low));
        if evidence || uncertain {
            out[last.start..last.end].fill(b'<');
            changed.extend(last.start..last.end);
            cap = cap.min(if evidence {
                INFERRED_TRAILING
            } else {
                LOW_CONF_TRAILING
            });
        }
    }
    // No secondary identifier left, and a component of the primary one starts with a letter a
    // filler is read as: the separator's second filler may have been read as that letter
    // (`DUPUIS<AJEAN` for `DUPUIS<<JEAN`); only the printed name can tell.
    let settled = tokens(&out);
    let named = &settled[..name_token_count(&settled)];
    let has_separator = named.windows(2).any(|w| w[1].start - w[0].end == 2);
    if !has_separator
        && named
            .iter()
            .skip(1)
            .any(|t| FILLER_LOOKALIKES.contains(&out[t.start]))
    {
        cap = cap.min(LOST_SEPARATOR);
    }
    changed.sort_unstable();
    // The letters kept: their mean confidence, held near their weakest.
    let kept: Vec<f32> = out
        .iter()
        .zip(confs)
        .filter(|(c, _)| **c != b'<')
        .map(|(_, p)| p.unwrap_or(1.0))
        .collect();
    let base = if kept.is_empty() {
        0.0
    } else {
        let mean = kept.iter().sum::<f32>() / kept.len() as f32;
        let min = kept.iter().copied().fold(1.0f32, f32::min);
        mean.min(min + 0.3)
    };
    Settled {
        text: out,
        changed,
        confidence: base.min(cap).clamp(0.0, 1.0),
    }
}

/// The name field the printed zone implies: surname words joined by `<`, `<<`, given-name
/// words joined by `<`, padded with fillers (or cut) to `len`. Words must already be `A-Z`.
#[must_use]
pub fn field_from_words(surname: &[String], given: &[String], len: usize) -> Vec<u8> {
    let mut s = surname.join("<");
    if !given.is_empty() {
        s.push_str("<<");
        s.push_str(&given.join("<"));
    }
    let mut b: Vec<u8> = s.into_bytes();
    b.resize(len, b'<');
    b
}

/// Whether `read` (as recognised) can be the printed `target`: they differ only where the
/// reading holds a letter that may be a misread filler and the target a filler.
#[must_use]
pub fn explains(read: &[u8], confs: &[Option<f32>], target: &[u8], low: f32) -> bool {
    read.len() == target.len()
        && read.iter().zip(target).enumerate().all(|(i, (r, t))| {
            r == t || (*t == b'<' && *r != b'<' && filler_like(read, confs, i, low))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle_str(s: &str) -> (String, f32) {
        let confs = vec![Some(0.95); s.len()];
        let r = settle(s.as_bytes(), &confs, 0.6);
        (String::from_utf8(r.text).unwrap_or_default(), r.confidence)
    }

    #[test]
    fn clean_names_are_left_alone_and_sure() {
        for s in [
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "SMITH<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "DE<LA<CRUZ<<JOSE<<<<<<<<<<<<<<<<<<<<<<<",
            "NGUYEN<<A<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
        ] {
            let (t, c) = settle_str(s);
            assert_eq!(t, s);
            assert!(c > 0.9, "{s}: {c}");
        }
    }

    #[test]
    fn misread_fillers_after_the_name_become_fillers() {
        let (t, c) = settle_str("SPECIMEN<<VZOR<A<<<<<<<A<<AA<<<<<<<<<<<");
        assert_eq!(t, "SPECIMEN<<VZOR<<<<<<<<<<<<<<<<<<<<<<<<<");
        assert!((c - INFERRED_TRAILING).abs() < 1e-6, "{c}");
        let (t, _) = settle_str("SMITH<<JOHN<<<<K<<<<A<<<<<<<<<<<<<<<<<<");
        assert_eq!(t, "SMITH<<JOHN<<<<<<<<<<<<<<<<<<<<<<<<<<<<");
    }

    #[test]
    fn a_trailing_letter_alone_stays_unless_uncertain() {
        let s = "SPECIMEN<<VZOR<A<<<<<<<<<<<<<<<<<<<<<<<";
        let (t, c) = settle_str(s);
        assert_eq!(t, s);
        assert!(c > 0.9);
        let mut confs = vec![Some(0.95); s.len()];
        confs[15] = Some(0.3);
        let r = settle(s.as_bytes(), &confs, 0.6);
        assert_eq!(r.text, b"SPECIMEN<<VZOR<<<<<<<<<<<<<<<<<<<<<<<<<".to_vec());
        assert_eq!(r.changed, vec![15]);
        assert!(r.confidence < NAME_UNCERTAIN_BELOW);
    }

    #[test]
    fn stray_real_letters_make_the_name_uncertain() {
        let (t, c) = settle_str("SMITH<<JOHN<<PETER<<<<<<<<<<<<<<<<<<<<<");
        assert_eq!(t, "SMITH<<JOHN<<PETER<<<<<<<<<<<<<<<<<<<<<");
        assert!(c < NAME_UNCERTAIN_BELOW);
    }

    #[test]
    fn the_printed_name_explains_filler_misreads_only() {
        let target = field_from_words(&["DUPUIS".into()], &["JEAN".into()], 20);
        assert_eq!(target, b"DUPUIS<<JEAN<<<<<<<<".to_vec());
        let confs = vec![Some(0.9); 20];
        assert!(explains(b"DUPUIS<AJEAN<<AAA<<<", &confs, &target, 0.6));
        assert!(!explains(
            b"DUPUIS<<JEAN<<<<<<<<",
            &confs,
            &field_from_words(&["DUPONT".into()], &["JEAN".into()], 20),
            0.6
        ));
        assert!(!explains(b"DUPUIS<<JEANNE<<<<<<", &confs, &target, 0.6));
    }
}

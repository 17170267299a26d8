//! The reading pipeline: normalise → fit line lengths → field rules → check-digit repair →
//! verify → build the reading. Every candidate window and layout is scored and the best kept.

use super::codes::{self, CodeClass, CodeRole};
use super::date::{DateRole, IsoDate, days_in_month, resolve_yymmdd};
use super::layout::{
    CheckName, CheckSpec, FieldId, Kind, MrzFormat, Span, check_digit_bytes, check_specs, kind_at,
    long_number_check_index, span_of, spans,
};
use super::names;
use super::{
    CandidateLine, CheckResult, MrzDateField, MrzError, MrzField, MrzFields, MrzOptions,
    MrzReading, NameRead, Repair, RepairReason,
};

/// One character with its OCR confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    ch: u8,
    conf: Option<f32>,
    /// Read as a double chevron (`«`, `≪`), which may stand for two fillers.
    wide: bool,
}

type Lines = Vec<Vec<Cell>>;

/// The most length-repair combinations tried per window and layout.
const MAX_LENGTH_COMBOS: usize = 64;
/// The most a line's length may differ from its layout's and still be repaired.
const MAX_LENGTH_DIFF: usize = 6;
/// The most two-character substitution candidates evaluated per check.
const MAX_PAIRS: usize = 600;

/// Map one OCR character to the MRZ alphabet; `None` drops it (spaces, punctuation).
fn normalise_char(c: char) -> Option<u8> {
    match c {
        'A'..='Z' | '0'..='9' | '<' => Some(c as u8),
        'a'..='z' => Some(c.to_ascii_uppercase() as u8),
        '«' | '‹' | '≪' | '＜' | '〈' | '⟨' => Some(b'<'),
        // The recogniser's symbol set holds the set-union sign, which it reads for OCR-B's `U`.
        '∪' => Some(b'U'),
        _ => None,
    }
}

struct Normalised {
    cells: Vec<Cell>,
    /// Characters that were neither whitespace nor mappable.
    dropped: usize,
}

fn normalise(c: &CandidateLine) -> Normalised {
    let mut cells = Vec::with_capacity(c.text.len());
    let mut dropped = 0;
    for (i, ch) in c.text.chars().enumerate() {
        let conf = c.confidences.as_ref().and_then(|v| v.get(i).copied());
        match normalise_char(ch) {
            Some(b) => cells.push(Cell {
                ch: b,
                conf,
                wide: matches!(ch, '«' | '≪'),
            }),
            None if ch.is_whitespace() => {}
            None => dropped += 1,
        }
    }
    Normalised { cells, dropped }
}

fn bytes(lines: &Lines) -> Vec<Vec<u8>> {
    lines
        .iter()
        .map(|l| l.iter().map(|c| c.ch).collect())
        .collect()
}

/// A candidate shape for one line: the cells and the length repairs (line index filled later).
type Variant = (Vec<Cell>, Vec<Repair>);

fn filler() -> Cell {
    Cell {
        ch: b'<',
        conf: None,
        wide: false,
    }
}

/// Runs of fillers as (start, len), longest first: runs of `<`, and runs of three or more
/// `<`/`K` (fillers the OCR read as K).
fn filler_runs(line: &[Cell]) -> Vec<(usize, usize)> {
    let is_fill = |c: u8| c == b'<' || c == b'K';
    let mut runs = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if is_fill(line[i].ch) {
            let s = i;
            while i < line.len() && is_fill(line[i].ch) {
                i += 1;
            }
            let has_filler = line[s..i].iter().any(|c| c.ch == b'<');
            if has_filler || i - s >= 3 {
                runs.push((s, i - s));
            }
        } else {
            i += 1;
        }
    }
    runs.sort_by_key(|r| std::cmp::Reverse(r.1));
    runs
}

fn insert_variant(line: &[Cell], at: usize, d: usize) -> Variant {
    let mut v = line.to_vec();
    let mut reps = Vec::new();
    for k in 0..d {
        v.insert(at, filler());
        reps.push(Repair {
            line: 0,
            position: at + k,
            from: None,
            to: Some('<'),
            reason: RepairReason::LengthPad,
        });
    }
    (v, reps)
}

fn remove_variant(line: &[Cell], at: usize, d: usize) -> Variant {
    let mut v = line.to_vec();
    let reps = (at..at + d)
        .map(|p| Repair {
            line: 0,
            position: p,
            from: Some(char::from(line[p].ch)),
            to: None,
            reason: RepairReason::LengthTrim,
        })
        .collect();
    v.drain(at..at + d);
    (v, reps)
}

/// Ways to bring `line` to `target` characters by adding or removing fillers (and, failing
/// that, stray characters at either end), most plausible first.
fn length_variants(line: &[Cell], target: usize) -> Vec<Variant> {
    let n = line.len();
    if n == target {
        return vec![(line.to_vec(), Vec::new())];
    }
    let d = n.abs_diff(target);
    if d > MAX_LENGTH_DIFF {
        return Vec::new();
    }
    let mut out: Vec<Variant> = Vec::new();
    let runs = filler_runs(line);
    if n < target {
        let wide: Vec<usize> = (0..n).filter(|&i| line[i].wide).collect();
        if wide.len() == d {
            // Each double chevron was two fillers.
            let mut v = line.to_vec();
            let mut reps = Vec::new();
            for (k, &i) in wide.iter().enumerate() {
                v.insert(i + k + 1, filler());
                reps.push(Repair {
                    line: 0,
                    position: i + k + 1,
                    from: None,
                    to: Some('<'),
                    reason: RepairReason::LengthPad,
                });
            }
            out.push((v, reps));
        }
        out.push(insert_variant(line, n, d));
        for &(s, _) in runs.iter().take(6) {
            out.push(insert_variant(line, s, d));
        }
    } else {
        if line[n - d..].iter().all(|c| c.ch == b'<' || c.ch == b'K') {
            out.push(remove_variant(line, n - d, d));
        }
        for &(s, len) in runs.iter().take(6) {
            if len >= d {
                out.push(remove_variant(line, s, d));
            }
        }
        out.push(remove_variant(line, 0, d));
        out.push(remove_variant(line, n - d, d));
    }
    let mut seen: Vec<Vec<u8>> = Vec::new();
    out.retain(|(cells, _)| {
        let key: Vec<u8> = cells.iter().map(|c| c.ch).collect();
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    out
}

fn to_digit(c: u8) -> Option<u8> {
    Some(match c {
        b'O' | b'Q' | b'D' | b'U' => b'0',
        b'I' | b'L' | b'J' => b'1',
        b'Z' => b'2',
        b'A' => b'4',
        b'S' => b'5',
        b'G' => b'6',
        b'T' => b'7',
        b'B' => b'8',
        _ => return None,
    })
}

/// Every character of the span is a letter, a filler, or a digit with a letter look-alike.
fn code_becomes_letters(lines: &Lines, line: usize, start: usize, len: usize) -> bool {
    (start..start + len).all(|i| {
        lines
            .get(line)
            .and_then(|l| l.get(i))
            .is_none_or(|c| c.ch.is_ascii_uppercase() || c.ch == b'<' || to_letter(c.ch).is_some())
    })
}

fn to_letter(c: u8) -> Option<u8> {
    Some(match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'4' => b'A',
        b'5' => b'S',
        b'6' => b'G',
        b'7' => b'T',
        b'8' => b'B',
        _ => return None,
    })
}

/// Digit-for-digit OCR confusions (used only on uncertain characters).
fn digit_swaps(c: u8) -> &'static [u8] {
    match c {
        b'0' => b"86",
        b'1' => b"7",
        b'3' => b"8",
        b'5' => b"6",
        b'6' => b"580",
        b'7' => b"1",
        b'8' => b"0369",
        b'9' => b"8",
        _ => b"",
    }
}

/// Letter-for-letter OCR confusions (used only on uncertain characters).
fn letter_swaps(c: u8) -> &'static [u8] {
    match c {
        b'O' => b"QDC",
        b'Q' => b"OD",
        b'D' => b"OQ",
        b'C' => b"GO",
        b'G' => b"C",
        b'E' => b"F",
        b'F' => b"E",
        b'M' => b"N",
        b'N' => b"M",
        b'U' => b"V",
        b'V' => b"U",
        b'P' => b"R",
        b'R' => b"P",
        _ => b"",
    }
}

fn substitute(
    lines: &mut Lines,
    line: usize,
    idx: usize,
    to: u8,
    reason: RepairReason,
    reps: &mut Vec<Repair>,
) {
    if let Some(cell) = lines.get_mut(line).and_then(|l| l.get_mut(idx))
        && cell.ch != to
    {
        {
            reps.push(Repair {
                line,
                position: idx,
                from: Some(char::from(cell.ch)),
                to: Some(char::from(to)),
                reason,
            });
            cell.ch = to;
        }
    }
}

/// Turn runs of `K` that stand where fillers belong into `<` inside `span`.
fn k_runs_to_fillers(
    lines: &mut Lines,
    span: &Span,
    names: bool,
    low_confidence: f32,
    reps: &mut Vec<Repair>,
) {
    let Some(line) = lines.get(span.line) else {
        return;
    };
    let end = (span.start + span.len).min(line.len());
    let text: Vec<u8> = line[span.start.min(end)..end]
        .iter()
        .map(|c| c.ch)
        .collect();
    let has_filler = text.contains(&b'<');
    let mut to_fix = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'K' {
            let s = i;
            while i < text.len() && text[i] == b'K' {
                i += 1;
            }
            let len = i - s;
            let reaches_end = text[i..].iter().all(|&c| c == b'<' || c == b'K');
            let uncertain = line
                .get(span.start + s)
                .and_then(|c| c.conf)
                .is_some_and(|c| c < low_confidence);
            let fix = (reaches_end && (len >= 2 || (s > 0 && text[s - 1] == b'<')))
                || (names && (len >= 3 || (len == 2 && !has_filler) || (len == 1 && uncertain)));
            if fix {
                to_fix.extend((s..i).map(|k| span.start + k));
            }
        } else {
            i += 1;
        }
    }
    for idx in to_fix {
        substitute(lines, span.line, idx, b'<', RepairReason::Filler, reps);
    }
}

/// Deterministic repairs from what each field may hold.
fn apply_field_rules(
    format: MrzFormat,
    lines: &mut Lines,
    opts: &MrzOptions,
    reps: &mut Vec<Repair>,
) {
    for span in spans(format) {
        match span.id {
            FieldId::Names
            | FieldId::OptionalData1
            | FieldId::OptionalData2
            | FieldId::PersonalNumber => k_runs_to_fillers(
                lines,
                span,
                span.id == FieldId::Names,
                opts.low_confidence,
                reps,
            ),
            _ => {}
        }
        if matches!(span.id, FieldId::IssuingState | FieldId::Nationality)
            && !code_becomes_letters(lines, span.line, span.start, span.len)
        {
            // A code that look-alikes cannot turn into letters (a misprinted "132") is left as
            // printed rather than half-converted ("I3Z").
            continue;
        }
        for idx in span.start..span.start + span.len {
            let Some(c) = lines.get(span.line).and_then(|l| l.get(idx)).map(|c| c.ch) else {
                continue;
            };
            let to = match span.kind {
                Kind::Alpha => {
                    if span.id == FieldId::DocumentCode && idx == 1 && c == b'K' {
                        Some(b'<')
                    } else if span.id == FieldId::DocumentCode && idx == 1 && c.is_ascii_digit() {
                        // The second character is the issuer's choice and some print a digit
                        // (`C1` on a US permanent resident card): a digit read with confidence
                        // stays a digit.
                        let sure = lines
                            .get(span.line)
                            .and_then(|l| l.get(idx))
                            .and_then(|cell| cell.conf)
                            .is_some_and(|conf| conf >= opts.low_confidence);
                        if sure { None } else { to_letter(c) }
                    } else {
                        to_letter(c)
                    }
                }
                Kind::Numeric => to_digit(c),
                Kind::Check => {
                    if c == b'K' {
                        Some(b'<')
                    } else {
                        to_digit(c)
                    }
                }
                Kind::Sex => match c {
                    b'H' | b'N' => Some(b'M'),
                    b'E' | b'P' => Some(b'F'),
                    b'K' => Some(b'<'),
                    _ => None,
                },
                Kind::AlphaNum => None,
            };
            if let Some(to) = to {
                let reason = if to == b'<' {
                    RepairReason::Filler
                } else {
                    RepairReason::FieldRule
                };
                substitute(lines, span.line, idx, to, reason, reps);
            }
        }
    }
}

fn get(b: &[Vec<u8>], (l, i): (usize, usize)) -> u8 {
    b.get(l).and_then(|x| x.get(i)).copied().unwrap_or(b'?')
}

/// The digit computed over the covered characters, the character found, and whether they agree.
fn evaluate_raw(spec: &CheckSpec, b: &[Vec<u8>]) -> (Option<char>, char, bool) {
    let expected = check_digit_bytes(spec.covers.iter().map(|&p| get(b, p)));
    let found = char::from(get(b, spec.digit));
    let ok = if found == '<' {
        // A filler check digit is allowed only over an all-filler personal number.
        spec.name == CheckName::PersonalNumber && spec.covers.iter().all(|&p| get(b, p) == b'<')
    } else {
        expected == Some(found)
    };
    (expected, found, ok)
}

fn evaluate(spec: &CheckSpec, b: &[Vec<u8>]) -> CheckResult {
    let (expected, found, ok) = evaluate_raw(spec, b);
    CheckResult {
        name: spec.name,
        expected: expected.map(String::from),
        found: found.to_string(),
        ok,
        detail: None,
    }
}

fn check_ok(format: MrzFormat, b: &[Vec<u8>], name: CheckName) -> bool {
    check_specs(format, b)
        .iter()
        .find(|s| s.name == name)
        .map(|s| evaluate_raw(s, b).2)
        .unwrap_or(true)
}

/// A date field is plausible when it is all fillers, or YY digits with a real month and day
/// (either of which may be fillers for an unknown part).
fn plausible_date(d: &[u8]) -> bool {
    if d.len() != 6 || d.iter().all(|&c| c == b'<') {
        return d.len() == 6;
    }
    let two = |i: usize| -> Option<Option<u32>> {
        match (d[i], d[i + 1]) {
            (b'<', b'<') => Some(None),
            (a, b) if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some(Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')))
            }
            _ => None,
        }
    };
    let (Some(Some(_)), Some(m), Some(day)) = (two(0), two(2), two(4)) else {
        return false;
    };
    let month_ok = m.is_none_or(|m| (1..=12).contains(&m));
    let max_day = m.map(|m| days_in_month(2000, m)).unwrap_or(31);
    month_ok && day.is_none_or(|d| d >= 1 && d <= max_day)
}

fn plausible_at(format: MrzFormat, b: &[Vec<u8>], (l, i): (usize, usize), is_check: bool) -> bool {
    let c = get(b, (l, i));
    if is_check {
        return c.is_ascii_digit() || c == b'<';
    }
    match kind_at(format, l, i) {
        Some(Kind::Numeric) => spans(format)
            .iter()
            .find(|s| s.line == l && i >= s.start && i < s.start + s.len)
            .and_then(|s| b.get(l).and_then(|x| x.get(s.start..s.start + s.len)))
            .is_some_and(plausible_date),
        _ => true,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sub {
    line: usize,
    idx: usize,
    to: u8,
    conf: f32,
}

fn is_uncertain(cell: &Cell, opts: &MrzOptions) -> bool {
    match cell.conf {
        Some(c) => c < opts.low_confidence,
        None => opts.digit_swaps_without_confidence,
    }
}

/// Substitution candidates for one position: (letter/digit look-alikes and K for a filler,
/// swaps within digits or within letters allowed only on uncertain characters).
fn candidates_at(
    format: MrzFormat,
    lines: &Lines,
    pos: (usize, usize),
    is_check: bool,
    opts: &MrzOptions,
) -> [Vec<Sub>; 2] {
    let mut tiers: [Vec<Sub>; 2] = Default::default();
    let Some(cell) = lines.get(pos.0).and_then(|l| l.get(pos.1)).copied() else {
        return tiers;
    };
    let conf = cell.conf.unwrap_or(1.0);
    let mk = |to: u8| Sub {
        line: pos.0,
        idx: pos.1,
        to,
        conf,
    };
    let kind = if is_check {
        Kind::Check
    } else {
        kind_at(format, pos.0, pos.1).unwrap_or(Kind::AlphaNum)
    };
    let c = cell.ch;
    if kind == Kind::AlphaNum {
        tiers[0].extend(to_digit(c).or_else(|| to_letter(c)).map(mk));
        if c == b'K' {
            tiers[0].push(mk(b'<'));
        }
    }
    if is_uncertain(&cell, opts) {
        match kind {
            Kind::Numeric | Kind::Check | Kind::AlphaNum if c.is_ascii_digit() => {
                tiers[1].extend(digit_swaps(c).iter().map(|&d| mk(d)))
            }
            Kind::AlphaNum if c.is_ascii_uppercase() => {
                tiers[1].extend(letter_swaps(c).iter().map(|&d| mk(d)))
            }
            _ => {}
        }
    }
    tiers
}

/// Whether `sub` turns a character into the class (digit or letter) that the rest of its field
/// is mostly made of.
fn toward_majority(format: MrzFormat, b: &[Vec<u8>], sub: &Sub) -> bool {
    let Some(span) = spans(format)
        .iter()
        .find(|s| s.line == sub.line && sub.idx >= s.start && sub.idx < s.start + s.len)
    else {
        return false;
    };
    let others = (span.start..span.start + span.len)
        .filter(|&i| i != sub.idx)
        .map(|i| get(b, (span.line, i)));
    let (mut digits, mut letters) = (0usize, 0usize);
    for c in others {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_uppercase() {
            letters += 1;
        }
    }
    if sub.to.is_ascii_digit() {
        digits > letters
    } else if sub.to.is_ascii_uppercase() {
        letters > digits
    } else {
        true
    }
}

/// Pick the one acceptable candidate, or `None` (no candidate, or an unresolved tie).
fn resolve(
    format: MrzFormat,
    lines: &Lines,
    name: CheckName,
    passing: Vec<Vec<Sub>>,
) -> Option<Vec<Sub>> {
    if passing.len() <= 1 {
        return passing.into_iter().next();
    }
    // A second witness: the composite check, when this is a field check.
    if name != CheckName::Composite {
        let both: Vec<&Vec<Sub>> = passing
            .iter()
            .filter(|subs| {
                let mut t = bytes(lines);
                for s in subs.iter() {
                    t[s.line][s.idx] = s.to;
                }
                check_specs(format, &t)
                    .iter()
                    .any(|sp| sp.name == CheckName::Composite && evaluate_raw(sp, &t).2)
            })
            .collect();
        if both.len() == 1 {
            return both.into_iter().next().cloned();
        }
    }
    // A third: the OCR's own doubt, when one candidate changes clearly less certain characters.
    let mut scored: Vec<(f32, &Vec<Sub>)> = passing
        .iter()
        .map(|subs| {
            (
                subs.iter().map(|s| s.conf).fold(f32::INFINITY, f32::min),
                subs,
            )
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    match scored.as_slice() {
        [(c0, best), (c1, _), ..] if *c0 + 0.15 < *c1 => Some((*best).clone()),
        _ => None,
    }
}

/// Try to make the named failing check pass with a unique substitution. Returns whether it
/// passes afterwards.
fn repair_check(
    format: MrzFormat,
    lines: &mut Lines,
    name: CheckName,
    opts: &MrzOptions,
    reps: &mut Vec<Repair>,
) -> bool {
    let b = bytes(lines);
    let specs = check_specs(format, &b);
    let Some(spec) = specs.iter().find(|s| s.name == name).cloned() else {
        return true;
    };
    if evaluate_raw(&spec, &b).2 {
        return true;
    }
    let positions: Vec<(usize, usize)> = if name == CheckName::Composite {
        let mut own: Vec<(usize, usize)> = Vec::new();
        for s in specs.iter().filter(|s| s.name != CheckName::Composite) {
            own.extend(s.covers.iter().copied());
            own.push(s.digit);
        }
        spec.covers
            .iter()
            .copied()
            .filter(|p| !own.contains(p))
            .collect()
    } else {
        spec.covers.clone()
    };
    let mut lookalikes: Vec<Sub> = Vec::new();
    let mut singles: Vec<Sub> = Vec::new();
    for &p in positions.iter().chain(std::iter::once(&spec.digit)) {
        let [mut a, c] = candidates_at(format, lines, p, p == spec.digit, opts);
        if name == CheckName::Composite {
            // Optional data has no check digit of its own, and the composite must also expose
            // a misprint: here only a character that stands out from the rest of its field
            // (a letter among digits, a digit among letters) may be changed without OCR doubt.
            a.retain(|sub| toward_majority(format, &b, sub));
        }
        lookalikes.extend(a.iter().copied());
        singles.extend(a);
        singles.extend(c);
    }
    // Checks that pass now must still pass after a repair (a field fix that breaks the
    // composite is a wrong fix).
    let passing_before: Vec<CheckName> = specs
        .iter()
        .filter(|s| evaluate_raw(s, &b).2)
        .map(|s| s.name)
        .collect();
    // When every other field check passes, the composite is a second witness that a field
    // repair must satisfy too (it covers the field): this stops a single substitution from
    // "explaining away" a misprinted or misread check digit.
    let needs_composite = name != CheckName::Composite
        && specs.iter().any(|s| s.name == CheckName::Composite)
        && specs
            .iter()
            .filter(|s| s.name != CheckName::Composite && s.name != name)
            .all(|s| evaluate_raw(s, &b).2);
    let passes = |subs: &[Sub]| -> bool {
        let mut t = b.clone();
        for s in subs {
            t[s.line][s.idx] = s.to;
        }
        check_ok(format, &t, name)
            && passing_before.iter().all(|n| check_ok(format, &t, *n))
            && (!needs_composite || check_ok(format, &t, CheckName::Composite))
            && subs
                .iter()
                .all(|s| plausible_at(format, &t, (s.line, s.idx), (s.line, s.idx) == spec.digit))
    };
    let apply = |lines: &mut Lines, subs: Vec<Sub>, reps: &mut Vec<Repair>| {
        for s in subs {
            substitute(lines, s.line, s.idx, s.to, RepairReason::CheckDigit, reps);
        }
    };
    // All single substitutions compete in one pool: letter/digit look-alikes in either
    // direction, and digit/digit or letter/letter swaps on characters the OCR doubted. A
    // field's majority class (mostly digits, say) is not evidence enough to prefer one.
    let passing: Vec<Vec<Sub>> = singles
        .iter()
        .map(|s| vec![*s])
        .filter(|v| passes(v))
        .collect();
    if !passing.is_empty() {
        return match resolve(format, lines, name, passing) {
            Some(subs) => {
                apply(lines, subs, reps);
                true
            }
            None => false,
        };
    }
    if opts.allow_double_substitutions {
        let singles = &lookalikes;
        let mut passing = Vec::new();
        let mut tried = 0;
        'outer: for (i, a) in singles.iter().enumerate() {
            for bsub in &singles[i + 1..] {
                if (a.line, a.idx) == (bsub.line, bsub.idx) {
                    continue;
                }
                tried += 1;
                if tried > MAX_PAIRS {
                    break 'outer;
                }
                let v = vec![*a, *bsub];
                if passes(&v) {
                    passing.push(v);
                }
            }
        }
        if let Some(subs) = resolve(format, lines, name, passing) {
            apply(lines, subs, reps);
            return true;
        }
    }
    false
}

/// Whether the document code's first character is one its layout allows: `P` in a passport
/// book, `V` in a visa, `I`, `A` or `C` on a card or other travel document (and `P`, which
/// passport cards print).
fn document_code_fits(format: MrzFormat, code: &[u8]) -> bool {
    let first = code.first().copied().unwrap_or(b'?');
    let second = code.get(1).copied().unwrap_or(b'?');
    let first_ok = match format {
        MrzFormat::Td3 => first == b'P',
        MrzFormat::Td1 | MrzFormat::Td2 => matches!(first, b'I' | b'A' | b'C' | b'P'),
        MrzFormat::MrvA | MrzFormat::MrvB => first == b'V',
    };
    first_ok && (second.is_ascii_alphanumeric() || second == b'<')
}

/// Check the document code's grammar and the issuing state and nationality against the ICAO
/// list (see [`codes`]). An unlisted code one OCR confusion away from exactly one listed code is
/// repaired (recorded as a [`RepairReason::CodeList`] repair), unless the recogniser read the
/// character to change with high confidence; otherwise it is reported as unknown.
fn check_codes(
    format: MrzFormat,
    lines: &mut Lines,
    opts: &MrzOptions,
    reps: &mut Vec<Repair>,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    if let Some(span) = span_of(format, FieldId::DocumentCode) {
        let text = field_bytes(lines, &span);
        let ok = document_code_fits(format, &text);
        out.push(CheckResult {
            name: CheckName::DocumentCode,
            expected: None,
            found: String::from_utf8_lossy(&text).into_owned(),
            ok,
            detail: (!ok).then(|| format!("not a {} document code", format.as_str())),
        });
    }
    for (id, name, role) in [
        (
            FieldId::IssuingState,
            CheckName::IssuingState,
            CodeRole::Issuer,
        ),
        (
            FieldId::Nationality,
            CheckName::Nationality,
            CodeRole::Nationality,
        ),
    ] {
        let Some(span) = span_of(format, id) else {
            continue;
        };
        let read = field_bytes(lines, &span);
        let found = String::from_utf8_lossy(&read).into_owned();
        if codes::is_listed(&read, role) {
            let specimen = codes::class_of(&read) == Some(CodeClass::Specimen);
            out.push(CheckResult {
                name,
                expected: Some(found.clone()),
                found,
                ok: true,
                detail: specimen.then(|| "specimen code".to_string()),
            });
            continue;
        }
        let conf_at = |k: usize| {
            lines
                .get(span.line)
                .and_then(|l| l.get(span.start + k))
                .and_then(|c| c.conf)
        };
        // Candidates whose changed character the recogniser was not sure of.
        let mut cands: Vec<(usize, u8, f32)> = codes::one_confusion_away(&read, role)
            .into_iter()
            .map(|(k, to)| (k, to, conf_at(k).unwrap_or(f32::NAN)))
            .filter(|&(_, _, c)| c.is_nan() || c < opts.code_repair_max_confidence)
            .collect();
        // Several candidates: the one on a clearly less certain character, if any.
        if cands.len() > 1 {
            cands.sort_by(|a, b| a.2.total_cmp(&b.2));
            let clear = !cands[0].2.is_nan()
                && cands[1..]
                    .iter()
                    .all(|c| !c.2.is_nan() && cands[0].2 + 0.15 < c.2);
            if clear {
                cands.truncate(1);
            }
        }
        match cands.as_slice() {
            [(k, to, _)] => {
                substitute(
                    lines,
                    span.line,
                    span.start + k,
                    *to,
                    RepairReason::CodeList,
                    reps,
                );
                let fixed = field_bytes(lines, &span);
                out.push(CheckResult {
                    name,
                    expected: Some(String::from_utf8_lossy(&fixed).into_owned()),
                    found,
                    ok: true,
                    detail: Some("repaired".to_string()),
                });
            }
            _ => {
                let detail = if cands.is_empty() {
                    "unknown code".to_string()
                } else {
                    let near: Vec<String> = cands
                        .iter()
                        .map(|&(k, to, _)| {
                            let mut alt = read.clone();
                            alt[k] = to;
                            String::from_utf8_lossy(&alt).into_owned()
                        })
                        .collect();
                    format!("unknown code (one misread from {})", near.join(", "))
                };
                out.push(CheckResult {
                    name,
                    expected: None,
                    found,
                    ok: false,
                    detail: Some(detail),
                });
            }
        }
    }
    out
}

fn field_bytes(lines: &Lines, span: &Span) -> Vec<u8> {
    lines
        .get(span.line)
        .and_then(|l| l.get(span.start..span.start + span.len))
        .map(|cells| cells.iter().map(|c| c.ch).collect())
        .unwrap_or_default()
}

/// How many fields break the layout's structure: a country code that does not start with a
/// letter or holds a digit, a sex cell other than M/F/X/<, a date that names no day, a
/// document code that does not start with a letter. Misaligned length repairs show up here.
fn structural_faults(format: MrzFormat, b: &[Vec<u8>]) -> usize {
    spans(format)
        .iter()
        .filter(|s| {
            let Some(text) = b.get(s.line).and_then(|l| l.get(s.start..s.start + s.len)) else {
                return true;
            };
            match s.id {
                FieldId::IssuingState | FieldId::Nationality => {
                    !text.first().is_some_and(u8::is_ascii_uppercase)
                        || !text.iter().all(|c| c.is_ascii_uppercase() || *c == b'<')
                }
                FieldId::DocumentCode => !text.first().is_some_and(u8::is_ascii_uppercase),
                FieldId::Sex => !matches!(text.first(), Some(b'M' | b'F' | b'X' | b'<')),
                FieldId::BirthDate | FieldId::ExpiryDate => !plausible_date(text),
                FieldId::Names => text.first() == Some(&b'<'),
                _ => false,
            }
        })
        .count()
}

/// The result of running the pipeline on one window in one layout.
struct Attempt {
    lines: Lines,
    repairs: Vec<Repair>,
    checks: Vec<CheckResult>,
    score: i64,
}

fn run_pipeline(
    format: MrzFormat,
    mut lines: Lines,
    mut repairs: Vec<Repair>,
    opts: &MrzOptions,
) -> Attempt {
    apply_field_rules(format, &mut lines, opts, &mut repairs);
    let names: Vec<CheckName> = check_specs(format, &bytes(&lines))
        .iter()
        .map(|s| s.name)
        .collect();
    for name in names.iter().filter(|n| **n != CheckName::Composite) {
        repair_check(format, &mut lines, *name, opts, &mut repairs);
    }
    if names.contains(&CheckName::Composite) {
        repair_check(format, &mut lines, CheckName::Composite, opts, &mut repairs);
    }
    let code_checks = check_codes(format, &mut lines, opts, &mut repairs);
    let b = bytes(&lines);
    let mut checks: Vec<CheckResult> = check_specs(format, &b)
        .iter()
        .map(|s| evaluate(s, &b))
        .collect();
    checks.extend(code_checks);
    let mut score: i64 = checks.iter().map(|c| if c.ok { 10 } else { -10 }).sum();
    score -= repairs.len() as i64;
    score -= 2 * repairs
        .iter()
        .filter(|r| matches!(r.reason, RepairReason::LengthPad | RepairReason::LengthTrim))
        .count() as i64;
    let code = b.first().and_then(|l| l.first()).copied().unwrap_or(b'?');
    let code_ok = match format {
        MrzFormat::Td3 => code == b'P',
        MrzFormat::Td1 | MrzFormat::Td2 => matches!(code, b'I' | b'A' | b'C' | b'P'),
        MrzFormat::MrvA | MrzFormat::MrvB => code == b'V',
    };
    if code_ok {
        score += 5;
    }
    score -= 30 * structural_faults(format, &b) as i64;
    Attempt {
        lines,
        repairs,
        checks,
        score,
    }
}

/// Run one layout on one window of normalised lines, trying length repairs.
fn attempt(format: MrzFormat, window: &[Vec<Cell>], opts: &MrzOptions) -> Option<Attempt> {
    if window.len() != format.line_count() {
        return None;
    }
    let mut per_line: Vec<Vec<Variant>> = Vec::new();
    for (li, l) in window.iter().enumerate() {
        let mut vars = length_variants(l, format.line_len());
        if vars.is_empty() {
            return None;
        }
        for (_, reps) in &mut vars {
            for r in reps.iter_mut() {
                r.line = li;
            }
        }
        per_line.push(vars);
    }
    // Cartesian product of the per-line variants, capped.
    let mut combos: Vec<(Lines, Vec<Repair>)> = vec![(Vec::new(), Vec::new())];
    for vars in &per_line {
        let mut next = Vec::new();
        for (lines, reps) in &combos {
            for (cells, r) in vars {
                if next.len() >= MAX_LENGTH_COMBOS {
                    break;
                }
                let mut l2 = lines.clone();
                l2.push(cells.clone());
                let mut r2 = reps.clone();
                r2.extend(r.iter().cloned());
                next.push((l2, r2));
            }
        }
        combos = next;
    }
    combos
        .into_iter()
        .map(|(lines, reps)| run_pipeline(format, lines, reps, opts))
        .reduce(|best, a| if a.score > best.score { a } else { best })
}

fn layout_fits(format: MrzFormat, window: &[Vec<Cell>]) -> bool {
    let visa = window
        .first()
        .and_then(|l| l.first())
        .is_some_and(|c| c.ch == b'V');
    visa == format.is_visa()
        && window.len() == format.line_count()
        && window
            .iter()
            .all(|l| l.len().abs_diff(format.line_len()) <= MAX_LENGTH_DIFF)
}

pub(super) fn read(
    candidates: &[CandidateLine],
    opts: &MrzOptions,
) -> Result<MrzReading, MrzError> {
    // (candidate index, cells) of every MRZ-like line, in reading order.
    let mut mrz_like: Vec<(usize, Vec<Cell>)> = Vec::new();
    for (i, n) in candidates.iter().map(normalise).enumerate() {
        let len = n.cells.len();
        let alnum = n.cells.iter().filter(|c| c.ch != b'<').count();
        if alnum < 2 || n.dropped * 5 > len {
            continue;
        }
        if (30 - MAX_LENGTH_DIFF..=44 + MAX_LENGTH_DIFF).contains(&len) {
            mrz_like.push((i, n.cells));
            continue;
        }
        // A zone the OCR merged into one long line: split it at each fitting layout's width.
        for (count, width) in [(2usize, 44usize), (2, 36), (3, 30)] {
            if len.abs_diff(count * width) <= MAX_LENGTH_DIFF {
                for k in 0..count {
                    let start = k * width;
                    let end = if k + 1 == count { len } else { start + width };
                    if let Some(part) = n.cells.get(start..end) {
                        mrz_like.push((i, part.to_vec()));
                    }
                }
            }
        }
    }
    if mrz_like.is_empty() {
        return Err(MrzError::NoMrzLines(candidates.len()));
    }
    let mut best: Option<(Attempt, MrzFormat, Vec<usize>)> = None;
    for format in MrzFormat::ALL {
        let k = format.line_count();
        if mrz_like.len() < k {
            continue;
        }
        for start in 0..=mrz_like.len() - k {
            let win: Vec<Vec<Cell>> = mrz_like[start..start + k]
                .iter()
                .map(|(_, cells)| cells.clone())
                .collect();
            if !layout_fits(format, &win) {
                continue;
            }
            if let Some(a) = attempt(format, &win, opts) {
                let idx: Vec<usize> = mrz_like[start..start + k].iter().map(|(i, _)| *i).collect();
                if best.as_ref().is_none_or(|(b, _, _)| a.score > b.score) {
                    best = Some((a, format, idx));
                }
            }
        }
    }
    match best {
        Some((a, format, mut idx)) => {
            idx.dedup();
            let raw = idx
                .iter()
                .filter_map(|&i| candidates.get(i))
                .map(|c| c.text.clone())
                .collect();
            Ok(build(format, raw, a, opts))
        }
        None => Err(MrzError::NoLayoutFits(
            mrz_like.iter().map(|(_, cells)| cells.len()).collect(),
        )),
    }
}

pub(super) fn read_as(
    format: MrzFormat,
    candidates: &[CandidateLine],
    opts: &MrzOptions,
) -> Result<MrzReading, MrzError> {
    let win: Vec<Vec<Cell>> = candidates.iter().map(|c| normalise(c).cells).collect();
    if candidates.is_empty() {
        return Err(MrzError::NoMrzLines(0));
    }
    attempt(format, &win, opts)
        .map(|a| {
            build(
                format,
                candidates.iter().map(|c| c.text.clone()).collect(),
                a,
                opts,
            )
        })
        .ok_or_else(|| MrzError::NoLayoutFits(win.iter().map(Vec::len).collect()))
}

// ---------------------------------------------------------------- building the reading

fn slice_text(b: &[Vec<u8>], line: usize, start: usize, end: usize) -> String {
    b.get(line)
        .and_then(|l| l.get(start.min(end)..end.min(l.len())))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default()
}

fn min_conf(lines: &Lines, line: usize, start: usize, end: usize) -> Option<f32> {
    lines
        .get(line)
        .and_then(|l| l.get(start.min(end)..end.min(l.len())))
        .and_then(|cells| cells.iter().filter_map(|c| c.conf).reduce(f32::min))
}

fn trim_fillers(s: &str) -> String {
    s.trim_matches('<').to_string()
}

fn name_part(s: &str) -> String {
    s.split('<')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Settle the name field by its grammar (see [`names`]): misread fillers after the name's end
/// become fillers again, recorded as repairs. Returns the field as read before, with its
/// confidences, and the name's confidence.
fn settle_names(format: MrzFormat, a: &mut Attempt, opts: &MrzOptions) -> (NameRead, f32) {
    let Some(span) = span_of(format, FieldId::Names) else {
        return (NameRead::default(), 1.0);
    };
    let Some(line) = a.lines.get_mut(span.line) else {
        return (NameRead::default(), 0.0);
    };
    let end = (span.start + span.len).min(line.len());
    let cells = &line[span.start.min(end)..end];
    let text: Vec<u8> = cells.iter().map(|c| c.ch).collect();
    let confs: Vec<Option<f32>> = cells.iter().map(|c| c.conf).collect();
    let settled = names::settle(&text, &confs, opts.low_confidence);
    for &k in &settled.changed {
        let cell = &mut line[span.start + k];
        a.repairs.push(Repair {
            line: span.line,
            position: span.start + k,
            from: Some(char::from(cell.ch)),
            to: Some('<'),
            reason: RepairReason::NameGrammar,
        });
        cell.ch = b'<';
    }
    let read = NameRead {
        line: span.line,
        start: span.start,
        text: String::from_utf8_lossy(&text).into_owned(),
        confidences: confs,
    };
    (read, settled.confidence)
}

fn build(format: MrzFormat, raw: Vec<String>, a: Attempt, opts: &MrzOptions) -> MrzReading {
    let mut a = a;
    let (name_read, name_confidence) = settle_names(format, &mut a, opts);
    let b = bytes(&a.lines);
    let check_of = |n: CheckName| a.checks.iter().find(|c| c.name == n).map(|c| c.ok);
    let field =
        |id: FieldId, valid: Option<bool>, value: &dyn Fn(&str) -> String| -> Option<MrzField> {
            let s = span_of(format, id)?;
            let raw = slice_text(&b, s.line, s.start, s.start + s.len);
            Some(MrzField {
                value: value(&raw),
                raw,
                valid,
                confidence: min_conf(&a.lines, s.line, s.start, s.start + s.len),
            })
        };
    let empty = || MrzField {
        value: String::new(),
        raw: String::new(),
        valid: None,
        confidence: None,
    };
    let date = |id: FieldId, check: CheckName, role: DateRole| -> MrzDateField {
        match span_of(format, id) {
            Some(s) => {
                let raw = slice_text(&b, s.line, s.start, s.start + s.len);
                MrzDateField {
                    value: resolve_yymmdd(&raw, role, opts.today).map(|d: IsoDate| d.to_string()),
                    raw,
                    valid: check_of(check),
                    confidence: min_conf(&a.lines, s.line, s.start, s.start + s.len),
                }
            }
            None => MrzDateField {
                value: None,
                raw: String::new(),
                valid: None,
                confidence: None,
            },
        }
    };

    // Document number, joined with its overflow when long.
    let long = long_number_check_index(format, &b);
    let mut document_number = field(
        FieldId::DocumentNumber,
        check_of(CheckName::DocumentNumber),
        &trim_fillers,
    )
    .unwrap_or_else(empty);
    let mut optional_data1 = field(FieldId::OptionalData1, None, &trim_fillers);
    if let (Some(ci), Some(opt)) = (long, span_of(format, FieldId::OptionalData1)) {
        let extra = slice_text(&b, opt.line, opt.start, ci);
        document_number.value = format!("{}{}", trim_fillers(&document_number.raw), extra);
        document_number.raw = format!("{}{}", document_number.raw, extra);
        if let Some(o) = optional_data1.as_mut() {
            o.value = trim_fillers(&slice_text(&b, opt.line, ci + 1, opt.start + opt.len));
        }
    }

    let names_raw = span_of(format, FieldId::Names)
        .map(|s| slice_text(&b, s.line, s.start, s.start + s.len))
        .unwrap_or_default();
    let names_span = span_of(format, FieldId::Names);
    let names_conf = names_span.and_then(|s| min_conf(&a.lines, s.line, s.start, s.start + s.len));
    let trimmed = names_raw.trim_end_matches('<');
    let (primary, secondary) = match trimmed.split_once("<<") {
        Some((p, s)) => (name_part(p), name_part(s)),
        None => (name_part(trimmed), String::new()),
    };
    let (p_raw, s_raw) = match names_raw.split_once("<<") {
        Some((p, s)) => (p.to_string(), s.to_string()),
        None => (names_raw.clone(), String::new()),
    };

    let fields = MrzFields {
        document_code: field(FieldId::DocumentCode, None, &trim_fillers).unwrap_or_else(empty),
        issuing_state: field(FieldId::IssuingState, None, &trim_fillers).unwrap_or_else(empty),
        document_number,
        personal_number: field(
            FieldId::PersonalNumber,
            check_of(CheckName::PersonalNumber),
            &trim_fillers,
        ),
        optional_data1,
        optional_data2: field(FieldId::OptionalData2, None, &trim_fillers),
        birth_date: date(FieldId::BirthDate, CheckName::BirthDate, DateRole::Birth),
        sex: field(FieldId::Sex, None, &|s: &str| s.replace('<', "")).unwrap_or_else(empty),
        expiry_date: date(
            FieldId::ExpiryDate,
            CheckName::ExpiryDate,
            DateRole::Expiry {
                max_years_ahead: opts.max_expiry_years_ahead,
            },
        ),
        nationality: field(FieldId::Nationality, None, &trim_fillers).unwrap_or_else(empty),
        primary_identifier: MrzField {
            value: primary,
            raw: p_raw,
            valid: None,
            confidence: names_conf,
        },
        secondary_identifier: MrzField {
            value: secondary,
            raw: s_raw,
            valid: None,
            confidence: names_conf,
        },
    };
    let failed_checks: Vec<CheckName> = a.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    MrzReading {
        raw,
        corrected: b
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect(),
        format,
        fields,
        valid: !a.checks.is_empty() && failed_checks.is_empty(),
        failed_checks,
        checks: a.checks,
        repairs: a.repairs,
        name_confidence,
        name_uncertain: name_confidence < names::NAME_UNCERTAIN_BELOW,
        name_read,
    }
}

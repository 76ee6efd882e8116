//! Folding names as people read them: service/discretion/engine/names.py in Rust,
//! with `scheme_key` of engine/compiled.py, which folds a label scheme's name.
//!
//! `fold_char` is not computed here but read from a table: Python's folding
//! goes through `unicodedata` and `str` methods of Python's Unicode version,
//! so native/generate_unicode.py asks Python for every code point and writes
//! the answers to unicode/tables.rs (pinned: the Unicode version Python's
//! unicodedata reports, `tables::UNICODE_VERSION`). For the same reason
//! every character predicate the engine needs (`str.isspace`, `isalnum`,
//! `isupper`, …, the `\s` and `\w` of Python's `re`, general categories,
//! NFKC, `lower`, `casefold`) is read from that table, never from Rust's own
//! Unicode data, which is of another version.

#[path = "unicode/tables.rs"]
mod tables;

pub use tables::UNICODE_VERSION;
use tables::Mapping;

/// What `fold_char` returns for an invisible character: nothing, but a place
/// where a word may end (identify treats it as a possible word boundary).
pub const INVISIBLE: char = '\0';

// --- characters as Python's `str` reads them ------------------------------------------------------

fn props(ch: char) -> u32 {
    let code = ch as u32;
    // The last run that begins at or before the character: runs begin at 0, so there is one.
    let at = tables::PROPS.partition_point(|&(first, _)| first <= code);
    tables::PROPS.get(at.wrapping_sub(1)).map_or(0, |&(_, value)| value)
}

/// `unicodedata.category`.
pub fn category(ch: char) -> &'static str {
    tables::CATEGORIES.get((props(ch) & 0x1F) as usize).copied().unwrap_or("Cn")
}

/// `str.isspace` of one character, and the `\s` of Python's `re`.
pub fn is_space(ch: char) -> bool {
    props(ch) & tables::SPACE != 0
}

/// `str.isalnum` of one character; the `\w` of Python's `re` is this or `_`.
pub fn is_alnum(ch: char) -> bool {
    props(ch) & tables::ALNUM != 0
}

/// `str.isalpha` of one character.
pub fn is_alpha(ch: char) -> bool {
    props(ch) & tables::ALPHA != 0
}

/// `str.isupper` of one character.
pub fn is_upper(ch: char) -> bool {
    props(ch) & tables::UPPER != 0
}

/// `str.islower` of one character.
pub fn is_lower(ch: char) -> bool {
    props(ch) & tables::LOWER != 0
}

/// `str.isupper` of a string: no lower case or titlecase letter, and a capital.
pub fn str_is_upper(text: &str) -> bool {
    let mut cased = false;
    for ch in text.chars() {
        let found = props(ch);
        if found & (tables::LOWER | tables::TITLE) != 0 {
            return false;
        }
        cased |= found & tables::UPPER != 0;
    }
    cased
}

/// `str.split()`: the words between runs of white space.
pub fn split_whitespace(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_space).filter(|word| !word.is_empty())
}

/// `str.strip()`: without the white space at either end.
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_space)
}

fn mapped(table: &'static Mapping, ch: char) -> Option<impl Iterator<Item = char>> {
    let at = table.keys.binary_search(&(ch as u32)).ok()?;
    let begin = if at == 0 { 0 } else { *table.ends.get(at - 1)? as usize };
    let end = *table.ends.get(at)? as usize;
    Some(table.data.get(begin..end).unwrap_or(&[]).iter().filter_map(|&code| char::from_u32(code)))
}

/// `str.casefold`.
pub fn casefold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match mapped(&tables::CASEFOLD, ch) {
            Some(folded) => out.extend(folded),
            None => out.push(ch),
        }
    }
    out
}

/// `str.lower`, with its final sigma: a capital sigma ending a word (a cased
/// letter before it, none after, case-ignorable characters between) is `ς`.
pub fn lower(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (at, &ch) in chars.iter().enumerate() {
        if ch == '\u{3a3}' {
            out.push(if final_sigma(&chars, at) { '\u{3c2}' } else { '\u{3c3}' });
            continue;
        }
        match mapped(&tables::LOWERCASE, ch) {
            Some(lowered) => out.extend(lowered),
            None => out.push(ch),
        }
    }
    out
}

/// CPython's handle_capital_sigma: `\p{cased}\p{case-ignorable}*Σ!(\p{case-ignorable}*\p{cased})`.
fn final_sigma(chars: &[char], at: usize) -> bool {
    let stop = |ch: &&char| props(**ch) & tables::CASE_IGNORABLE == 0;
    let cased = |ch: &char| props(*ch) & tables::CASED != 0;
    let before = chars[..at].iter().rev().find(stop);
    if !before.is_some_and(cased) {
        return false;
    }
    !chars[at + 1..].iter().find(stop).is_some_and(cased)
}

// --- NFKC, as Python's unicodedata computes it ----------------------------------------------------

const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const L_COUNT: u32 = 19;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const S_COUNT: u32 = L_COUNT * V_COUNT * T_COUNT;

fn combining(ch: char) -> u8 {
    let code = ch as u32;
    let at = tables::CCC.partition_point(|&(first, _)| first <= code);
    tables::CCC.get(at.wrapping_sub(1)).map_or(0, |&(_, class)| class)
}

fn nfkd(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        let index = (ch as u32).wrapping_sub(S_BASE);
        if index < S_COUNT {
            let (l, v, t) = (index / (V_COUNT * T_COUNT), index % (V_COUNT * T_COUNT) / T_COUNT, index % T_COUNT);
            out.extend([L_BASE + l, V_BASE + v].into_iter().filter_map(char::from_u32));
            if t != 0 {
                out.extend(char::from_u32(T_BASE + t));
            }
        } else if let Some(decomposed) = mapped(&tables::NFKD, ch) {
            out.extend(decomposed);
        } else {
            out.push(ch);
        }
    }
    // Canonical order: marks between two starters sorted by class, stably (CPython sorts by insertion).
    let mut start = 0;
    while start < out.len() {
        let mut end = start;
        while end < out.len() && combining(out[end]) != 0 {
            end += 1;
        }
        out[start..end].sort_by_key(|&ch| combining(ch));
        start = end + 1;
    }
    out
}

fn composed(first: char, second: char) -> Option<char> {
    let key = (first as u32, second as u32);
    let at = tables::COMPOSE.binary_search_by_key(&key, |&(a, b, _)| (a, b)).ok()?;
    tables::COMPOSE.get(at).and_then(|&(_, _, composite)| char::from_u32(composite))
}

fn composes_first(ch: char) -> bool {
    let code = ch as u32;
    let at = tables::COMPOSE.partition_point(|&(first, _, _)| first < code);
    tables::COMPOSE.get(at).is_some_and(|&(first, _, _)| first == code)
}

fn composes_second(ch: char) -> bool {
    use std::sync::OnceLock;
    static SECONDS: OnceLock<Vec<u32>> = OnceLock::new();
    let seconds = SECONDS.get_or_init(|| {
        let mut found: Vec<u32> = tables::COMPOSE.iter().map(|&(_, second, _)| second).collect();
        found.sort_unstable();
        found.dedup();
        found
    });
    seconds.binary_search(&(ch as u32)).is_ok()
}

/// `unicodedata.normalize("NFKC", text)`: CPython's nfc_nfkc over its nfd_nfkd, step for step
/// (a Hangul leading consonant and vowel compose, with a trailing consonant if one follows; any
/// other character composes with each unblocked character after it, as long as it can).
pub fn nfkc(text: &str) -> String {
    let input = nfkd(text);
    let mut output: Vec<char> = Vec::with_capacity(input.len());
    let mut skipped: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < input.len() {
        if skipped.contains(&i) {
            skipped.retain(|&at| at != i);
            i += 1;
            continue;
        }
        let code = input[i] as u32;
        let next = input.get(i + 1).map(|&ch| ch as u32);
        if (L_BASE..L_BASE + L_COUNT).contains(&code) && next.is_some_and(|v| (V_BASE..V_BASE + V_COUNT).contains(&v)) {
            let mut syllable = S_BASE + ((code - L_BASE) * V_COUNT + (next.unwrap_or(V_BASE) - V_BASE)) * T_COUNT;
            i += 2;
            if let Some(&trailing) = input.get(i) {
                let t = trailing as u32;
                if T_BASE < t && t < T_BASE + T_COUNT {
                    syllable += t - T_BASE;
                    i += 1;
                }
            }
            output.extend(char::from_u32(syllable));
            continue;
        }
        output.push(input[i]);
        if !composes_first(input[i]) {
            i += 1;
            continue;
        }
        let mut comb = 0u8;
        let mut i1 = i + 1;
        while i1 < input.len() {
            let code1 = input[i1];
            let comb1 = combining(code1);
            if comb != 0 {
                if comb1 == 0 {
                    break;
                }
                if comb >= comb1 {
                    i1 += 1;
                    continue; // blocked
                }
            }
            let base = output.len() - 1;
            match composes_second(code1).then(|| composed(output[base], code1)).flatten() {
                Some(composite) => {
                    output[base] = composite;
                    skipped.push(i1);
                    i1 += 1;
                    if !composes_first(composite) {
                        break;
                    }
                }
                None => {
                    if comb1 == 0 {
                        break;
                    }
                    comb = comb1;
                    i1 += 1;
                }
            }
        }
        i += 1;
    }
    output.into_iter().collect()
}

// --- the fold -------------------------------------------------------------------------------------

/// One character's fold without allocating: what `fold_char` returns, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folding {
    /// White space: " ".
    Space,
    /// Nothing, but a place where a word may end: INVISIBLE.
    Invisible,
    /// A mark: "" (part of the letter before it).
    Nothing,
    /// The character itself.
    Itself,
    /// Other letters, or symbols (a table's entry).
    Letters(&'static [u32]),
}

pub fn folding(ch: char) -> Folding {
    match props(ch) >> tables::FOLD_SHIFT {
        tables::FOLD_INVISIBLE => Folding::Invisible,
        tables::FOLD_SPACE => Folding::Space,
        tables::FOLD_NOTHING => Folding::Nothing,
        _ => {
            let Ok(at) = tables::FOLD.keys.binary_search(&(ch as u32)) else {
                return Folding::Itself;
            };
            let begin = if at == 0 { 0 } else { tables::FOLD.ends.get(at - 1).copied().unwrap_or(0) as usize };
            let end = tables::FOLD.ends.get(at).copied().unwrap_or(0) as usize;
            Folding::Letters(tables::FOLD.data.get(begin..end).unwrap_or(&[]))
        }
    }
}

/// Appends `fold_char(ch)` to `out`.
pub fn push_fold(out: &mut String, ch: char) {
    match folding(ch) {
        Folding::Space => out.push(' '),
        Folding::Invisible => out.push(INVISIBLE),
        Folding::Nothing => {}
        Folding::Itself => out.push(ch),
        Folding::Letters(letters) => out.extend(letters.iter().filter_map(|&code| char::from_u32(code))),
    }
}

/// One character as a reader takes it: " " for white space, INVISIBLE, or its folded letters ("" for an accent).
pub fn fold_char(ch: char) -> String {
    let mut out = String::new();
    push_fold(&mut out, ch);
    out
}

/// `Open discussion`, `open  DISCUSSION`, `ｏpen\u200bdiscussion` and `ópen discussion` fold alike; "" if nothing is left.
///
/// Only letters and digits count: spaces, punctuation and marks do not.
pub fn fold(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for ch in name.chars() {
        push_fold(&mut folded, ch);
    }
    folded.retain(is_alnum);
    folded
}

/// A label scheme's name as it is looked up (compiled.py): compatibility forms folded,
/// invisible characters and blanks gone, no case.
///
/// ` TLP`, `ｔｌｐ` and `t\u200blp` all name `tlp`: each is unambiguous. A look-alike from
/// another script (`tlр`, Cyrillic) stays itself and names no scheme.
pub fn scheme_key(name: &str) -> String {
    if name.is_ascii() {
        return split_whitespace(name).collect::<String>().to_ascii_lowercase();
    }
    let folded: String = nfkc(name)
        .chars()
        .filter(|&ch| !is_space(ch) && !matches!(category(ch), "Cf" | "Cc"))
        .collect();
    lower(&folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_as_the_python_docstring_says() {
        for name in ["Open discussion", "open  DISCUSSION", "ｏpen\u{200b}discussion", "ópen discussion"] {
            assert_eq!(fold(name), "opendiscussion", "{name}");
        }
        assert_eq!(fold_char('m'), "rn");
        assert_eq!(fold_char('\u{200b}'), "\0");
        assert_eq!(fold_char('\u{301}'), "");
        assert_eq!(fold_char('\t'), " ");
    }

    #[test]
    fn scheme_keys_fold_compatibility_forms_blanks_and_case() {
        assert_eq!(scheme_key(" TLP"), "tlp");
        assert_eq!(scheme_key("ｔｌｐ"), "tlp");
        assert_eq!(scheme_key("t\u{200b}lp"), "tlp");
        assert_eq!(scheme_key("tlр"), "tlр");
        assert_eq!(scheme_key("ΟΔΟΣ"), "οδος");
        assert_eq!(scheme_key("e\u{301}"), "é");
        assert_eq!(scheme_key("\u{1100}\u{1161}\u{11a8}"), "각");
    }

    #[test]
    fn reads_characters_as_python_does() {
        assert!(is_space('\u{1c}') && is_space('\u{85}') && !is_space('\u{200b}'));
        assert!(str_is_upper("OKAFOR") && !str_is_upper("Okafor") && !str_is_upper("123"));
        assert_eq!(category('a'), "Ll");
        assert_eq!(casefold("ß"), "ss");
        assert_eq!(lower("İ"), "i\u{307}");
    }
}

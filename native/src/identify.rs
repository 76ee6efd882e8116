//! Finding text that identifies a participant: service/discretion/engine/identify.py
//! (and names.py, the folding of characters) in Rust, with the same spans to the letter.
//!
//! Every participant's terms are searched in one pass of an Aho-Corasick automaton
//! over a folded copy of the text (`names::fold_char`); the folded text keeps a map
//! back to the original code points and spans are reported in the original text.
//! Terms and text are marked at every place a word may begin or end (`marked`), so
//! the automaton finds whole words only (anywhere in scripts written without
//! spaces); a text with an invisible character inside a word is searched without
//! marks (`unmarked_matches`). Past `MAX_MATCHES_PER_CHAR` matches per character
//! the whole text is one match, the restrictive reading.
//!
//! Where Rust differs from the Python: positions are indices into `Vec<char>`
//! (Python's code point indices); the automaton runs over UTF-8 bytes, and each
//! match's end is mapped back to a code point. Built automata are kept by the
//! roster's exact content, per caller (`Automata`), so a group's roster is
//! folded and built once rather than on every call. Python's cache may reuse a
//! recent large roster's automaton inside a larger one (`_MatcherCache`), which
//! splits the per-automaton match cap and the build bound in two; this engine
//! always builds one automaton, the reading Python gives a fresh roster. Past the
//! caller's deadline (`deadline::passed`) a search stops and its text counts as
//! naming throughout, a build stops and its roster is too large to search.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::rc::Rc;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use daachorse::{CharwiseDoubleArrayAhoCorasick, CharwiseDoubleArrayAhoCorasickBuilder, MatchKind};

use crate::deadline;
use crate::model::{Person, Span};
use crate::names::{self, casefold, category, is_alnum, is_alpha, is_space, is_upper, Folding, INVISIBLE};
use crate::roster::Roster;

/// What a span reveals, by rank: a tie on one span reports the first.
pub const REVEALS: [&str; 3] = ["name", "handle", "organization"];
const NAME: usize = 0;
const HANDLE: usize = 1;
const ORGANIZATION: usize = 2;

// --- the judgement calls --------------------------------------------------------------------------

/// A name part or short form written in lower case ("will" for Will Ortega).
pub const LOWER: u32 = 1;
/// A name part shorter than three letters ("Li"), or one character of an unspaced script.
pub const SHORT: u32 = 2;
/// A part of a name before its last part ("Sam" for Sam Okafor).
pub const FIRST: u32 = 4;
/// An organization without its suffix ("Northwind" for "Northwind Bank").
pub const ORG_SHORT: u32 = 8;
/// Not a need: the term needs LOWER where the text writes it in lower case.
const CASED: u32 = 16;

/// The agreement's judgement calls (`redact_identifying_content` parameters), each `flag` or `ignore`.
pub const JUDGEMENTS: [(&str, u32); 4] = [
    ("lowercase_names", LOWER),
    ("first_names", FIRST),
    ("short_names", SHORT),
    ("organization_short_forms", ORG_SHORT),
];
pub const FLAG: &str = "flag";
pub const IGNORE: &str = "ignore";
/// The safe default: every term counts.
pub const FLAG_ALL: u32 = LOWER | SHORT | FIRST | ORG_SHORT;

/// A call `judgement` does not know (Python's KeyError).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownJudgement(pub String);

/// The terms an agreement counts, from its calls (`("first_names", "ignore")`); unnamed calls flag.
pub fn judgement(calls: &[(&str, &str)]) -> Result<u32, UnknownJudgement> {
    let mut allowed = FLAG_ALL;
    for &(name, value) in calls {
        if value == IGNORE {
            let Some(&(_, flag)) = JUDGEMENTS.iter().find(|(known, _)| *known == name) else {
                return Err(UnknownJudgement(name.to_string()));
            };
            allowed &= !flag;
        }
    }
    Ok(allowed)
}

// Trailing words an organization is often named without. Compared folded, without their dots.
const ORG_SUFFIXES: &str = "
    inc incorporated corp corporation co company cos ltd limited llc llp lp plc gmbh ag kg sa sas sarl
    spa srl bv nv ab as asa oy oyj kk pty pte se na ev ou sl ltda aps a/s ggmbh kgaa doo sro kft zrt
    pllc pc pvt private sdn bhd publ jsc pjsc ooo sp z oo aktiengesellschaft limitada cia cv de tbk sons
    group holdings holding bank labs lab partners trust foundation institute university association
    council agency fund capital ventures systems technologies solutions services international global
    & and
";
const ORG_PREFIXES: [&str; 1] = ["the"];

// --- scripts written without spaces ---------------------------------------------------------------

/// Chinese, Japanese and Korean ideographs, kana and Hangul, Thai, Lao, Khmer, Myanmar: a
/// name in these is matched anywhere, since no space marks where a word ends.
const UNSPACED_RANGES: [(u32, u32); 19] = [
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x19E0, 0x19FF),
    (0x2E80, 0x2FDF),
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3031, 0x3035),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA9E0, 0xA9FF),
    (0xAA60, 0xAA7F),
    (0xF900, 0xFAFF),
    // Hangul: Korean spaces its words, but particles join a name ("김민준이").
    (0x1100, 0x11FF),
    (0x3130, 0x318F),
    (0xAC00, 0xD7AF),
    (0x20000, 0x3134F),
];

fn unspaced(ch: char) -> bool {
    let code = ch as u32;
    code >= 0x0E00 && UNSPACED_RANGES.iter().any(|&(low, high)| low <= code && code <= high)
}

// --- folding --------------------------------------------------------------------------------------

/// The way back from folded positions to the original's: for each folded character, the
/// original index of the character it came from, and the end of that character with its
/// trailing accents.
#[derive(Clone, Debug)]
struct Map {
    starts: Vec<usize>,
    stops: Vec<usize>,
}

/// A text folded, and the way back from folded positions to the original's.
struct Folded {
    text: Vec<char>,
    folded: Vec<char>,
    /// Folded positions where an invisible character was dropped, ascending.
    invisible: Vec<usize>,
    /// None inside: folded and original coincide. Unset: built when a span is first asked for
    /// (most texts name nobody, so most never need it).
    map: OnceLock<Option<Map>>,
}

impl Folded {
    fn plain(text: &[char], folded: Vec<char>) -> Folded {
        let map = OnceLock::new();
        let _ = map.set(None);
        Folded { text: text.to_vec(), folded, invisible: Vec::new(), map }
    }

    /// The original code points behind folded[start..end], or None if it cuts through a folded character.
    fn span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let map = self.map.get_or_init(|| map_text(&self.text).map.get().cloned().flatten());
        let Some(Map { starts, stops }) = map else {
            return Some((start, end));
        };
        let at = |i: usize| starts.get(i).copied();
        if (start > 0 && at(start - 1) == at(start)) || (end < starts.len() && at(end) == at(end.checked_sub(1)?)) {
            return None; // half of an "ss" from "ß" is not a word of its own
        }
        Some((at(start)?, *stops.get(end.checked_sub(1)?)?))
    }

    fn is_invisible(&self, at: usize) -> bool {
        self.invisible.binary_search(&at).is_ok()
    }

    /// Whether an invisible character sits between two letters of a word ("Ch<ZWSP>en", "Oka<SHY>for").
    fn invisible_inside_words(&self) -> bool {
        self.invisible.iter().any(|&at| 0 < at && at < self.folded.len() && !self.boundary(at, false))
    }

    /// Whether a word may begin or end at folded position `at` (at an invisible character too, unless told not).
    fn boundary(&self, at: usize, invisible: bool) -> bool {
        if at == 0 || at >= self.folded.len() {
            return true;
        }
        let (before, after) = (self.folded[at - 1], self.folded[at]);
        !is_alnum(before)
            || !is_alnum(after)
            || (invisible && self.is_invisible(at))
            || unspaced(before)
            || unspaced(after)
    }
}

/// A word mark: where a word may begin or end. A control character folds to INVISIBLE, so no folded
/// text holds one; and a low one keeps the automaton's table of characters (as long as the highest
/// character of its keys) small: U+FFFF cost every automaton 256 KiB.
const MARK: char = '\u{1}';

/// Python's `_PIECES` (`[^\W_<unspaced>]+|[<unspaced>]+|.`): the text cut into runs of letters
/// and digits of spaced scripts, runs of unspaced characters, and single other characters.
fn pieces(folded: &[char]) -> Vec<&[char]> {
    let spaced = |ch: char| is_alnum(ch) && !unspaced(ch);
    let mut found = Vec::new();
    let mut at = 0;
    while at < folded.len() {
        let kind: Option<fn(char) -> bool> = if spaced(folded[at]) {
            Some(|ch| is_alnum(ch) && !unspaced(ch))
        } else if unspaced(folded[at]) {
            Some(unspaced)
        } else {
            None
        };
        let mut end = at + 1;
        if let Some(same) = kind {
            while end < folded.len() && same(folded[end]) {
                end += 1;
            }
        }
        found.push(&folded[at..end]);
        at = end;
    }
    found
}

fn marked(folded: &[char]) -> String {
    let mut out = String::with_capacity(folded.len() * 2 + 6);
    out.push(MARK);
    for (index, piece) in pieces(folded).into_iter().enumerate() {
        if index > 0 {
            out.push(MARK);
        }
        out.extend(piece.iter());
    }
    out.push(MARK);
    out
}

/// A term as a key: marked as text is, without a mark at an end that is a character of an unspaced script.
fn marked_key(folded: &[char]) -> String {
    let mut key = marked(folded);
    if folded.last().is_some_and(|&ch| unspaced(ch)) {
        key.pop();
    }
    if folded.first().is_some_and(|&ch| unspaced(ch)) {
        key.remove(0);
    }
    key
}

/// Printable ASCII that folds to one character of its own kind ("A" → "a", "0" → "o"), and the space.
fn ascii_one() -> &'static [Option<char>; 128] {
    static TABLE: OnceLock<[Option<char>; 128]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [None; 128];
        for code in 0x21u8..0x7F {
            let folded: Vec<char> = names::fold_char(code as char).chars().collect();
            if let [one] = folded[..] {
                if one != ' ' && one != INVISIBLE {
                    table[code as usize] = Some(one);
                }
            }
        }
        table[0x20] = Some(' ');
        table
    })
}

fn one_to_one(ch: char) -> Option<char> {
    ascii_one().get(ch as usize).copied().flatten()
}

/// A run of the characters of ascii_one, folded.
fn translate(run: &[char]) -> impl Iterator<Item = char> + '_ {
    run.iter().map(|&ch| one_to_one(ch).unwrap_or(ch))
}

/// Python's `_OTHERS` (`\s\s+|[^<ascii_one>]`) searched from `at`: a run of two or more white
/// space characters, or one character that does not fold one to one.
fn others(text: &[char], from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while at < text.len() {
        if is_space(text[at]) && text.get(at + 1).is_some_and(|&ch| is_space(ch)) {
            let mut end = at + 2;
            while end < text.len() && is_space(text[end]) {
                end += 1;
            }
            return Some((at, end));
        }
        if one_to_one(text[at]).is_none() {
            return Some((at, at + 1));
        }
        at += 1;
    }
    None
}

fn fold_text(text: &[char]) -> Folded {
    if others(text, 0).is_none() {
        // the common case: no map is needed
        return Folded::plain(text, translate(text).collect());
    }
    if text.iter().all(char::is_ascii) && !text.iter().any(|&ch| names::folding(ch) == Folding::Invisible) {
        return Folded { text: text.to_vec(), folded: fold_ascii(text), invisible: Vec::new(), map: OnceLock::new() };
    }
    map_text(text)
}

/// ASCII text that holds nothing invisible, folded as Python's shortcut folds it, without the
/// map back: white space → one space, `M` → `m`, then each longer fold (`m` → `rn`) replaced in turn.
fn fold_ascii(text: &[char]) -> Vec<char> {
    let lazy = |ch: char| {
        if is_space(ch) {
            ' '
        } else if ch == 'M' {
            'm'
        } else {
            one_to_one(ch).unwrap_or(ch)
        }
    };
    let mut folded: String = text.iter().map(|&ch| lazy(ch)).collect();
    for code in 0x21u8..0x7F {
        let plain = code as char;
        if one_to_one(plain).is_none() && plain.to_ascii_lowercase() == plain && folded.contains(plain) {
            folded = folded.replace(plain, &names::fold_char(plain));
        }
    }
    let mut out: Vec<char> = Vec::with_capacity(folded.len());
    for ch in folded.chars() {
        if !(ch == ' ' && out.last() == Some(&' ')) {
            out.push(ch);
        }
    }
    out
}

/// The text folded one character at a time, with the map back to the original.
fn map_text(text: &[char]) -> Folded {
    let Some(mut found) = others(text, 0) else {
        return Folded::plain(text, translate(text).collect());
    };
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    let mut starts: Vec<usize> = Vec::with_capacity(text.len());
    let mut stops: Vec<usize> = Vec::with_capacity(text.len());
    let mut invisible: Vec<usize> = Vec::new();
    let mut last: Option<char> = None; // the last folded character
    let mut at = 0;
    loop {
        let (begin, finish) = found;
        if at < begin && text[at] == ' ' && last == Some(' ') {
            at += 1; // a space after an invisible character after a space: still one space
        }
        if at < begin {
            // a run of ASCII that folds one to one
            out.extend(translate(&text[at..begin]));
            starts.extend(at..begin);
            stops.extend(at + 1..begin + 1);
            last = out.last().copied();
        }
        for index in begin..finish {
            let piece: Vec<char> = match names::folding(text[index]) {
                Folding::Space => {
                    if last == Some(' ') {
                        continue; // a run of white space reads as one space
                    }
                    vec![' ']
                }
                Folding::Invisible => {
                    if invisible.last() != Some(&out.len()) {
                        invisible.push(out.len());
                    }
                    continue;
                }
                Folding::Nothing => {
                    let size = out.len();
                    if last.is_some_and(|ch| ch != ' ') && invisible.binary_search(&size).is_err() {
                        if let Some(stop) = stops.last_mut() {
                            *stop = index + 1; // an accent belongs to the letter before it
                        }
                    }
                    continue;
                }
                Folding::Itself => vec![text[index]],
                Folding::Letters(letters) => letters.iter().filter_map(|&code| char::from_u32(code)).collect(),
            };
            out.extend(&piece);
            starts.extend(std::iter::repeat_n(index, piece.len()));
            stops.extend(std::iter::repeat_n(index + 1, piece.len()));
            last = piece.last().copied().or(last);
        }
        at = finish;
        match others(text, at) {
            Some(next) => found = next,
            None => break,
        }
    }
    if at < text.len() && text[at] == ' ' && last == Some(' ') {
        at += 1;
    }
    if at < text.len() {
        out.extend(translate(&text[at..]));
        starts.extend(at..text.len());
        stops.extend(at + 1..text.len() + 1);
    }
    let map = OnceLock::new();
    let _ = map.set(Some(Map { starts, stops }));
    Folded { text: text.to_vec(), folded: out, invisible, map }
}

/// A term folded exactly as the text is, so the automaton's keys meet the text's characters.
fn fold_term(term: &str) -> String {
    let chars: Vec<char> = term.chars().collect();
    let folded: String = fold_text(&chars).folded.into_iter().collect();
    names::strip(&folded).to_string()
}

// --- the roster -----------------------------------------------------------------------------------

/// id, name, organization, handles, aliases, organization aliases.
type Row = (String, String, String, Vec<String>, Vec<String>, Vec<String>);

const PERSON_SEP: char = '\0';
const LIST_SEP: char = '\u{1}';

/// The roster's rows as Python builds its automaton from them. Python keys its cache by the
/// roster's columns joined (`_Roster`), and builds from the columns split back: a list item
/// holding LIST_SEP reads back as two, and an empty one as none when it is alone (`list_pieces`).
/// A roster with PERSON_SEP in any field is not cached (`keepable`) and is built from the fields
/// as they are.
fn rows(people: &[Person]) -> Vec<Row> {
    let keep = keepable(people);
    let list = |items: &[String]| -> Vec<String> {
        if keep {
            list_pieces(items).map(str::to_string).collect()
        } else {
            items.to_vec()
        }
    };
    people
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.display_name.clone(),
                p.organization.clone(),
                list(&p.handles),
                list(&p.aliases),
                list(&p.organization_aliases),
            )
        })
        .collect()
}

/// Whether Python would cache this roster: no field holds PERSON_SEP.
fn keepable(people: &[Person]) -> bool {
    let holds_sep = |field: &String| field.contains(PERSON_SEP);
    !people.iter().any(|p| {
        holds_sep(&p.id)
            || holds_sep(&p.display_name)
            || holds_sep(&p.organization)
            || p.handles.iter().chain(&p.aliases).chain(&p.organization_aliases).any(holds_sep)
    })
}

/// A list's items joined by LIST_SEP and split back, without joining: the joined text is empty
/// (no items, or one empty item) reads as none.
fn list_pieces(items: &[String]) -> impl Iterator<Item = &str> + Clone {
    let none = matches!(items, [] | [_]) && items.iter().all(String::is_empty);
    items.iter().filter(move |_| !none).flat_map(|item| item.split(LIST_SEP))
}

// --- building the automaton -----------------------------------------------------------------------

/// A term's reading: (rank in REVEALS, needs, ids of the people it names).
type Variant = (usize, u32, Vec<String>);

fn letters(word: &str) -> usize {
    fold_term(word).chars().filter(|&ch| is_alnum(ch)).count()
}

fn is_short(part: &str) -> bool {
    let folded = fold_term(part);
    if !folded.is_empty() && folded.chars().all(unspaced) {
        return folded.chars().count() < 2;
    }
    letters(part) < 3
}

// Words that join a name's parts rather than name anyone ("Anna van der Berg"), when the
// roster writes them in lower case; and titles and generations, which name no one.
const PARTICLES: &[&str] = &[
    "van", "der", "den", "de", "del", "della", "di", "da", "das", "do", "dos", "du", "la", "le", "von", "zu", "ter",
    "ten", "y", "e", "bin", "ibn", "al", "el",
];
const NOT_NAMES: &[&str] = &["jr", "sr", "ii", "iii", "iv", "phd", "dr", "mr", "mrs", "ms", "mx", "prof", "esq"];
// Letters after a name, when the roster writes them in capitals ("Sam Okafor OBE").
const POST_NOMINALS: &[&str] =
    &["OBE", "MBE", "CBE", "KBE", "DBE", "KC", "QC", "FRS", "MP", "JP", "MD", "MSC", "BSC", "MBA", "CEO"];

fn is_particle(word: &str) -> bool {
    PARTICLES.contains(&word)
}

/// Where a part splits into pieces that also stand alone ("García-Márquez", "Okafor/Smith", "迈克尔·杰克逊").
fn is_piece_break(ch: char) -> bool {
    matches!(ch, '-' | '/' | '·' | '・' | '･')
}

/// A word without the punctuation, symbols and superscripts around it ("Okafor," → "Okafor", „Sammy“ → "Sammy").
fn bare(word: &str) -> &str {
    word.trim_matches(outside)
}

fn outside(ch: char) -> bool {
    let found = category(ch);
    matches!(found.as_bytes().first(), Some(b'P' | b'S' | b'Z')) || found == "No"
}

/// Titles and generations folded as a word of a name is ("Mr" → "rnr").
fn not_names() -> &'static Vec<String> {
    static FOLDED: OnceLock<Vec<String>> = OnceLock::new();
    FOLDED.get_or_init(|| NOT_NAMES.iter().map(|w| fold_term(w)).collect())
}

/// The suffixes folded as a word of the organization is ("company" → "cornpany").
fn suffix_keys() -> &'static Vec<String> {
    static FOLDED: OnceLock<Vec<String>> = OnceLock::new();
    FOLDED.get_or_init(|| ORG_SUFFIXES.split_whitespace().map(fold_term).collect())
}

/// The words of a name that may name someone: no particle before a later word, no title, no word without a letter.
fn words(text: &str) -> Vec<&str> {
    let found: Vec<&str> = text
        .split(|ch: char| is_space(ch) || ch == ',')
        .map(bare)
        .filter(|w| {
            w.chars().any(is_alpha)
                && !POST_NOMINALS.contains(&w.replace('.', "").as_str())
                && !not_names().contains(&fold_term(w).replace('.', ""))
        })
        .collect();
    let last = found.len().saturating_sub(1);
    found.iter().enumerate().filter(|&(i, w)| !is_particle(w) || i == last).map(|(_, w)| *w).collect()
}

/// Python's `_AFTER_NAME` (`\s+(?:[(|]|[-–—]\s)`): where what follows a name begins
/// ("Sam Okafor (Lagos)", "Sam Okafor | Northwind"), as a byte offset.
fn after_name(name: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = name.char_indices().collect();
    let mut at = 0;
    while at < chars.len() {
        if !is_space(chars[at].1) {
            at += 1;
            continue;
        }
        let mut end = at;
        while end < chars.len() && is_space(chars[end].1) {
            end += 1;
        }
        let next = chars.get(end).map(|&(_, ch)| ch);
        let then = chars.get(end + 1).map(|&(_, ch)| ch);
        let follows = match next {
            Some('(' | '|') => true,
            Some('-' | '–' | '—') => then.is_some_and(is_space),
            _ => false,
        };
        if follows {
            return Some(chars[at].0);
        }
        at = end;
    }
    None
}

/// (part, needs) for each part of a name, and each piece of a joined part, that is not the name itself.
///
/// The given names are the parts before the last, except in a name written surname first:
/// after a comma ("Okafor, Sam"), or after a first word of three or more letters in capitals
/// ("OKAFOR Sam"). Whatever follows the name itself ("(Lagos)", "| Northwind") is searched for
/// too, but is no given name. A part the roster writes capitalised needs LOWER where the text
/// writes it in lower case.
fn name_parts(name: &str) -> Vec<(String, u32)> {
    let (core, after) = match after_name(name) {
        Some(cut) => (&name[..cut], &name[cut..]),
        None => (name, ""),
    };
    let mut surnames: Vec<&str> = Vec::new();
    if let Some((before, rest)) = core.split_once(',') {
        if !words(rest).is_empty() {
            surnames = words(before);
        }
    }
    let found_words = words(core);
    if surnames.is_empty()
        && found_words.len() > 1
        && letters(found_words[0]) >= 3
        && names::str_is_upper(found_words[0])
        && !found_words[1..].iter().any(|w| names::str_is_upper(w))
    {
        surnames = vec![found_words[0]]; // "OKAFOR Sam"; not initials ("AJ Smith") nor a middle name
    }
    let last = found_words.len().saturating_sub(1);
    let mut found: Vec<(&str, bool)> = found_words
        .iter()
        .enumerate()
        .map(|(index, &word)| (word, if surnames.is_empty() { index < last } else { !surnames.contains(&word) }))
        .collect();
    found.extend(words(after).into_iter().map(|word| (word, false)));
    let mut parts = Vec::new();
    for (word, first) in found {
        let mut pieces = vec![word];
        if word.contains(is_piece_break) {
            pieces.extend(word.split(is_piece_break).map(bare));
        }
        for piece in unique(pieces) {
            if piece.is_empty() || piece == name || (is_particle(piece) && piece != word) {
                continue;
            }
            let needs = (if piece.chars().next().is_some_and(is_upper) { CASED } else { 0 })
                | (if is_short(piece) { SHORT } else { 0 });
            parts.push((piece.to_string(), needs | if first { FIRST } else { 0 }));
        }
    }
    parts
}

/// Each item once, in the order first seen (Python's `dict.fromkeys`).
fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::new();
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// Whether an organization's last word is a legal or generic suffix ("Inc.", "GmbH", "(UK)").
fn is_suffix(word: &str) -> bool {
    if word.starts_with('(') && word.ends_with(')') {
        return true;
    }
    suffix_keys().contains(&fold_term(word.trim_matches(['.', ','])).replace('.', ""))
}

/// Python's `re.sub(r"\s*\([^()]*\)$", "", organization)`: without a last parenthesised
/// part and the white space before it ("Northwind Ltd (in liquidation)").
fn without_parenthesis(organization: &str) -> &str {
    let Some(inside) = organization.strip_suffix(')') else {
        return organization;
    };
    let Some(open) = inside.rfind('(') else {
        return organization;
    };
    if inside[open + 1..].contains(')') {
        return organization;
    }
    organization[..open].trim_end_matches(is_space)
}

/// The organization without what it is often named without, each step, with and without
/// the symbols around it ("The Yahoo! (UK)" → "Yahoo! (UK)", "The Yahoo!", "Yahoo!", "Yahoo").
fn organization_short_forms(organization: &str) -> Vec<String> {
    let mut forms: Vec<String> = Vec::new();
    let stripped = without_parenthesis(organization);
    if !stripped.is_empty() {
        forms.push(stripped.to_string());
    }
    let mut words: Vec<String> = names::split_whitespace(if stripped.is_empty() { organization } else { stripped })
        .map(str::to_string)
        .collect();
    while !words.is_empty() && ORG_PREFIXES.contains(&casefold(&words[0]).as_str()) && words.len() > 1 {
        words.remove(0);
        forms.push(words.join(" "));
    }
    while words.len() > 1 && words.last().is_some_and(|w| is_suffix(w)) {
        words.pop();
        // Python's `words[-1][-1:] in ",&"`: a comma or ampersand last (or nothing left of the word).
        while let Some(last) = words.last_mut() {
            if !(last.is_empty() || last.ends_with([',', '&'])) {
                break;
            }
            *last = last.trim_end_matches([',', '&']).trim_end_matches(is_space).to_string();
            if last.is_empty() {
                words.pop();
            }
        }
        if !words.is_empty() {
            forms.push(words.join(" "));
        }
    }
    let every = forms.iter().flat_map(|form| [form.clone(), bare(form).to_string()]);
    unique(every).into_iter().filter(|form| !form.is_empty() && form != organization).collect()
}

/// (term, rank, needs) for one person.
fn terms(
    name: &str,
    organization: &str,
    handles: &[String],
    aliases: &[String],
    organization_aliases: &[String],
) -> Vec<(String, usize, u32)> {
    let mut found = Vec::new();
    let name = names::split_whitespace(name).collect::<Vec<_>>().join(" ");
    if !name.is_empty() {
        found.push((name.clone(), NAME, 0));
        let stripped = bare(&name);
        if !stripped.is_empty() && stripped != name {
            found.push((stripped.to_string(), NAME, 0)); // "Okafor.": the roster's punctuation is no part of it
        }
        found.extend(name_parts(&name).into_iter().map(|(part, needs)| (part, NAME, needs)));
    }
    found.extend(aliases.iter().map(|alias| (alias.clone(), NAME, 0)));
    for handle in handles {
        let stripped = names::strip(handle);
        let stripped = stripped.strip_prefix('@').unwrap_or(stripped);
        if !stripped.is_empty() {
            found.push((stripped.to_string(), HANDLE, 0));
            found.push((format!("@{stripped}"), HANDLE, 0));
        }
    }
    let organization = names::split_whitespace(organization).collect::<Vec<_>>().join(" ");
    if !organization.is_empty() {
        found.push((organization.clone(), ORGANIZATION, 0));
        let stripped = bare(&organization);
        if !stripped.is_empty() && stripped != organization {
            found.push((stripped.to_string(), ORGANIZATION, 0));
        }
        for short in organization_short_forms(&organization) {
            let needs = (if short.chars().next().is_some_and(is_upper) { CASED } else { 0 })
                | ORG_SHORT
                | (if is_short(&short) { SHORT } else { 0 });
            found.push((short, ORGANIZATION, needs));
        }
    }
    found.extend(organization_aliases.iter().map(|alias| (alias.clone(), ORGANIZATION, 0)));
    found
}

/// A term's readings, by rank, then the reading that needs least first; each reading's people once.
fn variants(readings: &[(usize, u32, &str)]) -> Vec<Variant> {
    let mut owners: Vec<((usize, u32), Vec<String>)> = Vec::new();
    for (rank, needs, pid) in readings {
        match owners.iter_mut().find(|(key, _)| *key == (*rank, *needs)) {
            Some((_, ids)) => {
                if !ids.iter().any(|id| id == pid) {
                    ids.push(pid.to_string());
                }
            }
            None => owners.push(((*rank, *needs), vec![pid.to_string()])),
        }
    }
    owners.sort_by_key(|(key, _)| *key);
    owners.into_iter().map(|((rank, needs), ids)| (rank, needs, ids)).collect()
}

/// A term of a script written without spaces as text may space it: without the roster's space
/// ("山田 花子" as "山田花子"), or with one the roster leaves out ("陈伟" as "陈 伟"), for names of up
/// to twelve folded characters.
fn unspaced_variants(folded: &[char]) -> Vec<Vec<char>> {
    let joined: Vec<char> = folded.iter().copied().filter(|&ch| ch != ' ').collect();
    if joined.is_empty() || !joined.iter().all(|&ch| unspaced(ch)) {
        return Vec::new();
    }
    let mut found = if joined != folded { vec![joined.clone()] } else { Vec::new() };
    if joined.len() <= 12 {
        for i in 1..joined.len() {
            let mut spaced = joined[..i].to_vec();
            spaced.push(' ');
            spaced.extend(&joined[i..]);
            found.push(spaced);
        }
    }
    found.retain(|variant| variant != folded);
    found
}

/// How often, in matches, a long search looks whether to stop.
const CHECK_EVERY: usize = 4096;
/// Matches of one reading of a text, per folded character, past which the whole text counts as naming.
const MAX_MATCHES_PER_CHAR: usize = 2;
/// Characters of folded terms one matcher may be built from.
const MAX_BUILD_CHARS: usize = 2_000_000;

/// The names of one request fold into more than one matcher may hold: the item is denied (fail closed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterTooLarge(pub String);

impl std::fmt::Display for RosterTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RosterTooLarge {}

fn too_large() -> RosterTooLarge {
    RosterTooLarge(
        "the names of this request fold into more than 2,000,000 characters of terms, more than one search may hold"
            .to_string(),
    )
}

/// A build stopped at the caller's deadline: denied, as a roster too large would be, and never kept.
fn abandoned() -> RosterTooLarge {
    RosterTooLarge("the caller stopped waiting while the names of this request were read".to_string())
}

/// An automaton from each folded term (word-marked, or as it is) and each key's (length, variants).
///
/// A double-array automaton over characters: a state per folded character, not per byte of
/// UTF-8, twelve bytes each, so the largest roster a request may send (MAX_BUILD_CHARS of
/// terms in a script of three-byte characters) is built within a worker's memory bound.
///
/// A large roster is built as several automata of at most CHUNK_BYTES of keys each, searched one after
/// the other as one: what a build holds while it works is a chunk's, not the whole roster's.
pub(crate) struct Automaton {
    searches: Vec<CharwiseDoubleArrayAhoCorasick<u32>>,
    values: Vec<(usize, Vec<Variant>)>,
}

/// Bytes of keys one automaton is built from, at most (but for one longer key).
const CHUNK_BYTES: usize = 1_000_000;

impl Automaton {
    /// Every match of every key in `haystack`: (byte offset of its end, key index), overlapping.
    fn find<'a>(&'a self, haystack: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.searches
            .iter()
            .flat_map(move |search| search.find_overlapping_iter(haystack).map(|hit| (hit.end(), hit.value() as usize)))
    }

    fn heap_bytes(&self) -> usize {
        self.searches.iter().map(CharwiseDoubleArrayAhoCorasick::heap_bytes).sum()
    }
}

fn build(rows: &[Row], marked: bool) -> Result<Option<Automaton>, RosterTooLarge> {
    build_in_chunks(rows, marked, CHUNK_BYTES)
}

fn build_in_chunks(rows: &[Row], marked: bool, chunk_bytes: usize) -> Result<Option<Automaton>, RosterTooLarge> {
    // Each key once, with its folded length and readings; ids borrowed from the rows. What is only
    // needed to build is let go before the automaton is built: the largest roster is most of a
    // worker's memory bound.
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut found: Vec<(usize, Vec<(usize, u32, &str)>)> = Vec::new();
    let (mut size, mut count) = (0, 0);
    for (pid, name, organization, handles, aliases, organization_aliases) in rows {
        for (term, rank, needs) in terms(name, organization, handles, aliases, organization_aliases) {
            count += 1;
            if count % CHECK_EVERY == 0 && deadline::passed() {
                return Err(abandoned()); // by terms, not people: 500 people of 500 words each are 250,000 terms
            }
            let folded: Vec<char> = fold_term(&term).chars().collect();
            if folded.is_empty() {
                continue;
            }
            let spaced = unspaced_variants(&folded);
            size += folded.len() + spaced.iter().map(Vec::len).sum::<usize>();
            if size > MAX_BUILD_CHARS {
                return Err(too_large());
            }
            for variant in std::iter::once(folded).chain(spaced) {
                let key = if marked { marked_key(&variant) } else { variant.iter().collect() };
                let index = *at.entry(key).or_insert_with(|| {
                    found.push((variant.len(), Vec::new()));
                    found.len() - 1
                });
                found[index].1.push((rank, needs, pid.as_str()));
            }
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut keys: Vec<(usize, String)> = at.into_iter().map(|(key, index)| (index, key)).collect();
    keys.sort_unstable_by_key(|(index, _)| *index);
    let keys: Vec<String> = keys.into_iter().map(|(_, key)| key).collect();
    let values = found.into_iter().map(|(length, readings)| (length, variants(&readings))).collect();
    let mut searches = Vec::new();
    let mut first = 0;
    while first < keys.len() {
        let (mut last, mut chars) = (first, 0);
        while last < keys.len() && (last == first || chars + keys[last].len() <= chunk_bytes) {
            chars += keys[last].len();
            last += 1;
        }
        if deadline::passed() {
            return Err(abandoned());
        }
        // The automaton's own limits are far above MAX_BUILD_CHARS; were one met, the item is denied all the same.
        let chunk = keys[first..last].iter().zip(first as u32..).map(|(key, index)| (key.as_str(), index));
        let search = CharwiseDoubleArrayAhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build_with_values(chunk)
            .map_err(|_| too_large())?;
        searches.push(search);
        first = last;
    }
    Ok(Some(Automaton { searches, values }))
}

// --- matching -------------------------------------------------------------------------------------

/// What a match reveals, or None if no reading of it counts.
fn rank(variants: &[Variant], lower_case: bool, allowed: u32, excused: &[&str]) -> Option<usize> {
    for (rank, needs, owners) in variants {
        let mut needs = *needs;
        if needs & CASED != 0 {
            needs = (needs & !CASED) | if lower_case { LOWER } else { 0 };
        }
        if needs & !allowed != 0 {
            continue; // the agreement does not count this kind of term
        }
        if !excused.is_empty() && owners.iter().all(|owner| excused.contains(&owner.as_str())) {
            continue; // names only people who may be named
        }
        return Some(*rank);
    }
    None
}

/// The folded position after each byte of `haystack` where a character ends, not counting marks.
fn positions(haystack: &str) -> Vec<usize> {
    let mut at = vec![0; haystack.len() + 1];
    let mut count = 0;
    for (offset, ch) in haystack.char_indices() {
        if ch != MARK {
            count += 1;
        }
        at[offset + ch.len_utf8()] = count;
    }
    at
}

/// The match that counts for a found key ending at folded position `end`, if any.
fn counted(
    automaton: &Automaton,
    pattern: usize,
    end: usize,
    text: &Folded,
    allowed: u32,
    excused: &[&str],
) -> Option<(usize, usize, usize)> {
    let (length, variants) = automaton.values.get(pattern)?;
    let (start, stop) = text.span(end.checked_sub(*length)?, end)?;
    let lower_case = text.text.get(start).is_some_and(|&ch| names::is_lower(ch));
    rank(variants, lower_case, allowed, excused).map(|found| (start, stop, found))
}

/// (start, end, rank) in the original text of each match that counts; `reading` is the text word-marked.
/// Past MAX_MATCHES_PER_CHAR matches per character the whole text is one match.
fn matches(
    automaton: &Automaton,
    text: &Folded,
    reading: &str,
    allowed: u32,
    excused: &[&str],
) -> Vec<(usize, usize, usize)> {
    let most = MAX_MATCHES_PER_CHAR * text.folded.len() + CHECK_EVERY;
    let at = positions(reading);
    let mut found = Vec::new();
    for (seen, (hit_end, pattern)) in automaton.find(reading).enumerate() {
        if seen % CHECK_EVERY == 0 && (seen >= most || deadline::passed()) {
            found.push((0, text.text.len(), 0));
            return found;
        }
        let end = at.get(hit_end).copied().unwrap_or(0);
        found.extend(counted(automaton, pattern, end, text, allowed, excused));
    }
    found
}

/// (start, end, rank) of each match that counts, in a text with invisible characters inside words:
/// each occurrence of a term counts if it begins and ends where a word may.
fn unmarked_matches(
    automaton: &Automaton,
    text: &Folded,
    allowed: u32,
    excused: &[&str],
) -> Vec<(usize, usize, usize)> {
    let most = MAX_MATCHES_PER_CHAR * text.folded.len() + CHECK_EVERY;
    let haystack: String = text.folded.iter().collect();
    let at = positions(&haystack);
    let mut found = Vec::new();
    for (seen, (hit_end, pattern)) in automaton.find(&haystack).enumerate() {
        if seen % CHECK_EVERY == 0 && (seen >= most || deadline::passed()) {
            found.push((0, text.text.len(), 0));
            return found;
        }
        let end = at.get(hit_end).copied().unwrap_or(0);
        let Some((length, _)) = automaton.values.get(pattern) else {
            continue;
        };
        let start = end.saturating_sub(*length);
        if !(text.boundary(start, true) && text.boundary(end, true)) {
            continue; // inside a longer word
        }
        found.extend(counted(automaton, pattern, end, text, allowed, excused));
    }
    found
}

// --- automata kept by roster ----------------------------------------------------------------------

pub(crate) type Built = Result<Option<Automaton>, RosterTooLarge>;

/// Whose automata: the caller the server knows (a tenant, or "" without tenants), whether
/// word-marked, and the roster's searchable fields exactly. A caller finds only its own.
type Key = (String, bool, Vec<Row>);

/// Automata built from recent rosters, least recently used first out, within a budget of bytes.
///
/// A group sends its whole roster with every request; folding and building it costs far more
/// than searching a sentence, and the roster rarely changes between calls. The key is the
/// roster's content itself (compared in full, so no two rosters can share an entry), scoped to
/// the caller, so one tenant's timings say nothing about another's rosters.
pub struct Automata {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    budget: usize,
    bytes: usize,
    clock: u64,
    /// The key's hash (`Kept::hash`) -> the entries under it: a lookup hashes the roster where it
    /// lies, and copies it only to keep a new entry.
    entries: HashMap<u64, Vec<Entry>>,
    /// when last used -> the key's hash and the key: the least recently used first
    order: BTreeMap<u64, (u64, Arc<Key>)>,
    /// Keyed per process, so no caller can aim rosters at one bucket.
    state: RandomState,
}

struct Entry {
    built: Arc<Built>,
    bytes: usize,
    used: u64,
    key: Arc<Key>,
}

/// A row's fields as hashed and compared: its three strings and its three lists' pieces.
fn feed_row<'a>(hasher: &mut impl Hasher, fields: [&str; 3], lists: [impl Iterator<Item = &'a str> + Clone; 3]) {
    for field in fields {
        hasher.write_usize(field.len());
        hasher.write(field.as_bytes());
    }
    for list in lists {
        hasher.write_usize(list.clone().count());
        for piece in list {
            hasher.write_usize(piece.len());
            hasher.write(piece.as_bytes());
        }
    }
}

/// Whether a kept row is this person's, read as `rows` reads a roster Python caches.
fn same_row(row: &Row, person: &Person) -> bool {
    let (id, name, organization, handles, aliases, organization_aliases) = row;
    *id == person.id
        && *name == person.display_name
        && *organization == person.organization
        && handles.iter().map(String::as_str).eq(list_pieces(&person.handles))
        && aliases.iter().map(String::as_str).eq(list_pieces(&person.aliases))
        && organization_aliases.iter().map(String::as_str).eq(list_pieces(&person.organization_aliases))
}

impl Kept {
    /// The hash of the key (caller, marked, rows(people)), from the people as they lie.
    fn hash(&self, caller: &str, marked: bool, people: &[Person]) -> u64 {
        let mut hasher = self.state.build_hasher();
        hasher.write(caller.as_bytes());
        hasher.write_u8(marked.into());
        hasher.write_usize(people.len());
        for p in people {
            let fields = [p.id.as_str(), &p.display_name, &p.organization];
            feed_row(&mut hasher, fields, [&p.handles, &p.aliases, &p.organization_aliases].map(|l| list_pieces(l)));
        }
        hasher.finish()
    }

    /// Evict the least recently used until within `budget`; the bytes evicted.
    fn evict_to(&mut self, budget: usize) -> usize {
        let before = self.bytes;
        while self.bytes > budget {
            let Some((_, (hash, oldest))) = self.order.pop_first() else {
                break;
            };
            if let Some(bucket) = self.entries.get_mut(&hash) {
                if let Some(at) = bucket.iter().position(|entry| Arc::ptr_eq(&entry.key, &oldest)) {
                    self.bytes -= bucket.swap_remove(at).bytes;
                }
                if bucket.is_empty() {
                    self.entries.remove(&hash);
                }
            }
        }
        before - self.bytes
    }

    fn used(&mut self, hash: u64, caller: &str, marked: bool, people: &[Person]) -> Option<Arc<Built>> {
        let same = |key: &Key| {
            key.0 == caller
                && key.1 == marked
                && key.2.len() == people.len()
                && key.2.iter().zip(people).all(|(row, person)| same_row(row, person))
        };
        self.clock += 1;
        let now = self.clock;
        let entry = self.entries.get_mut(&hash)?.iter_mut().find(|entry| same(&entry.key))?;
        let then = std::mem::replace(&mut entry.used, now);
        let (stored, built) = (entry.key.clone(), entry.built.clone());
        self.order.remove(&then);
        self.order.insert(now, (hash, stored));
        Some(built)
    }

    /// Keep what was built, if it fits the budget; the bytes evicted to make room.
    fn keep(&mut self, hash: u64, key: Key, built: Arc<Built>, bytes: usize) -> usize {
        if bytes > self.budget {
            return 0;
        }
        self.clock += 1;
        let (used, key) = (self.clock, Arc::new(key));
        let bucket = self.entries.entry(hash).or_default();
        if let Some(at) = bucket.iter().position(|entry| *entry.key == *key) {
            let old = bucket.swap_remove(at); // built twice at once: the later one is kept
            self.bytes -= old.bytes;
            self.order.remove(&old.used);
        }
        bucket.push(Entry { built, bytes, used, key: key.clone() });
        self.order.insert(used, (hash, key));
        self.bytes += bytes;
        self.evict_to(self.budget)
    }
}

/// What an entry holds, roughly: the automaton's own count and the strings of key and values.
fn entry_bytes(key: &Key, built: &Built) -> usize {
    const STRING: usize = std::mem::size_of::<String>();
    let strings = |items: &[String]| items.iter().map(|s| s.len() + STRING).sum::<usize>();
    let rows: usize = key
        .2
        .iter()
        .map(|(id, name, org, handles, aliases, org_aliases)| {
            id.len() + name.len() + org.len() + 3 * STRING + strings(handles) + strings(aliases) + strings(org_aliases)
        })
        .sum();
    key.0.len() + rows + built_bytes(built) + 128
}

/// What a built automaton holds, roughly: its own count and the strings of its values.
pub(crate) fn built_bytes(built: &Built) -> usize {
    const STRING: usize = std::mem::size_of::<String>();
    let strings = |items: &[String]| items.iter().map(|s| s.len() + STRING).sum::<usize>();
    match built {
        Ok(Some(automaton)) => {
            automaton.heap_bytes()
                + automaton
                    .values
                    .iter()
                    .map(|(_, variants)| 48 + variants.iter().map(|(_, _, ids)| 40 + strings(ids)).sum::<usize>())
                    .sum::<usize>()
        }
        _ => 0,
    }
}

impl Automata {
    /// Automata within `budget` bytes.
    pub fn new(budget: usize) -> Automata {
        Automata { kept: Mutex::new(Kept { budget, ..Kept::default() }) }
    }

    /// The bytes the kept automata may take (`discretion serve --matcher-cache-bytes`); 0 keeps none.
    pub fn set_budget(&self, budget: usize) {
        let freed = {
            let mut kept = self.lock();
            kept.budget = budget;
            kept.evict_to(budget)
        };
        if freed >= GIVE_BACK_AT {
            give_back();
        }
    }

    /// How many automata are kept and the bytes they take.
    pub fn usage(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.entries.len(), kept.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Nothing panics while holding it; were it poisoned, what it holds is still whole.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The automaton `caller` built from these people, building it (without the lock) if none is kept.
    fn get(&self, caller: &str, people: &[Person], marked: bool) -> Arc<Built> {
        if !keepable(people) {
            return Arc::new(build(&rows(people), marked));
        }
        let hash = {
            let mut kept = self.lock();
            let hash = kept.hash(caller, marked, people);
            if let Some(built) = kept.used(hash, caller, marked, people) {
                return built;
            }
            hash
        };
        let key: Key = (caller.to_string(), marked, rows(people));
        let built = Arc::new(build(&key.2, marked));
        let size = entry_bytes(&key, &built);
        // A large build (or one that stopped: too large, or abandoned) leaves its builder's memory freed.
        let large = built.is_err() || size >= GIVE_BACK_AT;
        let evicted = if deadline::seen_passed() { 0 } else { self.lock().keep(hash, key, built.clone(), size) };
        if large || evicted >= GIVE_BACK_AT {
            give_back();
        }
        built
    }
}

/// What a large build leaves freed (its terms, the automaton's builder) or an eviction frees stays in
/// the C allocator's heap of the thread that freed it, where the next large build, on another thread,
/// does not find it: past this much, it is handed back to the system, as the reference does.
const GIVE_BACK_AT: usize = 8 << 20;

pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim only returns the free pages of its heaps to the system.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The automata of this process: one budget, entries scoped by caller.
pub static AUTOMATA: LazyLock<Automata> = LazyLock::new(|| Automata::new(32 << 20));

/// The search for the names of one set of people, built once, for many texts.
pub struct Matcher {
    /// Shared with the decision that asks (obligations::Memo): a roster is copied once per decision.
    people: People,
    /// Whose kept automata to use (`AUTOMATA`), or None to build this matcher's own.
    caller: Option<String>,
    /// Each kind of automaton (word-marked, unmarked) is built when a text first needs it.
    marked: OnceLock<Arc<Built>>,
    unmarked: OnceLock<Arc<Built>>,
    /// Remembered, not raised again by building again.
    too_large: OnceLock<RosterTooLarge>,
}

/// Whom a matcher searches for: people gathered for one decision, or a group's roster, which
/// keeps its word-marked automaton with it (`Roster::marked`) for every decision that shares it.
enum People {
    Gathered(Rc<Vec<Person>>),
    Roster(Arc<Roster>),
}

impl People {
    fn all(&self) -> &[Person] {
        match self {
            People::Gathered(people) => people,
            People::Roster(roster) => roster.people(),
        }
    }
}

/// A roster's word-marked automaton as `caller` reads it, built once and kept with the roster (built
/// before it is first needed when the roster is kept: roster::Rosters::keep); one that stopped at the
/// caller's deadline is not kept, to be built again.
pub(crate) fn prepared(roster: &Roster, caller: &str) -> Arc<Built> {
    if let Some(built) = roster.marked.get() {
        return built.clone();
    }
    let built = AUTOMATA.get(caller, roster.people(), true);
    if !(built.is_err() && deadline::seen_passed()) {
        let _ = roster.marked.set(built.clone());
    }
    built
}

impl Matcher {
    pub fn new(people: impl IntoIterator<Item = Person>) -> Matcher {
        Matcher::shared(Rc::new(people.into_iter().collect()), None)
    }

    /// The matcher for these people as `caller` (None: not kept) reads them, from `AUTOMATA`.
    pub fn shared(people: Rc<Vec<Person>>, caller: Option<&str>) -> Matcher {
        Matcher::of(People::Gathered(people), caller)
    }

    /// The matcher for a group's roster as `caller` reads it: its word-marked automaton is the
    /// roster's own, built once for every decision that shares the roster.
    pub fn of_roster(roster: Arc<Roster>, caller: Option<&str>) -> Matcher {
        Matcher::of(People::Roster(roster), caller)
    }

    fn of(people: People, caller: Option<&str>) -> Matcher {
        Matcher {
            people,
            caller: caller.map(str::to_string),
            marked: OnceLock::new(),
            unmarked: OnceLock::new(),
            too_large: OnceLock::new(),
        }
    }

    fn automaton(&self, marked: bool) -> Result<Option<&Automaton>, RosterTooLarge> {
        if let Some(error) = self.too_large.get() {
            return Err(error.clone());
        }
        let cell = if marked { &self.marked } else { &self.unmarked };
        let built = cell.get_or_init(|| match (&self.people, &self.caller) {
            (People::Roster(roster), Some(caller)) if marked => prepared(roster, caller),
            (people, Some(caller)) => AUTOMATA.get(caller, people.all(), marked),
            (people, None) => Arc::new(build(&rows(people.all()), marked)),
        });
        match &**built {
            Ok(found) => Ok(found.as_ref()),
            Err(error) => {
                let _ = self.too_large.set(error.clone());
                Err(error.clone())
            }
        }
    }

    /// Spans of `text` naming any of the people but those `excused` (by id), who may be named.
    ///
    /// A term several people share still counts if any of them is not excused. `counts` is the
    /// agreement's judgement (`judgement(...)`): which less certain terms count.
    pub fn spans(&self, text: &str, excused: &[&str], counts: u32) -> Result<Vec<Span>, RosterTooLarge> {
        if let Some(error) = self.too_large.get() {
            return Err(error.clone());
        }
        if text.is_empty() || self.people.all().is_empty() {
            return Ok(Vec::new());
        }
        let chars: Vec<char> = text.chars().collect();
        let folded = fold_text(&chars);
        let excused: Vec<&str> = excused.iter().copied().filter(|id| !id.is_empty()).collect();
        let found = if !folded.invisible.is_empty() && folded.invisible_inside_words() {
            match self.automaton(false)? {
                Some(automaton) => unmarked_matches(automaton, &folded, counts, &excused),
                None => Vec::new(),
            }
        } else {
            let reading = marked(&folded.folded);
            match self.automaton(true)? {
                Some(automaton) => matches(automaton, &folded, &reading, counts, &excused),
                None => Vec::new(),
            }
        };
        Ok(merge(found)
            .into_iter()
            .map(|(start, end, rank)| span(start, end, REVEALS.get(rank).copied().unwrap_or("name"), "", ""))
            .collect())
    }
}

fn span(start: usize, end: usize, reveals: &str, field: &str, item_id: &str) -> Span {
    Span {
        start: start as i64,
        end: end as i64,
        reveals: reveals.to_string(),
        field: field.to_string(),
        item_id: item_id.to_string(),
    }
}

/// Spans of `text` naming any of `people` but those `excused` (by id): `Matcher::new(people).spans(...)`.
///
/// `except_person` is one more id excused: the one acting, who may name themselves.
pub fn identifying_spans(
    text: &str,
    people: impl IntoIterator<Item = Person>,
    except_person: &str,
    excused: &[&str],
    counts: u32,
) -> Result<Vec<Span>, RosterTooLarge> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<&str> = std::iter::once(except_person).chain(excused.iter().copied()).collect();
    Matcher::new(people).spans(text, &all, counts)
}

/// Sorted, with overlapping matches joined (a full name covers its surname); the first one's rank holds.
fn merge<P: Ord + Copy, R: Ord>(mut matches: Vec<(P, P, R)>) -> Vec<(P, P, R)> {
    matches.sort_by(|a, b| (a.0, std::cmp::Reverse(a.1), &a.2).cmp(&(b.0, std::cmp::Reverse(b.1), &b.2)));
    let mut merged: Vec<(P, P, R)> = Vec::new();
    for (start, end, rank) in matches {
        if let Some(last) = merged.last_mut() {
            if start < last.1 {
                last.1 = last.1.max(end);
                continue;
            }
        }
        merged.push((start, end, rank));
    }
    merged
}

/// Spans of several findings as one list: sorted by text, overlapping spans of one text joined.
pub fn merge_spans<'a>(spans: impl IntoIterator<Item = &'a Span>) -> Vec<Span> {
    type Found = Vec<(i64, i64, (usize, String))>;
    let mut by_text: Vec<((&str, &str), Found)> = Vec::new();
    for found in spans {
        let key = (found.field.as_str(), found.item_id.as_str());
        // A reveals no span of this engine carries (Python: ValueError) sorts after the three it knows.
        let rank = REVEALS.iter().position(|r| *r == found.reveals).unwrap_or(REVEALS.len());
        let entry = (found.start, found.end, (rank, found.reveals.clone()));
        match by_text.iter_mut().find(|(text, _)| *text == key) {
            Some((_, list)) => list.push(entry),
            None => by_text.push((key, vec![entry])),
        }
    }
    let mut out = Vec::new();
    for ((field, item_id), found) in by_text {
        for (start, end, (_, reveals)) in merge(found) {
            out.push(Span { start, end, reveals, field: field.to_string(), item_id: item_id.to_string() });
        }
    }
    out
}

// --- units a caller indexes by --------------------------------------------------------------------

/// Spans of `text` counted in `unit`: code points (as found), UTF-16 code units or UTF-8 bytes
/// (any other unit reads as UTF-8 bytes, as in Python).
pub fn in_unit(text: &str, spans: &[Span], unit: &str) -> Vec<Span> {
    if unit == "code_point" || spans.is_empty() || text.is_ascii() {
        return spans.to_vec();
    }
    if unit == "utf16" && text.chars().all(|ch| ch <= '\u{ffff}') {
        return spans.to_vec();
    }
    let width = |ch: char| if unit == "utf16" { ch.len_utf16() } else { ch.len_utf8() } as i64;
    // One pass over the text for all the spans' ends.
    let mut ends: Vec<i64> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
    ends.sort_unstable();
    ends.dedup();
    let mut offsets: HashMap<i64, i64> = HashMap::new();
    let mut chars = text.chars();
    let (mut at, mut counted) = (0i64, 0i64);
    for i in ends {
        // Python's text[at:i]: nothing before the start, nothing past the end.
        while at < i {
            match chars.next() {
                Some(ch) => counted += width(ch),
                None => break,
            }
            at += 1;
        }
        at = at.max(i);
        offsets.insert(i, counted);
    }
    let offset = |i: i64| offsets.get(&i).copied().unwrap_or(0);
    spans.iter().map(|s| Span { start: offset(s.start), end: offset(s.end), ..s.clone() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str, organization: &str) -> Person {
        Person { id: id.into(), display_name: name.into(), organization: organization.into(), ..Person::default() }
    }

    fn found(spans: &[Span]) -> Vec<(i64, i64, &str)> {
        spans.iter().map(|s| (s.start, s.end, s.reveals.as_str())).collect()
    }

    #[test]
    fn finds_names_words_and_organizations_in_the_original_text() {
        let people = [person("li", "Li Chen", "Northwind Bank"), person("wei", "Wei Chen", "")];
        let spans = identifying_spans("At Northwind we think, as Сh\u{200b}еn said", people.clone(), "", &[], FLAG_ALL);
        assert_eq!(found(&spans.unwrap()), [(3, 12, "organization"), (26, 31, "name")]);
        let excused = identifying_spans("as Chen said", people[..1].to_vec(), "li", &[], FLAG_ALL);
        assert_eq!(excused.unwrap(), []);
        let ignored = judgement(&[("organization_short_forms", IGNORE)]).unwrap();
        let spans = identifying_spans("At Northwind we", people, "", &[], ignored);
        assert_eq!(spans.unwrap(), []);
    }

    #[test]
    fn counts_spans_in_the_callers_unit() {
        let spans = identifying_spans("🎉 as Chen said", [person("li", "Li Chen", "")], "", &[], FLAG_ALL).unwrap();
        assert_eq!(found(&spans), [(5, 9, "name")]);
        assert_eq!(found(&in_unit("🎉 as Chen said", &spans, "utf16")), [(6, 10, "name")]);
        assert_eq!(found(&in_unit("🎉 as Chen said", &spans, "utf8")), [(8, 12, "name")]);
    }

    #[test]
    fn merges_overlapping_spans_of_one_text() {
        let at = |start, end, reveals: &str| Span {
            start,
            end,
            reveals: reveals.into(),
            field: String::new(),
            item_id: String::new(),
        };
        let merged = merge_spans(&[at(3, 7, "name"), at(0, 5, "organization"), at(9, 10, "handle")]);
        assert_eq!(found(&merged), [(0, 7, "organization"), (9, 10, "handle")]);
    }

    #[test]
    fn keeps_a_callers_automata_by_roster_within_its_budget() {
        let automata = Automata::new(1 << 20);
        let roster = |name: &str| [person("li", name, "Northwind Bank")];
        let first = automata.get("tenant-a", &roster("Li Chen"), true);
        assert!(Arc::ptr_eq(&first, &automata.get("tenant-a", &roster("Li Chen"), true)), "built again");
        // Another caller, another roster, or the other reading: each is its own entry.
        assert!(!Arc::ptr_eq(&first, &automata.get("tenant-b", &roster("Li Chen"), true)));
        assert!(!Arc::ptr_eq(&first, &automata.get("tenant-a", &roster("Li Chan"), true)));
        assert!(!Arc::ptr_eq(&first, &automata.get("tenant-a", &roster("Li Chen"), false)));
        let (entries, bytes) = automata.usage();
        assert_eq!(entries, 4);
        assert!(bytes > first.as_ref().as_ref().unwrap().as_ref().unwrap().heap_bytes());
        // A budget of one entry keeps the most recently used one only.
        let one = entry_bytes(&("tenant-a".to_string(), true, rows(&roster("Li Chen"))), &first);
        automata.get("tenant-a", &roster("Li Chen"), true);
        automata.set_budget(one);
        assert_eq!(automata.usage(), (1, one));
        assert!(Arc::ptr_eq(&first, &automata.get("tenant-a", &roster("Li Chen"), true)));
        automata.set_budget(0);
        assert_eq!(automata.usage(), (0, 0));
        assert!(!Arc::ptr_eq(&first, &automata.get("tenant-a", &roster("Li Chen"), true)), "kept past its budget");
        assert_eq!(automata.usage(), (0, 0));
    }

    #[test]
    fn a_kept_automaton_is_found_by_the_rows_a_roster_reads_as() {
        let automata = Automata::new(1 << 20);
        let with = |handles: &[&str], aliases: &[&str]| {
            let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
            [Person { handles: strings(handles), aliases: strings(aliases), ..person("li", "Li Chen", "") }]
        };
        let first = automata.get("t", &with(&["a\u{1}b"], &[""]), true);
        // Joined and split back as Python reads a cached roster: the same rows, the same entry.
        assert!(Arc::ptr_eq(&first, &automata.get("t", &with(&["a", "b"], &[]), true)));
        assert_eq!(rows(&with(&["a\u{1}b"], &[""])), rows(&with(&["a", "b"], &[])));
        // Any other piece is another roster.
        for other in [with(&["a", "b", ""], &[]), with(&["ab"], &[]), with(&["a"], &["b"]), with(&["b", "a"], &[])] {
            assert_ne!(rows(&other), rows(&with(&["a", "b"], &[])));
            assert!(!Arc::ptr_eq(&first, &automata.get("t", &other, true)), "{other:?}");
        }
        // Two empty items are one separator: not the empty list.
        assert!(!Arc::ptr_eq(&first, &automata.get("t", &with(&["a", "b"], &["", ""]), true)));
        // A roster Python does not cache is built each time and never kept.
        let (entries, _) = automata.usage();
        let odd = [person("li\0", "Li Chen", "")];
        assert!(!Arc::ptr_eq(&automata.get("t", &odd, true), &automata.get("t", &odd, true)));
        assert_eq!(automata.usage().0, entries);
    }

    #[test]
    fn a_kept_matcher_finds_what_a_fresh_one_finds() {
        let people = [person("li", "Li Chen", "Northwind Bank"), person("wei", "Wei Chen", "")];
        let text = "At Northwind we think, as Сh\u{200b}еn said, and li.chen too";
        let fresh = Matcher::new(people.clone()).spans(text, &["wei"], FLAG_ALL).unwrap();
        for _ in 0..2 {
            let kept = Matcher::shared(Rc::new(people.to_vec()), Some("")).spans(text, &["wei"], FLAG_ALL).unwrap();
            assert_eq!(kept, fresh);
        }
        assert!(!fresh.is_empty());
    }

    #[test]
    fn a_build_stopped_at_the_deadline_is_too_large_and_never_kept() {
        let automata = Automata::new(1 << 30);
        let people: Vec<Person> =
            (0..3000).map(|n| person(&format!("p{n}"), &format!("Name{n} Surname{n}"), "")).collect();
        let (built, late) =
            crate::deadline::watching(Some(std::time::Duration::ZERO), || automata.get("tenant", &people, true));
        assert!(late);
        assert_eq!(built.as_ref().as_ref().err(), Some(&abandoned()));
        assert_eq!(automata.usage(), (0, 0));
        assert!(automata.get("tenant", &people, true).is_ok(), "in time, the same roster builds");
        assert_eq!(automata.usage().0, 1);
    }

    #[test]
    fn the_word_mark_is_a_character_no_folded_text_holds_and_costs_little() {
        let every: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
        let chars: Vec<char> = every.chars().collect();
        assert!(!fold_text(&chars).folded.contains(&MARK));
        for ch in chars.iter().step_by(97) {
            assert!(!fold_text(&[*ch]).folded.contains(&MARK), "{ch:?}");
        }
        let built = build(&rows(&[person("li", "Li Chen", "Northwind Bank")]), true).unwrap().unwrap();
        assert!(built.heap_bytes() < 16 << 10, "{}", built.heap_bytes());
        // 1.3 KB; U+FFFF: 257 KB
    }

    #[test]
    fn a_roster_built_in_chunks_finds_what_one_automaton_finds() {
        let mut people: Vec<Person> = (1..40).map(|n| person(&format!("p{n}"), &vec!["a"; n].join(" "), "")).collect();
        people.push(person("li", "Li Chen", "Northwind Bank"));
        people.push(person("ya", "山田 花子", ""));
        let rows = rows(&people);
        let texts = [
            "As Li Chen of Northwind said, a a a rates".to_string(),
            "山田花子と Li\u{200b}Chen".to_string(),
            vec!["a"; 3000].join(" "), // past the cap on matches per character
        ];
        for marked in [true, false] {
            let whole = build_in_chunks(&rows, marked, usize::MAX).unwrap().unwrap();
            let chunked = build_in_chunks(&rows, marked, 1).unwrap().unwrap();
            assert_eq!(whole.searches.len(), 1);
            assert_eq!(chunked.searches.len(), whole.values.len()); // one key each
            for text in &texts {
                let chars: Vec<char> = text.chars().collect();
                let folded = fold_text(&chars);
                let found = |automaton: &Automaton| {
                    let mut found = if marked {
                        matches(automaton, &folded, &super::marked(&folded.folded), FLAG_ALL, &[])
                    } else {
                        unmarked_matches(automaton, &folded, FLAG_ALL, &[])
                    };
                    found.sort();
                    merge(found) // as spans() reads them: past the cap, which matches came first is no matter
                };
                assert!(found(&chunked) == found(&whole), "{}", text.chars().take(40).collect::<String>());
                assert!(!found(&whole).is_empty());
            }
        }
    }
}

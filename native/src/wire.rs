//! Wire bytes <-> the engine's values: service/discretion/server/convert.py,
//! limits.py and engine/validate.py in Rust, with what servicer.py does to a
//! request's bytes (`_read`) and to a decision (`response_to_proto`,
//! `explain=False`). A request is understood whole or refused whole, every
//! violation named by its field path, in the words and order the Python
//! server uses.
//!
//! The server's order of work is kept: bytes are decoded once
//! (`decode_check`, `decode_batch`), tenancy reads the group ids from the
//! decoded message, then `read` checks the sizes (limits.check_request),
//! converts (convert.request_from_proto) and checks the strings
//! (limits.check_strings).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::conditions::str_repr;
use crate::names::scheme_key;
use crate::names::{casefold, is_space, lower, strip};
use prost::Message as _;
use prost_types::{value::Kind, ListValue, Struct, Timestamp};

use std::sync::Arc;

use crate::model::{self, Instant, SECOND};
use crate::pb::v1 as pb;
use crate::roster::{self, Roster};

// ---- what a request may carry, and what is wrong with one --------------------------

/// The most one request may carry (limits.Limits); every field has a
/// `discretion serve` flag of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_items: usize,
    pub max_participants: usize,
    pub max_listed_people: usize,
    pub max_text: usize,
    pub max_labels: usize,
    pub max_struct_depth: usize,
    pub max_adoptions: usize,
    pub max_id: usize,
    pub max_name: usize,
    pub max_names_per_person: usize,
    pub max_names_total: usize,
    pub max_context_entries: usize,
    pub max_context_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_items: 1000,
            max_participants: 10_000,
            max_listed_people: 10_000,
            max_text: 100_000,
            max_labels: 100,
            max_struct_depth: 16,
            max_adoptions: 100,
            max_id: 256,
            max_name: 1000,
            max_names_per_person: 32,
            max_names_total: 500_000,
            max_context_entries: 16,
            max_context_chars: 1024,
        }
    }
}

/// The server's reading of its clock for one call, and how far a caller's
/// `requested_at` may stray from it (convert.Clock); `max_skew` in
/// nanoseconds, None: `requested_at` is the instant decided at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub now: Instant,
    pub max_skew: Option<Instant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

fn violation(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
    FieldViolation { field: field.into(), description: description.into() }
}

/// Why the wire path gives no request or no answer; server/status.py turns each into a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// RequestInvalid: INVALID_ARGUMENT, with a BadRequest naming each field.
    Invalid(Vec<FieldViolation>),
    /// A decision whose words the wire cannot carry (convert's KeyError): INTERNAL.
    Internal(String),
    /// RosterUnknown: FAILED_PRECONDITION, naming each `group.roster_digest` this caller's rosters lack
    /// (field, digest): the caller sends the request again with the participants.
    RosterUnknown(Vec<(String, String)>),
}

impl Refusal {
    /// The status message: `str(RequestInvalid)`, or the fault.
    pub fn message(&self) -> String {
        match self {
            Refusal::Invalid(violations) => {
                let count = violations.len();
                let fields: Vec<String> = violations.iter().map(|v| format!("`{}`", v.field)).collect();
                format!("{count} invalid field{}: {}", if count != 1 { "s" } else { "" }, fields.join(", "))
            }
            Refusal::Internal(fault) => fault.clone(),
            Refusal::RosterUnknown(missing) => roster_unknown_message(missing.len()),
        }
    }
}

/// str(rosters.RosterUnknown).
pub fn roster_unknown_message(count: usize) -> String {
    let (many, them) = if count == 1 { ("", "it") } else { ("s", "them") };
    format!("{count} roster{many} unknown here: send the request again with `group.participants` beside {them}")
}

fn refuse_if_any(problems: Vec<FieldViolation>) -> Result<(), Refusal> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(problems))
    }
}

// ---- text as Python reads it ----------------------------------------------------------
// The checks trim, split, fold and quote strings: each does what the Python
// string method does, whose notion of white space and case is not Rust's.

/// `" ".join(text.split())`.
fn single_spaced(text: &str) -> String {
    text.split(is_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The length Python gives a string: its code points.
fn chars(text: &str) -> usize {
    text.chars().count()
}

/// limits._CONTROL: C0, DEL and C1.
fn is_control(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// validate.label_word: trimmed, without case.
pub fn label_word(text: &str) -> String {
    lower(strip(text))
}

/// `f"{n:,}"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `f"{x:g}"`: six significant digits, trailing zeros dropped, exponent form
/// outside 1e-4..1e6.
fn format_g(x: f64) -> String {
    if !x.is_finite() {
        return python_float(x);
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let scientific = format!("{x:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..6).contains(&exponent) {
        let precision = (5 - exponent) as usize;
        trim(&format!("{x:.precision$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
}

/// `str(x)` of a float that is not finite.
fn python_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// `n / d` of two Python ints: the quotient correctly rounded to a double (`d` > 0).
fn true_divide(n: i128, d: i128) -> f64 {
    const EXACT: u128 = 1 << 53;
    let magnitude = n.unsigned_abs();
    let sign = if n < 0 { -1.0 } else { 1.0 };
    if magnitude < EXACT {
        return sign * (magnitude as f64 / d as f64);
    }
    let d = d as u128;
    let bits = |v: u128| 128 - v.leading_zeros() as i32;
    // Scale so the quotient carries 55 bits or more, then round it to 53 by hand.
    let shift = (55 + bits(d) - bits(magnitude) + 1).max(0);
    let scaled = magnitude << shift;
    let (quotient, remainder) = (scaled / d, scaled % d);
    let extra = bits(quotient) - 53;
    let mut mantissa = quotient >> extra;
    let dropped = quotient & ((1u128 << extra) - 1);
    let half = 1u128 << (extra - 1);
    if dropped > half || (dropped == half && (remainder != 0 || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    sign * (mantissa as f64) * 2f64.powi(extra - shift)
}

/// instants.to_iso: `2026-03-01T10:00:00.500Z`, with as few of 0, 3, 6 or 9 fractional digits as show it exactly.
pub fn to_iso(instant: Instant) -> String {
    let (seconds, nanos) = (instant.div_euclid(SECOND), instant.rem_euclid(SECOND));
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut text =
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let digits = [0u32, 3, 6, 9].into_iter().find(|d| nanos % 10i128.pow(9 - d) == 0).unwrap_or(9);
    if digits > 0 {
        text.push('.');
        text.push_str(&format!("{nanos:09}")[..digits as usize]);
    }
    text.push('Z');
    text
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i128::from(month <= 2), month, day)
}

// ---- bytes -> message -------------------------------------------------------------------
// The Python server reads bytes with upb (servicer._read); prost refuses some
// messages upb reads. What upb does, and so what is done here before prost
// sees the bytes: a field whose wire type is not its declared one is an
// unknown field, kept aside and never read; unknown fields are skipped (a
// group among them counts toward the depth); a varint's tenth byte is read
// for its last bit only; a string of a known field must be UTF-8; messages
// nest at most 100 deep below the top one. The bytes prost is given are the
// known fields alone, each varint rewritten in its shortest form.

/// upb's decode statuses, in the words DecodeError carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Malformed {
    Corrupt,
    BadUtf8,
    TooDeep,
}

impl Malformed {
    fn words(self) -> &'static str {
        match self {
            Malformed::Corrupt => "Wire format was corrupt",
            Malformed::BadUtf8 => "String field had bad UTF-8",
            Malformed::TooDeep => "Exceeded upb_DecodeOptions_MaxDepth",
        }
    }
}

/// How deep upb lets messages nest below the top one (the Python runtime's decode option).
const MAX_DEPTH: u32 = 100;

/// The message types of a request, for the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    CheckBatchRequest,
    CheckRequest,
    Actor,
    Group,
    Adoption,
    Person,
    Item,
    Label,
    Consent,
    Session,
    Destination,
    Recipient,
    Service,
    Attribution,
    Purpose,
    Timestamp,
    Struct,
    StructEntry,
    Value,
    ListValue,
    StringMapEntry,
}

/// A field as declared: the wire type it must come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Declared {
    Varint,
    Fixed64,
    Text,
    Message(Shape),
}

impl Shape {
    /// The declared field `number`, or None for one this type does not have.
    fn field(self, number: u32) -> Option<Declared> {
        use Declared::{Message as M, Text as T, Varint as V};
        use Shape::*;
        Some(match (self, number) {
            (CheckBatchRequest, 1) => M(CheckRequest),
            (CheckRequest, 1 | 8 | 9 | 13 | 14) => V,
            (CheckRequest, 2) => M(Timestamp),
            (CheckRequest, 3) => M(Actor),
            (CheckRequest, 4) => M(Group),
            (CheckRequest, 5) => M(Item),
            (CheckRequest, 6) => M(Destination),
            (CheckRequest, 7) => M(Attribution),
            (CheckRequest, 10) => T,
            (CheckRequest, 11) => M(Purpose),
            (CheckRequest, 12) => M(Struct),
            (CheckRequest, 15) => M(StringMapEntry),
            (Actor, 1 | 2 | 3 | 8) => T,
            (Actor, 4 | 5 | 7) => V,
            (Actor, 6) => M(Timestamp),
            (Group, 1 | 6 | 8) => T,
            (Group, 2 | 3) => V,
            (Group, 4) => M(Adoption),
            (Group, 5) => M(Person),
            (Group, 7) => M(Timestamp),
            (Adoption, 1 | 5 | 6) => T,
            (Adoption, 2) => V,
            (Adoption, 3 | 4) => M(Timestamp),
            (Adoption, 7 | 8) => M(StringMapEntry),
            (Person, 1 | 2 | 3 | 4 | 6 | 7) => T,
            (Person, 5) => V,
            (Item, 1 | 7 | 11 | 12 | 13) => T,
            (Item, 2 | 9) => M(Person),
            (Item, 3 | 4) => M(Timestamp),
            (Item, 5) => M(Label),
            (Item, 6) => M(Consent),
            (Item, 8) => V,
            (Item, 10) => M(Session),
            (Label, 1 | 2 | 3) => T,
            (Label, 4) => M(Timestamp),
            (Label, 5) => M(StringMapEntry),
            (Consent, 1 | 2 | 3 | 6) => T,
            (Consent, 4 | 5) => M(Timestamp),
            (Session, 1 | 2) => T,
            (Session, 3) => V,
            (Destination, 1 | 5) => V,
            (Destination, 2 | 4) => T,
            (Destination, 3) => M(Recipient),
            (Destination, 6) => M(Service),
            (Recipient, 1 | 2) => T,
            (Service, 1 | 2) => T,
            (Service, 3 | 4 | 5) => V,
            (Attribution, 1 | 2 | 4) => V,
            (Attribution, 3) => T,
            (Purpose, 1 | 2 | 3 | 4) => V,
            (Timestamp, 1 | 2) => V,
            (Struct, 1) => M(StructEntry),
            (StructEntry, 1) => T,
            (StructEntry, 2) => M(Value),
            (Value, 1 | 4) => V,
            (Value, 2) => Declared::Fixed64,
            (Value, 3) => T,
            (Value, 5) => M(Struct),
            (Value, 6) => M(ListValue),
            (ListValue, 1) => M(Value),
            (StringMapEntry, 1 | 2) => T,
            _ => return None,
        })
    }
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const DELIMITED: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

struct Reader<'a> {
    /// The whole of the bytes: upb reads a string past its message's end before it finds the overrun.
    whole: &'a [u8],
    at: usize,
    /// Where the message being read ends.
    end: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.end
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        if self.at >= self.end {
            return Err(Malformed::Corrupt);
        }
        self.at += 1;
        Ok(self.whole[self.at - 1])
    }

    /// A varint of at most ten bytes; the bits past 64 are dropped, as upb drops them.
    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for index in 0..10 {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed::Corrupt)
    }

    /// A tag: a varint of at most five bytes that fits 32 bits, of a field numbered 1 or more.
    fn tag(&mut self) -> Result<(u32, u8), Malformed> {
        let mut value = 0u64;
        for index in 0..5 {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                let tag = u32::try_from(value).map_err(|_| Malformed::Corrupt)?;
                if tag >> 3 == 0 {
                    return Err(Malformed::Corrupt);
                }
                return Ok((tag >> 3, (tag & 7) as u8));
            }
        }
        Err(Malformed::Corrupt)
    }

    /// The next `count` bytes, as (start, end) in `whole`.
    fn take(&mut self, count: u64) -> Result<(usize, usize), Malformed> {
        if count > (self.end - self.at) as u64 {
            return Err(Malformed::Corrupt);
        }
        let start = self.at;
        self.at += count as usize;
        Ok((start, self.at))
    }

    fn delimited(&mut self) -> Result<(usize, usize), Malformed> {
        let length = self.varint()?;
        self.take(length)
    }

    /// A string field's bytes, which must be UTF-8. One that runs past its message's end but not
    /// the buffer's is read as upb reads it: its bytes are checked for UTF-8 first, so bad UTF-8
    /// there is what upb reports; the overrun is corrupt all the same. Its length, too, upb reads
    /// past the message's end (a message ending in a string's tag takes the parent's next byte).
    fn text(&mut self) -> Result<&'a [u8], Malformed> {
        let end = self.end;
        self.end = self.whole.len();
        let length = self.varint();
        self.end = end;
        let length = length?;
        let start = self.at;
        if start <= self.end && length <= (self.end - start) as u64 {
            self.at += length as usize;
            let value = &self.whole[start..self.at];
            std::str::from_utf8(value).map_err(|_| Malformed::BadUtf8)?;
            return Ok(value);
        }
        // upb checks a string's length against the buffer, not its message.
        if length > (self.whole.len() - start) as u64 {
            return Err(Malformed::Corrupt);
        }
        let seen = &self.whole[start..start + length as usize];
        std::str::from_utf8(seen).map_err(|_| Malformed::BadUtf8)?;
        Err(Malformed::Corrupt)
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

/// The known fields of one message of `shape` in `whole[start..end]`, rewritten; `depth`: how many more levels
/// may nest. True when the message held a field it does not know (or in another wire type).
fn clean(
    whole: &[u8],
    (start, end): (usize, usize),
    shape: Shape,
    depth: u32,
    out: &mut Vec<u8>,
) -> Result<bool, Malformed> {
    let mut unknown = false;
    let mut reader = Reader { whole, at: start, end };
    while !reader.done() {
        let (number, wire) = reader.tag()?;
        match (shape.field(number), wire) {
            (Some(Declared::Varint), VARINT) => {
                let value = reader.varint()?;
                put_tag(out, number, VARINT);
                put_varint(out, value);
            }
            (Some(Declared::Fixed64), FIXED64) => {
                let (from, to) = reader.take(8)?;
                let value = &whole[from..to];
                put_tag(out, number, FIXED64);
                out.extend_from_slice(value);
            }
            (Some(Declared::Text), DELIMITED) => {
                let value = reader.text()?;
                put_tag(out, number, DELIMITED);
                put_varint(out, value.len() as u64);
                out.extend_from_slice(value);
            }
            (Some(Declared::Message(inner)), DELIMITED) => {
                let value = reader.delimited()?;
                if depth == 0 {
                    return Err(Malformed::TooDeep);
                }
                let mut nested = Vec::with_capacity(value.1 - value.0);
                let entry_unknown = clean(whole, value, inner, depth - 1, &mut nested)?;
                if entry_unknown && matches!(inner, Shape::StringMapEntry | Shape::StructEntry) {
                    // upb keeps a map entry with a field it does not know among the parent's unknown
                    // fields: it is not in the map.
                    continue;
                }
                put_tag(out, number, DELIMITED);
                put_varint(out, nested.len() as u64);
                out.extend_from_slice(&nested);
            }
            _ => {
                skip(&mut reader, number, wire, depth)?;
                unknown = true;
            }
        }
    }
    Ok(unknown)
}

/// Past one unknown field; a group nests, and counts toward the depth.
fn skip(reader: &mut Reader<'_>, number: u32, wire: u8, depth: u32) -> Result<(), Malformed> {
    match wire {
        VARINT => reader.varint().map(|_| ()),
        FIXED64 => reader.take(8).map(|_| ()),
        DELIMITED => reader.delimited().map(|_| ()),
        FIXED32 => reader.take(4).map(|_| ()),
        START_GROUP => {
            if depth == 0 {
                return Err(Malformed::Corrupt);
            }
            loop {
                let (inner, inner_wire) = reader.tag()?;
                if inner_wire == END_GROUP {
                    return if inner == number { Ok(()) } else { Err(Malformed::Corrupt) };
                }
                skip(reader, inner, inner_wire, depth - 1)?;
            }
        }
        _ => Err(Malformed::Corrupt),
    }
}

/// servicer._read: the message the bytes hold, or the one violation that says what they are not.
fn decode<M: prost::Message + Default>(bytes: &[u8], shape: Shape, full_name: &str) -> Result<M, Refusal> {
    let mut known = Vec::with_capacity(bytes.len());
    let read = clean(bytes, (0, bytes.len()), shape, MAX_DEPTH, &mut known)
        .map(|_| ())
        // Clean bytes are a message prost reads; were it to refuse them, the bytes are no such message all the same.
        .and_then(|()| M::decode(known.as_slice()).map_err(|_| Malformed::Corrupt));
    read.map_err(|malformed| {
        Refusal::Invalid(vec![violation(
            "",
            format!(
                "the request is not a well-formed {full_name} (Error parsing message with type '{full_name}': {}): \
                 strings must be UTF-8 and nesting within the protobuf parser's depth",
                malformed.words()
            ),
        )])
    })
}

// ---- enums ------------------------------------------------------------------------------

/// One wire enum as domain words (convert._Enum): its values in number order from 0.
struct Enum {
    name: &'static str,
    values: &'static [&'static str],
    /// What the zero value reads as.
    unspecified: &'static str,
}

impl Enum {
    fn word(&self, number: i32) -> Option<String> {
        let name = self.values.get(usize::try_from(number).ok()?)?;
        if number == 0 {
            return Some(self.unspecified.to_string());
        }
        let prefix = self.values[0].strip_suffix("UNSPECIFIED").unwrap_or("");
        Some(name.strip_prefix(prefix).unwrap_or(name).to_lowercase())
    }

    /// The word for `number`; a number the proto does not define is no value at all, and a violation.
    fn read(&self, number: i32, field: &str, problems: &mut Vec<FieldViolation>) -> String {
        if let Some(word) = self.word(number) {
            return word;
        }
        let names: Vec<String> = self.values.iter().enumerate().map(|(n, name)| format!("{name} ({n})")).collect();
        problems.push(violation(
            field,
            format!("{number} is not a defined {}; send one of {}", self.name, names.join(", ")),
        ));
        String::new()
    }

    /// The wire number of an answer's word (convert._numbers_by_word); the zero value is never sent.
    fn number(&self, word: &str) -> Option<i32> {
        (1..self.values.len() as i32).find(|n| self.word(*n).as_deref() == Some(word))
    }
}

// The engine denies an unspecified action or destination kind, naming the
// field: that is a decision, not a malformed request.
const ACTIONS: Enum = Enum {
    name: "Action",
    values: &["ACTION_UNSPECIFIED", "ACTION_SHARE", "ACTION_QUOTE", "ACTION_EXPORT"],
    unspecified: "",
};
const DESTINATION_KINDS: Enum = Enum {
    name: "DestinationKind",
    values: &[
        "DESTINATION_KIND_UNSPECIFIED",
        "DESTINATION_KIND_SAME_GROUP",
        "DESTINATION_KIND_ORIGINAL_EXCHANGE_PARTICIPANT",
        "DESTINATION_KIND_ACTOR_ORG_INTERNAL",
        "DESTINATION_KIND_ACTOR_ORG_CLIENT",
        "DESTINATION_KIND_COMMUNITY_PEER",
        "DESTINATION_KIND_EXTERNAL_INDIVIDUAL",
        "DESTINATION_KIND_PUBLIC",
        "DESTINATION_KIND_PERSONAL_ARCHIVE",
        "DESTINATION_KIND_THIRD_PARTY_SERVICE",
        "DESTINATION_KIND_AI_TOOL",
        "DESTINATION_KIND_OTHER_GROUP",
    ],
    unspecified: "",
};
const ITEM_KINDS: Enum = Enum {
    name: "ItemKind",
    values: &[
        "ITEM_KIND_UNSPECIFIED",
        "ITEM_KIND_MESSAGE",
        "ITEM_KIND_ATTENDEE_LIST",
        "ITEM_KIND_MEMBER_LIST",
        "ITEM_KIND_TRANSCRIPT",
        "ITEM_KIND_FILE",
        "ITEM_KIND_IMAGE",
    ],
    unspecified: "message",
};
const FORMATS: Enum = Enum {
    name: "Format",
    values: &["FORMAT_UNSPECIFIED", "FORMAT_TEXT", "FORMAT_SCREENSHOT", "FORMAT_FILE", "FORMAT_RECORDING"],
    unspecified: "text",
};
const DERIVATIONS: Enum = Enum {
    name: "Derivation",
    values: &["DERIVATION_UNSPECIFIED", "DERIVATION_VERBATIM", "DERIVATION_PARAPHRASE", "DERIVATION_SUMMARY"],
    unspecified: "verbatim",
};
const ROLES: Enum = Enum {
    name: "Role",
    values: &["ROLE_UNSPECIFIED", "ROLE_MEMBER", "ROLE_MODERATOR", "ROLE_ADMIN", "ROLE_OWNER"],
    unspecified: "member",
};
const ACTOR_KINDS: Enum = Enum {
    name: "ActorKind",
    values: &["ACTOR_KIND_UNSPECIFIED", "ACTOR_KIND_PERSON", "ACTOR_KIND_SERVICE"],
    unspecified: "person",
};
const PRIVACIES: Enum = Enum {
    name: "Privacy",
    values: &["PRIVACY_UNSPECIFIED", "PRIVACY_PUBLIC", "PRIVACY_PRIVATE"],
    unspecified: "private",
};
const VISIBILITIES: Enum = Enum {
    name: "Visibility",
    values: &["VISIBILITY_UNSPECIFIED", "VISIBILITY_VISIBLE", "VISIBILITY_HIDDEN"],
    unspecified: "visible",
};
const LEGAL_BASES: Enum = Enum {
    name: "LegalBasis",
    values: &[
        "LEGAL_BASIS_UNSPECIFIED",
        "LEGAL_BASIS_NONE",
        "LEGAL_BASIS_VALID_LEGAL_PROCESS",
        "LEGAL_BASIS_MEMBER_CONSENT",
        "LEGAL_BASIS_LEGAL_REQUIREMENT",
    ],
    unspecified: "none",
};
const USES: Enum = Enum {
    name: "Use",
    values: &["USE_UNSPECIFIED", "USE_PASSIVE", "USE_LOOKUP", "USE_ACTIVE", "USE_RESALE"],
    unspecified: "",
};
const SPAN_UNITS: Enum = Enum {
    name: "SpanUnit",
    values: &["SPAN_UNIT_UNSPECIFIED", "SPAN_UNIT_CODE_POINT", "SPAN_UNIT_UTF16", "SPAN_UNIT_UTF8"],
    unspecified: "code_point",
};
const DECISIONS: Enum = Enum {
    name: "Decision",
    values: &["DECISION_UNSPECIFIED", "DECISION_ALLOW", "DECISION_ALLOW_WITH_OBLIGATIONS", "DECISION_DENY"],
    unspecified: "",
};
const EFFECTS: Enum = Enum {
    name: "Effect",
    values: &["EFFECT_UNSPECIFIED", "EFFECT_ALLOW", "EFFECT_ALLOW_WITH_OBLIGATIONS", "EFFECT_DENY"],
    unspecified: "",
};
const OUTCOMES: Enum = Enum {
    name: "ItemOutcome",
    values: &["ITEM_OUTCOME_UNSPECIFIED", "ITEM_OUTCOME_KEPT", "ITEM_OUTCOME_REDACTED", "ITEM_OUTCOME_EXCLUDED"],
    unspecified: "",
};

// ---- timestamps -------------------------------------------------------------------------

/// The range google.protobuf.Timestamp defines (instants.FIRST_INSTANT, LAST_INSTANT).
pub const FIRST_INSTANT: Instant = -62_135_596_800 * SECOND;
pub const LAST_INSTANT: Instant = 253_402_300_799 * SECOND + 999_999_999;
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// convert._instant: None when unset; a malformed one is a violation.
fn instant(stamp: Option<&Timestamp>, name: &str, at: &str, problems: &mut Vec<FieldViolation>) -> Option<Instant> {
    let stamp = stamp?;
    let (seconds, nanos) = (stamp.seconds, stamp.nanos);
    if (MIN_SECONDS..=MAX_SECONDS).contains(&seconds) && (0..SECOND as i32).contains(&nanos) {
        return Some(Instant::from(seconds) * SECOND + Instant::from(nanos));
    }
    problems.push(violation(
        if at.is_empty() { name.to_string() } else { format!("{at}.{name}") },
        format!(
            "malformed timestamp (seconds={seconds}, nanos={nanos}): seconds must fall within \
             0001-01-01..9999-12-31 and nanos within 0..999999999"
        ),
    ));
    None
}

/// convert._timestamp: always one a reader can parse, an instant past the range written as its end.
fn timestamp(instant: Option<Instant>) -> Option<Timestamp> {
    let instant = instant?.clamp(FIRST_INSTANT, LAST_INSTANT);
    // Within the range both parts fit; floor division: nanos count forward, also before 1970.
    Some(Timestamp { seconds: instant.div_euclid(SECOND) as i64, nanos: instant.rem_euclid(SECOND) as i32 })
}

/// convert._decided_at: the instant a call is decided at.
fn decided_at(stated: Option<Instant>, clock: Option<&Clock>, problems: &mut Vec<FieldViolation>) -> Option<Instant> {
    let Some(clock) = clock else {
        return stated; // the engine's own callers: as of what they say
    };
    let Some(max_skew) = clock.max_skew else {
        return Some(stated.unwrap_or(clock.now));
    };
    if let Some(stated) = stated {
        if (stated - clock.now).abs() > max_skew {
            let off = true_divide(stated - clock.now, SECOND);
            problems.push(violation(
                "requested_at",
                format!(
                    "{} is {:.0} s {} the server's clock ({}), more than the {} s it allows; omit requested_at, \
                     or fix the clock that set it",
                    to_iso(stated),
                    off.abs().round_ties_even(),
                    if off > 0.0 { "ahead of" } else { "behind" },
                    to_iso(clock.now),
                    format_g(true_divide(max_skew, SECOND)),
                ),
            ));
        }
    }
    Some(clock.now)
}

// ---- CheckRequest -> Request --------------------------------------------------------------

type Problems = Vec<FieldViolation>;

/// convert.request_from_proto: the facts of one check, or every field at fault.
pub fn request_from_proto(message: &pb::CheckRequest, clock: Option<&Clock>) -> Result<model::Request, Refusal> {
    request_with(message, clock, None)
}

/// request_from_proto with the group's roster as `rosters::resolve` found it (None: as sent).
fn request_with(
    message: &pb::CheckRequest,
    clock: Option<&Clock>,
    roster: Option<Arc<Roster>>,
) -> Result<model::Request, Refusal> {
    let mut problems = Vec::new();
    let request = request(message, clock, roster, &mut problems);
    refuse_if_any(problems)?;
    Ok(request)
}

/// convert.requests_from_batch: every check of a batch, violations named `checks[i].field`.
pub fn requests_from_batch(
    message: &pb::CheckBatchRequest,
    max_batch: usize,
    clock: Option<&Clock>,
) -> Result<Vec<model::Request>, Refusal> {
    requests_with(message, max_batch, clock, vec![None; message.checks.len()])
}

fn requests_with(
    message: &pb::CheckBatchRequest,
    max_batch: usize,
    clock: Option<&Clock>,
    rosters: Vec<Option<Arc<Roster>>>,
) -> Result<Vec<model::Request>, Refusal> {
    let checks = &message.checks;
    if checks.len() > max_batch {
        return Err(Refusal::Invalid(vec![violation(
            "checks",
            format!("at most {max_batch} checks per batch, got {}; split the batch", checks.len()),
        )]));
    }
    let mut problems = Vec::new();
    let mut requests = Vec::with_capacity(checks.len());
    for ((index, check), roster) in checks.iter().enumerate().zip(rosters) {
        let mut found = Vec::new();
        requests.push(request(check, clock, roster, &mut found));
        problems.extend(found.into_iter().map(|v| violation(format!("checks[{index}].{}", v.field), v.description)));
    }
    refuse_if_any(problems)?;
    Ok(requests)
}

fn request(
    message: &pb::CheckRequest,
    clock: Option<&Clock>,
    roster: Option<Arc<Roster>>,
    problems: &mut Problems,
) -> model::Request {
    let mut request = facts(message, clock, roster, problems);
    check_destination(&request, problems);
    if let Some(Clock { now, max_skew: Some(skew) }) = clock {
        no_events_ahead(&request, now + skew, problems);
        ends_ahead_as_past(&mut request, *now, now + skew);
    }
    request
}

/// convert._no_events_ahead: a retraction or a withdrawal stamped beyond the skew ahead did not happen, yet.
fn no_events_ahead(request: &model::Request, limit: Instant, problems: &mut Problems) {
    for (index, item) in request.items.iter().enumerate() {
        if let Some(retracted) = item.retracted_at.filter(|at| *at > limit) {
            problems.push(violation(format!("items[{index}].retracted_at"), ahead(retracted, limit)));
        }
        for (number, consent) in item.consents.iter().enumerate() {
            if let Some(withdrawn) = consent.withdrawn_at.filter(|at| *at > limit) {
                problems.push(violation(
                    format!("items[{index}].consents[{number}].withdrawn_at"),
                    ahead(withdrawn, limit),
                ));
            }
        }
    }
}

fn ahead(instant: Instant, limit: Instant) -> String {
    format!(
        "{} is ahead of the server's clock by more than the skew it allows (past {}); a retraction or a \
         withdrawal has happened by the time it is sent",
        to_iso(instant),
        to_iso(limit)
    )
}

/// convert._ends_ahead_as_past: an end stamped ahead of the server's clock, by no more than the skew, reads as past.
fn ends_ahead_as_past(request: &mut model::Request, now: Instant, limit: Instant) {
    let as_past = |instant: &mut Option<Instant>| {
        if matches!(*instant, Some(at) if now < at && at <= limit) {
            *instant = Some(now);
        }
    };
    for item in &mut request.items {
        as_past(&mut item.retracted_at);
        for consent in &mut item.consents {
            as_past(&mut consent.withdrawn_at);
        }
    }
    as_past(&mut request.group.converted_at);
    for adoption in &mut request.group.adoptions {
        as_past(&mut adoption.effective_from);
        as_past(&mut adoption.disclosed_at);
    }
}

fn facts(
    message: &pb::CheckRequest,
    clock: Option<&Clock>,
    roster: Option<Arc<Roster>>,
    problems: &mut Problems,
) -> model::Request {
    // Fields in the order Python evaluates the Request's arguments: violations come in that order.
    let action = ACTIONS.read(message.action, "action", problems);
    let actor = actor(message.actor.as_ref().unwrap_or(&pb::Actor::default()), problems);
    let group = group(message.group.as_ref().unwrap_or(&pb::Group::default()), roster, problems);
    let items = items(&message.items, problems);
    let destination = destination(message.destination.as_ref().unwrap_or(&pb::Destination::default()), problems);
    let stated = instant(message.requested_at.as_ref(), "requested_at", "", problems);
    let requested_at = decided_at(stated, clock, problems);
    let attribution = message.attribution.as_ref().map(attribution).unwrap_or_default();
    let format = FORMATS.read(message.format, "format", problems);
    let derived = DERIVATIONS.read(message.derived, "derived", problems);
    let purpose = message.purpose.as_ref().map(|p| purpose(p, problems)).unwrap_or_default();
    let attributes = message.attributes.as_ref().map(|s| structure(s, "attributes", problems)).unwrap_or_default();
    let span_unit = SPAN_UNITS.read(message.span_unit, "span_unit", problems);
    model::Request {
        action,
        actor,
        group,
        items,
        destination,
        requested_at,
        attribution,
        format,
        derived,
        quoted_text: message.quoted_text.clone(),
        purpose,
        attributes,
        span_unit,
    }
}

fn actor(actor: &pb::Actor, problems: &mut Problems) -> model::Actor {
    let role = ROLES.read(actor.role, "actor.role", problems);
    let joined_at = instant(actor.joined_at.as_ref(), "joined_at", "actor", problems);
    let kind = ACTOR_KINDS.read(actor.kind, "actor.kind", problems);
    let read = model::Actor {
        id: actor.id.clone(),
        display_name: actor.display_name.clone(),
        organization: actor.organization.clone(),
        role,
        member: actor.member,
        joined_at,
        kind,
        installed_by: actor.installed_by.clone(),
    };
    check_actor(&read, problems);
    read
}

fn person(person: &pb::Person) -> model::Person {
    model::Person {
        id: person.id.clone(),
        display_name: person.display_name.clone(),
        organization: person.organization.clone(),
        handles: person.handles.clone(),
        is_minor: person.is_minor,
        aliases: person.aliases.clone(),
        organization_aliases: person.organization_aliases.clone(),
    }
}

fn group(group: &pb::Group, roster: Option<Arc<Roster>>, problems: &mut Problems) -> model::Group {
    let privacy = PRIVACIES.read(group.privacy, "group.privacy", problems);
    let visibility = VISIBILITIES.read(group.visibility, "group.visibility", problems);
    let adoptions = group
        .adoptions
        .iter()
        .enumerate()
        .map(|(i, a)| adoption(a, &format!("group.adoptions[{i}]"), problems))
        .collect();
    let participants = roster.unwrap_or_else(|| Arc::new(Roster::new(group.participants.iter().map(person).collect())));
    let converted_at = instant(group.converted_at.as_ref(), "converted_at", "group", problems);
    let read = model::Group {
        id: group.id.clone(),
        privacy,
        visibility,
        adoptions,
        participants,
        community: group.community.clone(),
        converted_at,
    };
    check_group(&read, problems);
    read
}

fn adoption(adoption: &pb::Adoption, at: &str, problems: &mut Problems) -> model::Adoption {
    let effective_from = instant(adoption.effective_from.as_ref(), "effective_from", at, problems);
    let disclosed_at = instant(adoption.disclosed_at.as_ref(), "disclosed_at", at, problems);
    model::Adoption {
        agreement: adoption.agreement.clone(),
        version: adoption.version,
        effective_from,
        disclosed_at,
        replaces: adoption.replaces.clone(),
        segments: adoption.segments.clone(),
        default_labels: label_map(&adoption.default_labels, &format!("{at}.default_labels"), problems),
        label_floors: label_map(&adoption.label_floors, &format!("{at}.label_floors"), problems),
    }
}

fn items(items: &[pb::Item], problems: &mut Problems) -> Vec<model::Item> {
    let read: Vec<model::Item> =
        items.iter().enumerate().map(|(index, i)| item(i, &format!("items[{index}]"), problems)).collect();
    check_items(&read, problems);
    read
}

fn item(item: &pb::Item, at: &str, problems: &mut Problems) -> model::Item {
    let posted_at = instant(item.posted_at.as_ref(), "posted_at", at, problems);
    let retracted_at = instant(item.retracted_at.as_ref(), "retracted_at", at, problems);
    let labels =
        item.labels.iter().enumerate().map(|(i, l)| label(l, &format!("{at}.labels[{i}]"), problems)).collect();
    let consents =
        item.consents.iter().enumerate().map(|(i, c)| consent(c, &format!("{at}.consents[{i}]"), problems)).collect();
    let kind = ITEM_KINDS.read(item.kind, &format!("{at}.kind"), problems);
    model::Item {
        id: item.id.clone(),
        author: person(item.author.as_ref().unwrap_or(&pb::Person::default())),
        posted_at,
        retracted_at,
        labels,
        consents,
        text: item.text.clone(),
        kind,
        listed_people: item.listed_people.iter().map(person).collect(),
        session: item
            .session
            .as_ref()
            .map(|s| model::Session {
                id: s.id.clone(),
                segment: s.segment.clone(),
                speaker_count: i64::from(s.speaker_count),
            })
            .unwrap_or_default(),
        exchange_participants: item.exchange_participants.clone(),
        conversation: item.conversation.clone(),
        link: item.link.clone(),
    }
}

/// Labels are matched trimmed and without case; a blank scheme is refused by check_items.
fn label(label: &pb::Label, at: &str, problems: &mut Problems) -> model::Label {
    let set_at = instant(label.set_at.as_ref(), "set_at", at, problems);
    // A map's order is not the wire's (nor upb's): kept sorted, for one order every time.
    let mut params: Vec<(String, String)> = label.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    params.sort();
    let scheme = scheme_key(&label.scheme);
    // A community's tag is kept as received (but trimmed), to be stated back as it came (community.rs).
    let value = if crate::community::FORMS.contains(&scheme.as_str()) {
        strip(&label.value).to_string()
    } else {
        label_word(&label.value)
    };
    model::Label { scheme, value, set_by: label_word(&label.set_by), set_at, params }
}

fn consent(consent: &pb::Consent, at: &str, problems: &mut Problems) -> model::Consent {
    let granted_at = instant(consent.granted_at.as_ref(), "granted_at", at, problems);
    let withdrawn_at = instant(consent.withdrawn_at.as_ref(), "withdrawn_at", at, problems);
    model::Consent {
        by: consent.by.clone(),
        scope: consent.scope.clone(),
        recipients: consent.recipients.clone(),
        granted_at,
        withdrawn_at,
        id: consent.id.clone(),
    }
}

fn destination(destination: &pb::Destination, problems: &mut Problems) -> model::Destination {
    let kind = DESTINATION_KINDS.read(destination.kind, "destination.kind", problems);
    model::Destination {
        kind,
        channel: destination.channel.clone(),
        recipients: destination
            .recipients
            .iter()
            .map(|r| model::Recipient { id: r.id.clone(), organization: r.organization.clone() })
            .collect(),
        group_id: destination.group_id.clone(),
        publicly_accessible: destination.publicly_accessible,
        // `optional` on the wire: unset stays None, "not said" (fail closed).
        service: destination
            .service
            .as_ref()
            .map(|s| model::Service {
                name: s.name.clone(),
                organization: s.organization.clone(),
                new_controller: s.new_controller,
                may_train: s.may_train,
                retains: s.retains,
            })
            .unwrap_or_default(),
    }
}

fn attribution(attribution: &pb::Attribution) -> model::Attribution {
    model::Attribution {
        author_identity: attribution.author_identity,
        affiliation: attribution.affiliation,
        descriptor: attribution.descriptor.clone(),
        link: attribution.link,
    }
}

fn purpose(purpose: &pb::Purpose, problems: &mut Problems) -> model::Purpose {
    model::Purpose {
        need_to_know: purpose.need_to_know,
        legal_basis: LEGAL_BASES.read(purpose.legal_basis, "purpose.legal_basis", problems),
        notification_prohibited: purpose.notification_prohibited,
        usage: USES.read(purpose.r#use, "purpose.use", problems),
    }
}

/// convert._struct. Its keys in their order (prost keeps a Struct sorted; upb's order is its hash's).
fn structure(structure: &Struct, field: &str, problems: &mut Problems) -> BTreeMap<String, model::Any> {
    structure
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), plain(value, &format!("{field}.{key}"), problems)))
        .collect()
}

/// convert._plain: a Struct value as the plain value a YAML rule would have written.
fn plain(value: &prost_types::Value, field: &str, problems: &mut Problems) -> model::Any {
    match &value.kind {
        Some(Kind::StringValue(text)) => model::Any::Text(text.clone()),
        Some(Kind::NumberValue(number)) => {
            let number = *number;
            if !number.is_finite() {
                // NaN compares false with everything: a rule testing it would never hold.
                problems.push(violation(field, format!("{} is not a finite number", python_float(number))));
                return model::Any::Null;
            }
            // JSON has one number type; 3 should compare and print as the 3 a rule wrote.
            if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
                model::Any::Int(number as i64)
            } else {
                model::Any::Number(number)
            }
        }
        Some(Kind::BoolValue(flag)) => model::Any::Bool(*flag),
        Some(Kind::StructValue(inner)) => model::Any::Map(structure(inner, field, problems)),
        Some(Kind::ListValue(list)) => model::Any::List(
            list.values.iter().enumerate().map(|(i, v)| plain(v, &format!("{field}[{i}]"), problems)).collect(),
        ),
        Some(Kind::NullValue(_)) | None => model::Any::Null,
    }
}

// ---- the checks a request must pass to be decided (engine/validate.py) ---------------------

/// validate.label_map: `scheme -> value` as labels are read; a blank or twice-given scheme is refused.
fn label_map(entries: &HashMap<String, String>, at: &str, problems: &mut Problems) -> Vec<(String, String)> {
    let mut sorted: Vec<(&String, &String)> = entries.iter().collect();
    sorted.sort();
    let mut read: Vec<(String, String)> = Vec::new();
    let mut given: HashMap<String, &String> = HashMap::new();
    for (key, value) in sorted {
        let scheme = scheme_key(key);
        if scheme.is_empty() {
            problems.push(violation(at, format!("a blank label scheme `{key}`; name the scheme, e.g. `tlp`")));
        } else if let Some(first) = given.get(&scheme) {
            problems.push(violation(
                at,
                format!("`{first}` and `{key}` are the same label scheme `{scheme}`; give it once"),
            ));
        } else {
            read.push((scheme.clone(), label_word(value)));
            given.insert(scheme, key);
        }
    }
    read
}

fn required(value: &str, field: &str, what: &str, problems: &mut Problems) {
    if strip(value).is_empty() {
        problems.push(violation(field, format!("required: {what}")));
    }
}

fn check_actor(actor: &model::Actor, problems: &mut Problems) {
    required(&actor.id, "actor.id", "the id of the person acting", problems);
    if actor.kind == "service" {
        // A service acts for the person who installed it and holds no role of its own.
        required(&actor.installed_by, "actor.installed_by", "the id of the person who installed the service", problems);
        if actor.role != "member" && !actor.role.is_empty() {
            problems.push(violation(
                "actor.role",
                format!(
                    "ROLE_{}, yet `actor.kind` ACTOR_KIND_SERVICE: a service holds no role of its own; the person \
                     who installed it asks in theirs",
                    actor.role.to_uppercase()
                ),
            ));
        }
        if !actor.organization.is_empty() {
            problems.push(violation(
                "actor.organization",
                "given, yet `actor.kind` ACTOR_KIND_SERVICE: a service has no organization of its own (TLP's \
                 own-organization audiences are its installer's to reach, asking in their own name)",
            ));
        }
    } else if !actor.installed_by.is_empty() {
        problems
            .push(violation("actor.installed_by", "given, yet `actor.kind` is a person: only a service is installed"));
    }
}

fn check_group(group: &model::Group, problems: &mut Problems) {
    required(&group.id, "group.id", "the id of the group the items were posted in", problems);
    let stripped = strip(&group.id);
    if group.id != stripped && !stripped.is_empty() {
        // `g1 ` is not the group bindings.yaml binds as `g1`: read as another, it would escape that floor.
        problems.push(violation("group.id", format!("`{}` has blanks around it; send the id as issued", group.id)));
    }
    for (index, adoption) in group.adoptions.iter().enumerate() {
        required(
            &adoption.agreement,
            &format!("group.adoptions[{index}].agreement"),
            "an agreement id loaded from the rules",
            problems,
        );
    }
}

fn check_items(items: &[model::Item], problems: &mut Problems) {
    if items.is_empty() {
        problems.push(violation("items", "required: at least one item"));
    }
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        if strip(&item.id).is_empty() {
            problems.push(violation(format!("items[{index}].id"), "required: the id of the item"));
        } else if let Some(first) = first_index.get(item.id.as_str()) {
            // Each item is judged once; a repeated id would make the per-item results ambiguous.
            problems.push(violation(
                format!("items[{index}].id"),
                format!("duplicate item id `{}`, first at `items[{first}]`", item.id),
            ));
        } else {
            first_index.insert(&item.id, index);
        }
        for (number, label) in item.labels.iter().enumerate() {
            if label.scheme.is_empty() {
                // A scheme-less `TLP:RED` has no agreement to read it by; guessing one is not ours to do.
                problems.push(violation(
                    format!("items[{index}].labels[{number}].scheme"),
                    "required: the label's scheme, e.g. `tlp` (`TLP:RED` is scheme `tlp`, value `red`)",
                ));
            }
        }
    }
}

/// validate.check_destination: destination facts that contradict its kind are refused, naming the fields.
fn check_destination(request: &model::Request, problems: &mut Problems) {
    match request.destination.kind.as_str() {
        "same_group" => same_group(request, problems),
        "other_group" => other_group(request, problems),
        "personal_archive" => personal_archive(request, problems),
        "original_exchange_participant" => original_exchange(request, problems),
        "actor_org_internal" => actor_org_internal(request, problems),
        "community_peer" => community_peer(request, problems),
        _ => {}
    }
}

fn same_group(request: &model::Request, problems: &mut Problems) {
    let (destination, group) = (&request.destination, &request.group);
    let kind = "`destination.kind` DESTINATION_KIND_SAME_GROUP";
    if !destination.group_id.is_empty() && destination.group_id != group.id {
        problems.push(violation(
            "destination.group_id",
            format!(
                "`{}` is not `group.id` `{}`, yet {kind}; another group is DESTINATION_KIND_OTHER_GROUP",
                destination.group_id, group.id
            ),
        ));
    }
    if destination.publicly_accessible {
        problems.push(violation(
            "destination.publicly_accessible",
            format!("true, yet {kind}: what the public can reach is outside the group; send DESTINATION_KIND_PUBLIC"),
        ));
    }
    if destination.service != model::Service::default() {
        problems.push(violation(
            "destination.service",
            format!(
                "given, yet {kind}: a service that receives the items is DESTINATION_KIND_THIRD_PARTY_SERVICE or \
                 DESTINATION_KIND_AI_TOOL; a service acting in the group is the actor (`actor.kind`)"
            ),
        ));
    }
    if !destination.recipients.is_empty() {
        let actor = &request.actor;
        let member =
            |id: &str| group.participants.has_id(id) || (actor.member && !actor.id.is_empty() && actor.id == id);
        for (index, recipient) in destination.recipients.iter().enumerate() {
            if !member(&recipient.id) {
                problems.push(violation(
                    format!("destination.recipients[{index}].id"),
                    format!(
                        "`{}` is not among `group.participants`, yet {kind}; a recipient outside the group makes \
                         it another destination (list the group's participants, or name the kind)",
                        recipient.id
                    ),
                ));
            }
        }
    }
}

fn other_group(request: &model::Request, problems: &mut Problems) {
    if !request.destination.group_id.is_empty() && request.destination.group_id == request.group.id {
        problems.push(violation(
            "destination.group_id",
            format!(
                "`{}` is `group.id`, yet `destination.kind` DESTINATION_KIND_OTHER_GROUP; the group the items were \
                 posted in is DESTINATION_KIND_SAME_GROUP",
                request.group.id
            ),
        ));
    }
}

fn personal_archive(request: &model::Request, problems: &mut Problems) {
    if request.destination.publicly_accessible {
        problems.push(violation(
            "destination.publicly_accessible",
            "true, yet `destination.kind` DESTINATION_KIND_PERSONAL_ARCHIVE: an archive the public can reach is a \
             publication; send DESTINATION_KIND_PUBLIC",
        ));
    }
}

fn original_exchange(request: &model::Request, problems: &mut Problems) {
    let party: HashSet<&str> = request
        .items
        .iter()
        .flat_map(|item| item.exchange_participants.iter())
        .map(String::as_str)
        .filter(|id| !id.is_empty())
        .collect();
    for (index, recipient) in request.destination.recipients.iter().enumerate() {
        if !party.contains(recipient.id.as_str()) && !request.group.participants.has_id(&recipient.id) {
            problems.push(violation(
                format!("destination.recipients[{index}].id"),
                format!(
                    "`{}` was party to no item's exchange (`items[].exchange_participants`) and is not among \
                     `group.participants`, yet `destination.kind` DESTINATION_KIND_ORIGINAL_EXCHANGE_PARTICIPANT",
                    recipient.id
                ),
            ));
        }
    }
}

/// validate._organization_key: blanks made one, case folded (`str.casefold`).
fn organization_key(name: &str) -> String {
    casefold(&single_spaced(name))
}

fn actor_org_internal(request: &model::Request, problems: &mut Problems) {
    let own = organization_key(&request.actor.organization);
    for (index, recipient) in request.destination.recipients.iter().enumerate() {
        let theirs = organization_key(&recipient.organization);
        if !own.is_empty() && !theirs.is_empty() && theirs != own {
            problems.push(violation(
                format!("destination.recipients[{index}].organization"),
                format!(
                    "`{}` is not the actor's organization `{}`, yet `destination.kind` \
                     DESTINATION_KIND_ACTOR_ORG_INTERNAL",
                    recipient.organization, request.actor.organization
                ),
            ));
        }
    }
}

fn community_peer(request: &model::Request, problems: &mut Problems) {
    let community: HashSet<String> =
        request.group.community.iter().filter(|o| !strip(o).is_empty()).map(|o| organization_key(o)).collect();
    for (index, recipient) in request.destination.recipients.iter().enumerate() {
        let theirs = organization_key(&recipient.organization);
        if !community.is_empty() && !theirs.is_empty() && !community.contains(&theirs) {
            problems.push(violation(
                format!("destination.recipients[{index}].organization"),
                format!(
                    "`{}` is not in `group.community`, yet `destination.kind` DESTINATION_KIND_COMMUNITY_PEER",
                    recipient.organization
                ),
            ));
        }
    }
}

// ---- size limits, on the message before it is converted (server/limits.py) ------------------

/// limits.check_request: every limit `request` exceeds.
pub fn check_request(request: &pb::CheckRequest, limits: &Limits) -> Result<(), Refusal> {
    refuse_if_any(exceeded(request, limits, ""))
}

/// limits.check_batch: every limit the batch or one of its entries exceeds (`checks[i].field`).
pub fn check_batch(request: &pb::CheckBatchRequest, limits: &Limits, max_batch: usize) -> Result<(), Refusal> {
    let checks = &request.checks;
    if checks.len() > max_batch {
        // Refused before any entry is looked at: their number is what is too large.
        return Err(Refusal::Invalid(vec![limit_violation(
            "checks",
            max_batch,
            "checks per batch",
            "max-batch",
            checks.len(),
        )]));
    }
    let mut problems = Vec::new();
    for (index, check) in checks.iter().enumerate() {
        problems.extend(exceeded(check, limits, &format!("checks[{index}].")));
    }
    refuse_if_any(problems)
}

/// (field, count, limit, what, flag)
type Count<'a> = (&'a str, usize, usize, &'a str, &'a str);

fn exceeded(request: &pb::CheckRequest, limits: &Limits, at: &str) -> Problems {
    let mut problems = Vec::new();
    let group = request.group.as_ref();
    let participants = group.map_or(0, |g| g.participants.len());
    let recipients = request.destination.as_ref().map_or(0, |d| d.recipients.len());
    let items = &request.items;
    over(
        &mut problems,
        at,
        None,
        &[
            ("items", items.len(), limits.max_items, "items", "max-items"),
            ("group.participants", participants, limits.max_participants, "participants", "max-participants"),
            ("destination.recipients", recipients, limits.max_participants, "recipients", "max-participants"),
            ("quoted_text", chars(&request.quoted_text), limits.max_text, "characters", "max-text"),
        ],
    );
    for (index, item) in items.iter().take(limits.max_items).enumerate() {
        // past the limit the call is refused anyway
        over(
            &mut problems,
            at,
            Some(index),
            &[
                ("text", chars(&item.text), limits.max_text, "characters", "max-text"),
                (
                    "listed_people",
                    item.listed_people.len(),
                    limits.max_listed_people,
                    "listed people",
                    "max-listed-people",
                ),
                ("labels", item.labels.len(), limits.max_labels, "labels", "max-labels"),
                ("consents", item.consents.len(), limits.max_labels, "consents", "max-labels"),
            ],
        );
    }
    let adoptions = group.map_or(0, |g| g.adoptions.len());
    over(
        &mut problems,
        at,
        None,
        &[("group.adoptions", adoptions, limits.max_adoptions, "adoptions", "max-adoptions")],
    );
    if let Some(attributes) = &request.attributes {
        let depth = depth(attributes, limits.max_struct_depth);
        over(
            &mut problems,
            at,
            None,
            &[("attributes", depth, limits.max_struct_depth, "levels of nesting", "max-struct-depth")],
        );
    }
    problems
}

fn over(problems: &mut Problems, at: &str, item: Option<usize>, counts: &[Count<'_>]) {
    for &(field, count, limit, what, flag) in counts {
        if count > limit {
            let field = match item {
                None => format!("{at}{field}"),
                Some(index) => format!("{at}items[{index}].{field}"),
            };
            problems.push(limit_violation(&field, limit, what, flag, count));
        }
    }
}

fn limit_violation(field: &str, limit: usize, what: &str, flag: &str, got: usize) -> FieldViolation {
    violation(field, format!("at most {} {what} (limit --{flag}), got {}", thousands(limit), thousands(got)))
}

enum Nested<'a> {
    Struct(&'a Struct),
    List(&'a ListValue),
}

/// limits._depth: how deeply `structure` nests (a flat Struct is 1), counting no further than `limit + 1`.
fn depth(structure: &Struct, limit: usize) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(Nested::Struct(structure), 1usize)];
    while let Some((value, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        if deepest > limit {
            return deepest;
        }
        let children: Vec<&prost_types::Value> = match value {
            Nested::Struct(s) => s.fields.values().collect(),
            Nested::List(l) => l.values.iter().collect(),
        };
        for child in children {
            match &child.kind {
                Some(Kind::StructValue(s)) => pending.push((Nested::Struct(s), depth + 1)),
                Some(Kind::ListValue(l)) => pending.push((Nested::List(l), depth + 1)),
                _ => {}
            }
        }
    }
    deepest
}

// ---- the strings (limits.check_strings) ---------------------------------------------------
// Every string a check carries is bounded, by what it is, and holds no
// control character. Gathered from the converted request (its strings are
// the wire's, some folded as they are read); only a request at fault is
// walked again, on the wire, to name the fields.

/// limits.check_strings: every string of `request` too long for what it is or holding a control character.
pub fn check_strings(request: &pb::CheckRequest, read: &model::Request, limits: &Limits) -> Result<(), Refusal> {
    let mut problems = Vec::new();
    strings_over(&mut problems, request, read, limits, "");
    refuse_if_any(problems)
}

/// limits.check_batch_strings: `check_strings` for each entry, naming `checks[i].field`.
pub fn check_batch_strings(
    request: &pb::CheckBatchRequest,
    batch: &[model::Request],
    limits: &Limits,
) -> Result<(), Refusal> {
    let mut problems = Vec::new();
    for (index, (check, read)) in request.checks.iter().zip(batch).enumerate() {
        strings_over(&mut problems, check, read, limits, &format!("checks[{index}]."));
    }
    refuse_if_any(problems)
}

fn strings_over(problems: &mut Problems, request: &pb::CheckRequest, read: &model::Request, limits: &Limits, at: &str) {
    let tally = gather(read, limits);
    // The caller's, for the log: not a fact, so not in `read`.
    let context = &request.request_context;
    let context_unfit = context.len() > limits.max_context_entries
        || context.iter().map(|(key, value)| chars(key) + chars(value)).sum::<usize>() > limits.max_context_chars
        || context.iter().any(|(key, value)| !printable(key) || !printable(value));
    if tally.longest_list > limits.max_names_per_person.min(limits.max_labels)
        || tally.largest_crowd > limits.max_participants
        || tally.ids_unfit
        || tally.names_unfit
        || context_unfit
    {
        let before = problems.len();
        name_the_fields(problems, request, limits, at);
        if problems.len() > before {
            return;
        }
    }
    if tally.names_total > limits.max_names_total {
        problems.push(limit_violation(
            &format!("{at}group.participants"),
            limits.max_names_total,
            "characters of names, handles and organizations in one check",
            "max-names-total",
            tally.names_total,
        ));
    }
}

/// What limits._gather collects of every string and list, reduced to what is checked of it: the order of
/// the strings never mattered, only the longest, whether one holds a control character, and the sum of names.
#[derive(Default)]
struct Tally {
    max_id: usize,
    max_name: usize,
    ids_unfit: bool,
    names_unfit: bool,
    names_total: usize,
    /// lengths of short lists (a person's names, an adoption's lists, a label's params)
    longest_list: usize,
    /// lengths of lists of people
    largest_crowd: usize,
}

impl Tally {
    fn id(&mut self, text: &str) {
        let length = chars(text);
        self.ids_unfit |= length > self.max_id || text.chars().any(is_control);
    }

    fn name(&mut self, text: &str) {
        let length = chars(text);
        self.names_total += length;
        self.names_unfit |= length > self.max_name || text.chars().any(is_control);
    }

    fn list(&mut self, length: usize) {
        self.longest_list = self.longest_list.max(length);
    }

    fn crowd(&mut self, length: usize) {
        self.largest_crowd = self.largest_crowd.max(length);
    }

    /// A roster's people, as `people` reads them, read once for every request that shares it.
    fn roster(&mut self, roster: &Roster) {
        let limits = (self.max_id, self.max_name);
        let sizes = roster.sizes(limits, |people| {
            let mut own = Tally { max_id: limits.0, max_name: limits.1, ..Tally::default() };
            own.people(people);
            roster::Sizes {
                ids_unfit: own.ids_unfit,
                names_unfit: own.names_unfit,
                names_total: own.names_total,
                longest_list: own.longest_list,
            }
        });
        self.ids_unfit |= sizes.ids_unfit;
        self.names_unfit |= sizes.names_unfit;
        self.names_total += sizes.names_total;
        self.longest_list = self.longest_list.max(sizes.longest_list);
    }

    fn people<'a>(&mut self, people: impl IntoIterator<Item = &'a model::Person>) {
        for p in people {
            self.id(&p.id);
            self.name(&p.display_name);
            self.name(&p.organization);
            self.list(p.handles.len().max(p.aliases.len()).max(p.organization_aliases.len()));
            p.handles.iter().chain(&p.aliases).chain(&p.organization_aliases).for_each(|n| self.name(n));
        }
    }
}

fn gather(r: &model::Request, limits: &Limits) -> Tally {
    let mut tally = Tally {
        max_id: limits.max_id,
        max_name: limits.max_name,
        ids_unfit: false,
        names_unfit: false,
        names_total: 0,
        longest_list: 0,
        largest_crowd: 0,
    };
    let (actor, group, destination) = (&r.actor, &r.group, &r.destination);
    for id in [&actor.id, &actor.installed_by, &group.id, &destination.channel, &destination.group_id] {
        tally.id(id);
    }
    for name in [&actor.display_name, &actor.organization, &r.attribution.descriptor] {
        tally.name(name);
    }
    tally.crowd(group.community.len());
    tally.roster(&group.participants);
    group.community.iter().for_each(|n| tally.name(n));
    for a in &group.adoptions {
        tally.id(&a.agreement);
        let lists = [a.replaces.len(), a.segments.len(), a.default_labels.len(), a.label_floors.len()];
        tally.list(lists.into_iter().max().unwrap_or(0));
        a.replaces.iter().chain(&a.segments).for_each(|id| tally.id(id));
        for (scheme, value) in a.default_labels.iter().chain(&a.label_floors) {
            tally.id(scheme);
            tally.name(value);
        }
    }
    for item in &r.items {
        tally.id(&item.id);
        tally.id(&item.conversation);
        tally.name(&item.link);
        tally.people(&item.listed_people);
        for label in &item.labels {
            for id in [&label.scheme, &label.value, &label.set_by] {
                tally.id(id);
            }
            tally.list(label.params.len());
            for (key, value) in &label.params {
                tally.id(key);
                tally.name(value);
            }
        }
        for consent in &item.consents {
            tally.id(&consent.by);
            tally.id(&consent.scope);
            tally.id(&consent.id);
            tally.crowd(consent.recipients.len());
            consent.recipients.iter().for_each(|id| tally.id(id));
        }
        tally.id(&item.session.id);
        tally.id(&item.session.segment);
        tally.crowd(item.exchange_participants.len());
        item.exchange_participants.iter().for_each(|id| tally.id(id));
    }
    for recipient in &destination.recipients {
        tally.id(&recipient.id);
        tally.name(&recipient.organization);
    }
    tally.name(&destination.service.name);
    tally.name(&destination.service.organization);
    tally.people(r.items.iter().map(|item| &item.author));
    tally
}

/// A message of a request, as limits._name_the_fields walks it.
#[derive(Clone, Copy)]
enum Part<'a> {
    Request(&'a pb::CheckRequest),
    Actor(&'a pb::Actor),
    Group(&'a pb::Group),
    Adoption(&'a pb::Adoption),
    Person(&'a pb::Person),
    Item(&'a pb::Item),
    Label(&'a pb::Label),
    Consent(&'a pb::Consent),
    Session(&'a pb::Session),
    Destination(&'a pb::Destination),
    Recipient(&'a pb::Recipient),
    Service(&'a pb::Service),
    Attribution(&'a pb::Attribution),
    Purpose,
}

/// One string, map or message field of a part, as limits._plan lists them.
enum Field<'a> {
    Text(&'a str),
    Texts(&'a [String]),
    Map(&'a HashMap<String, String>),
    /// None: not set (HasField false)
    One(Option<Part<'a>>),
    Many(Vec<Part<'a>>),
}

/// The fields of `part` in the order the proto declares them (google.protobuf messages and scalars left out).
fn plan(part: Part<'_>) -> Vec<(&'static str, Field<'_>)> {
    use Field::*;
    match part {
        Part::Request(r) => vec![
            ("actor", One(r.actor.as_ref().map(Part::Actor))),
            ("group", One(r.group.as_ref().map(Part::Group))),
            ("items", Many(r.items.iter().map(Part::Item).collect())),
            ("destination", One(r.destination.as_ref().map(Part::Destination))),
            ("attribution", One(r.attribution.as_ref().map(Part::Attribution))),
            ("quoted_text", Text(&r.quoted_text)),
            ("purpose", One(r.purpose.as_ref().map(|_| Part::Purpose))),
            ("request_context", Map(&r.request_context)),
        ],
        Part::Actor(a) => vec![
            ("id", Text(&a.id)),
            ("display_name", Text(&a.display_name)),
            ("organization", Text(&a.organization)),
            ("installed_by", Text(&a.installed_by)),
        ],
        Part::Group(g) => vec![
            ("id", Text(&g.id)),
            ("adoptions", Many(g.adoptions.iter().map(Part::Adoption).collect())),
            ("participants", Many(g.participants.iter().map(Part::Person).collect())),
            ("community", Texts(&g.community)),
        ],
        Part::Adoption(a) => vec![
            ("agreement", Text(&a.agreement)),
            ("replaces", Texts(&a.replaces)),
            ("segments", Texts(&a.segments)),
            ("default_labels", Map(&a.default_labels)),
            ("label_floors", Map(&a.label_floors)),
        ],
        Part::Person(p) => vec![
            ("id", Text(&p.id)),
            ("display_name", Text(&p.display_name)),
            ("organization", Text(&p.organization)),
            ("handles", Texts(&p.handles)),
            ("aliases", Texts(&p.aliases)),
            ("organization_aliases", Texts(&p.organization_aliases)),
        ],
        Part::Item(i) => vec![
            ("id", Text(&i.id)),
            ("author", One(i.author.as_ref().map(Part::Person))),
            ("labels", Many(i.labels.iter().map(Part::Label).collect())),
            ("consents", Many(i.consents.iter().map(Part::Consent).collect())),
            ("text", Text(&i.text)),
            ("listed_people", Many(i.listed_people.iter().map(Part::Person).collect())),
            ("session", One(i.session.as_ref().map(Part::Session))),
            ("exchange_participants", Texts(&i.exchange_participants)),
            ("conversation", Text(&i.conversation)),
            ("link", Text(&i.link)),
        ],
        Part::Label(l) => vec![
            ("scheme", Text(&l.scheme)),
            ("value", Text(&l.value)),
            ("set_by", Text(&l.set_by)),
            ("params", Map(&l.params)),
        ],
        Part::Consent(c) => vec![
            ("by", Text(&c.by)),
            ("scope", Text(&c.scope)),
            ("recipients", Texts(&c.recipients)),
            ("id", Text(&c.id)),
        ],
        Part::Session(s) => vec![("id", Text(&s.id)), ("segment", Text(&s.segment))],
        Part::Destination(d) => vec![
            ("channel", Text(&d.channel)),
            ("recipients", Many(d.recipients.iter().map(Part::Recipient).collect())),
            ("group_id", Text(&d.group_id)),
            ("service", One(d.service.as_ref().map(Part::Service))),
        ],
        Part::Recipient(r) => vec![("id", Text(&r.id)), ("organization", Text(&r.organization))],
        Part::Service(s) => vec![("name", Text(&s.name)), ("organization", Text(&s.organization))],
        Part::Attribution(a) => vec![("descriptor", Text(&a.descriptor))],
        Part::Purpose => vec![],
    }
}

const IDS: [&str; 16] = [
    "id",
    "installed_by",
    "group_id",
    "agreement",
    "replaces",
    "segments",
    "segment",
    "scheme",
    "value",
    "set_by",
    "by",
    "scope",
    "recipients",
    "exchange_participants",
    "conversation",
    "channel",
];
const TEXTS: [&str; 2] = ["text", "quoted_text"];

/// limits._COUNTED: repeated fields not counted by check_request, and the limit each is counted against.
fn counted(name: &str, limits: &Limits) -> Option<(usize, &'static str)> {
    Some(match name {
        "handles" | "aliases" | "organization_aliases" => (limits.max_names_per_person, "max-names-per-person"),
        "community" | "exchange_participants" | "recipients" => (limits.max_participants, "max-participants"),
        "replaces" | "segments" | "default_labels" | "label_floors" | "params" => (limits.max_labels, "max-labels"),
        "request_context" => (limits.max_context_entries, "max-context-entries"),
        _ => return None,
    })
}

fn name_the_fields(problems: &mut Problems, request: &pb::CheckRequest, limits: &Limits, at: &str) {
    // Last in, first out, as the Python walk pops its list: the order of the violations is that walk's.
    let mut pending: Vec<(Part<'_>, String)> =
        vec![(Part::Request(request), at.strip_suffix('.').unwrap_or(at).into())];
    while let Some((part, at)) = pending.pop() {
        for (name, value) in plan(part) {
            let field = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
            let entries = match &value {
                Field::Texts(list) => Some(list.len()),
                Field::Map(map) => Some(map.len()),
                Field::Many(list) => Some(list.len()),
                _ => None,
            };
            if let (Some(count), Some((limit, flag))) = (entries, counted(name, limits)) {
                if count > limit {
                    problems.push(limit_violation(&field, limit, "entries", flag, count));
                    continue;
                }
            }
            if let (Field::Map(entries), "request_context") = (&value, name) {
                context(problems, &field, entries, limits);
                continue;
            }
            let kind = if IDS.contains(&name) { "id" } else { "name" };
            match value {
                Field::Many(children) => {
                    pending.extend(children.into_iter().enumerate().map(|(i, child)| (child, format!("{field}[{i}]"))))
                }
                Field::One(Some(child)) => pending.push((child, field)),
                Field::One(None) => {}
                Field::Map(map) => {
                    // Sorted: upb's order is its hash table's, which no other reader can repeat.
                    let mut entries: Vec<(&String, &String)> = map.iter().collect();
                    entries.sort();
                    for (key, entry) in entries {
                        let short: String = key.chars().take(40).collect();
                        let named = format!("{field}[{}]", str_repr(&short));
                        string(problems, &named, key, "id", limits);
                        string(problems, &named, entry, "name", limits);
                    }
                }
                Field::Texts(list) => {
                    for (i, one) in list.iter().enumerate() {
                        string(problems, &format!("{field}[{i}]"), one, kind, limits);
                    }
                }
                Field::Text(text) if !TEXTS.contains(&name) && !text.is_empty() => {
                    // Blanks and invisibles in a scheme fold away, as it is read.
                    let text = if name == "scheme" { scheme_key(text) } else { text.to_string() };
                    string(problems, &field, &text, kind, limits);
                }
                Field::Text(_) => {}
            }
        }
    }
}

fn printable(text: &str) -> bool {
    text.bytes().all(|byte| (0x20..=0x7E).contains(&byte))
}

/// limits._context: request_context holds the caller's ids for the log, not text: printable ASCII, and little of it.
fn context(problems: &mut Problems, field: &str, entries: &HashMap<String, String>, limits: &Limits) {
    let total: usize = entries.iter().map(|(key, value)| chars(key) + chars(value)).sum();
    if total > limits.max_context_chars {
        problems.push(limit_violation(
            field,
            limits.max_context_chars,
            "characters of keys and values",
            "max-context-chars",
            total,
        ));
        return;
    }
    let mut sorted: Vec<(&String, &String)> = entries.iter().collect();
    sorted.sort();
    for (key, value) in sorted {
        if let Some(odd) = key.chars().chain(value.chars()).find(|&ch| !(' '..='~').contains(&ch)) {
            let short: String = key.chars().take(40).collect();
            problems.push(violation(
                format!("{field}[{}]", str_repr(&short)),
                format!(
                    "a character outside printable ASCII (U+{:04X}) has no place in request_context, which holds \
                     the caller's ids",
                    odd as u32
                ),
            ));
        }
    }
}

fn string(problems: &mut Problems, field: &str, value: &str, kind: &str, limits: &Limits) {
    let limit = if kind == "id" { limits.max_id } else { limits.max_name };
    let length = chars(value);
    if length > limit {
        problems.push(limit_violation(field, limit, "characters", &format!("max-{kind}"), length));
    } else if let Some(control) = value.chars().find(|c| is_control(*c)) {
        problems.push(violation(
            field,
            format!(
                "a control character (U+{:04X}) has no place in {}",
                control as u32,
                if kind == "id" { "an id" } else { "a name" }
            ),
        ));
    }
}

// ---- what the server does with a request's bytes (servicer._check, _check_batch) -------------

/// What the server reads of a check besides its facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadInfo {
    /// `group.id` as sent: what tenancy (auth.Gate.evaluate) checks.
    pub group_id: String,
    /// Whether the caller asked for the explanation (and so a trace).
    pub explain: bool,
}

/// A CheckRequest decoded, not yet judged: tenancy reads its group before its sizes are checked.
pub struct CheckMessage(pb::CheckRequest);

/// A CheckBatchRequest decoded, not yet judged.
pub struct BatchMessage(pb::CheckBatchRequest);

/// servicer._read of a Check call's bytes.
pub fn decode_check(bytes: &[u8]) -> Result<CheckMessage, Refusal> {
    decode(bytes, Shape::CheckRequest, "discretion.v1.CheckRequest").map(CheckMessage)
}

/// servicer._read of a CheckBatch call's bytes.
pub fn decode_batch(bytes: &[u8]) -> Result<BatchMessage, Refusal> {
    decode(bytes, Shape::CheckBatchRequest, "discretion.v1.CheckBatchRequest").map(BatchMessage)
}

fn info(check: &pb::CheckRequest) -> ReadInfo {
    ReadInfo { group_id: check.group.as_ref().map(|g| g.id.clone()).unwrap_or_default(), explain: check.explain }
}

impl CheckMessage {
    pub fn message(&self) -> &pb::CheckRequest {
        &self.0
    }

    /// The group ids tenancy checks (`request.group.id`).
    pub fn group_ids(&self) -> Vec<&str> {
        vec![self.0.group.as_ref().map_or("", |g| g.id.as_str())]
    }

    /// limits.check_request, rosters.resolve, convert.request_from_proto, limits.check_strings, in the
    /// server's order; then the roster sent with its digest is kept for `caller` (None: no rosters
    /// are kept or found, and a digest sent alone is unknown).
    pub fn read(
        &self,
        clock: &Clock,
        limits: &Limits,
        caller: Option<&str>,
    ) -> Result<(model::Request, ReadInfo), Refusal> {
        check_request(&self.0, limits)?;
        let (roster, sent) = resolve(std::slice::from_ref(&self.0), caller, false)?.pop().unwrap_or_default();
        let facts = request_with(&self.0, Some(clock), roster)?;
        check_strings(&self.0, &facts, limits)?;
        keep(caller, sent, &facts);
        Ok((facts, info(&self.0)))
    }
}

impl BatchMessage {
    pub fn message(&self) -> &pb::CheckBatchRequest {
        &self.0
    }

    /// Every check's group id: one foreign group refuses the whole batch.
    pub fn group_ids(&self) -> Vec<&str> {
        self.0.checks.iter().map(|c| c.group.as_ref().map_or("", |g| g.id.as_str())).collect()
    }

    /// limits.check_batch, convert.requests_from_batch, limits.check_batch_strings: every check read by one clock.
    pub fn read(
        &self,
        clock: &Clock,
        limits: &Limits,
        max_batch: usize,
        caller: Option<&str>,
    ) -> Result<Vec<(model::Request, ReadInfo)>, Refusal> {
        check_batch(&self.0, limits, max_batch)?;
        let (rosters, sent): (Vec<_>, Vec<_>) = resolve(&self.0.checks, caller, true)?.into_iter().unzip();
        let batch = requests_with(&self.0, max_batch, Some(clock), rosters)?;
        check_batch_strings(&self.0, &batch, limits)?;
        for (digest, facts) in sent.into_iter().zip(&batch) {
            keep(caller, digest, facts);
        }
        Ok(batch.into_iter().zip(&self.0.checks).map(|(facts, check)| (facts, info(check))).collect())
    }
}

/// Each check's roster by reference (`Group.roster_digest`), before anything reads the roster: the one
/// `caller` sent under the digest, or None to read the participants sent; and the digest to keep them
/// under, when they came with it (checked to be theirs). A digest not written as one, or not the
/// participants', is INVALID_ARGUMENT; a digest sent alone that `caller` never sent a roster under (or
/// that was evicted) is FAILED_PRECONDITION, naming every such field.
fn resolve(
    checks: &[pb::CheckRequest],
    caller: Option<&str>,
    batch: bool,
) -> Result<Vec<(Option<Arc<Roster>>, Option<String>)>, Refusal> {
    let (mut problems, mut unknown, mut resolved) = (Vec::new(), Vec::new(), Vec::with_capacity(checks.len()));
    for (index, check) in checks.iter().enumerate() {
        let field = if batch { format!("checks[{index}].group.roster_digest") } else { "group.roster_digest".into() };
        let Some(group) = check.group.as_ref().filter(|g| !g.roster_digest.is_empty()) else {
            resolved.push((None, None));
            continue;
        };
        let sent = group.roster_digest.as_str();
        if !roster::well_formed(sent) {
            problems.push(violation(
                field,
                "not a roster digest: `sha256:` and 64 lowercase hex digits, the SHA-256 of the \
                 `discretion.v1.Roster` of the participants",
            ));
            resolved.push((None, None));
        } else if !group.participants.is_empty() {
            let theirs = roster::digest(&group.participants);
            if theirs != sent {
                problems.push(violation(
                    field,
                    format!(
                        "`{sent}` is not the digest of `group.participants` ({theirs}): compute it over the \
                         `discretion.v1.Roster` of exactly the participants sent, written deterministically"
                    ),
                ));
            }
            resolved.push((None, Some(theirs)));
        } else if let Some(kept) = caller.and_then(|caller| roster::ROSTERS.get(caller, sent)) {
            resolved.push((Some(kept), None));
        } else if sent == roster::digest(&[]) {
            resolved.push((None, None)); // nobody: the roster every caller holds
        } else {
            unknown.push((field, sent.to_string()));
            resolved.push((None, None));
        }
    }
    refuse_if_any(problems)?;
    if !unknown.is_empty() {
        return Err(Refusal::RosterUnknown(unknown));
    }
    Ok(resolved)
}

/// Keep the roster a request sent with its digest, for `caller`'s later requests.
fn keep(caller: Option<&str>, digest: Option<String>, facts: &model::Request) {
    if let (Some(caller), Some(digest)) = (caller, digest) {
        roster::ROSTERS.keep(caller, &digest, facts.group.participants.clone());
    }
}

/// A Check call's bytes read as the server reads them where no tenancy applies.
pub fn read_check(bytes: &[u8], clock: &Clock, limits: &Limits) -> Result<(model::Request, ReadInfo), Refusal> {
    decode_check(bytes)?.read(clock, limits, None)
}

/// A CheckBatch call's bytes read as the server reads them where no tenancy applies.
pub fn read_batch(
    bytes: &[u8],
    clock: &Clock,
    limits: &Limits,
    max_batch: usize,
) -> Result<Vec<(model::Request, ReadInfo)>, Refusal> {
    decode_batch(bytes)?.read(clock, limits, max_batch, None)
}

// ---- Decision -> CheckResponse ------------------------------------------------------------------

/// convert.response_to_proto with `explain=False`, as bytes.
pub fn write_response(decision: &model::Decision, decision_id: &str) -> Result<Vec<u8>, Refusal> {
    let response = pb::CheckResponse { decision_id: decision_id.to_string(), ..response_to_proto(decision)? };
    Ok(response.encode_to_vec())
}

/// A CheckBatchResponse of the decisions, in order, each with its id (the server's; "" past the last given).
pub fn write_batch_response(decisions: &[model::Decision], decision_ids: &[String]) -> Result<Vec<u8>, Refusal> {
    let mut results = Vec::with_capacity(decisions.len());
    for (index, decision) in decisions.iter().enumerate() {
        let decision_id = decision_ids.get(index).cloned().unwrap_or_default();
        results.push(pb::CheckResponse { decision_id, ..response_to_proto(decision)? });
    }
    Ok(pb::CheckBatchResponse { results }.encode_to_vec())
}

/// The wire number of an answer's word; one the wire cannot carry is an engine bug, surfaced as INTERNAL
/// rather than sent as a silently wrong decision.
fn number(table: &Enum, word: &str) -> Result<i32, Refusal> {
    table.number(word).ok_or_else(|| Refusal::Internal(format!("`{word}` is no {}", table.name)))
}

/// convert.response_to_proto without the explanation.
pub fn response_to_proto(decision: &model::Decision) -> Result<pb::CheckResponse, Refusal> {
    let mut items = Vec::with_capacity(decision.items.len());
    for result in &decision.items {
        items.push(pb::ItemResult {
            item_id: result.item_id.clone(),
            outcome: number(&OUTCOMES, &result.outcome)?,
            decision: number(&DECISIONS, &result.decision)?,
            governed_by: result.governed_by.clone(),
        });
    }
    let mut findings = Vec::with_capacity(decision.findings.len());
    for finding in &decision.findings {
        findings.push(pb::Finding {
            agreement: finding.agreement.clone(),
            version: finding.version,
            rule: finding.rule.clone(),
            item_id: finding.item_id.clone(),
            effect: number(&EFFECTS, &finding.effect)?,
            reason_code: finding.reason_code.clone(),
            message: finding.message.clone(),
        });
    }
    Ok(pb::CheckResponse {
        decision: number(&DECISIONS, &decision.decision)?,
        obligations: decision.obligations.iter().map(obligation).collect::<Result<_, _>>()?,
        items,
        findings,
        reason: decision.reason.clone(),
        policy_revision: decision.policy_revision.clone(),
        explanation: Vec::new(),
        decision_id: String::new(),
    })
}

fn obligation(obligation: &model::Obligation) -> Result<pb::Obligation, Refusal> {
    let mut spans = Vec::with_capacity(obligation.spans.len());
    for s in &obligation.spans {
        spans.push(pb::Span {
            start: offset(s.start)?,
            end: offset(s.end)?,
            reveals: s.reveals.clone(),
            field: s.field.clone(),
            item_id: s.item_id.clone(),
        });
    }
    Ok(pb::Obligation {
        r#type: obligation.r#type.clone(),
        item_ids: obligation.item_ids.clone(),
        person_ids: obligation.person_ids.clone(),
        spans,
        names: obligation.names.clone(),
        scope: obligation.scope.clone(),
        until: timestamp(obligation.until),
        label: obligation.label.clone(),
        notice: obligation.notice.clone(),
        descriptor: obligation.descriptor.clone(),
        link: obligation.link.clone(),
    })
}

/// A span's offset as the wire's uint32; one outside it is an engine bug (Python's ValueError): INTERNAL.
fn offset(value: i64) -> Result<u32, Refusal> {
    u32::try_from(value).map_err(|_| Refusal::Internal(format!("span offset {value} is no uint32")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tables_are_the_protos() {
        for n in 0..4 {
            assert_eq!(Some(ACTIONS.values[n as usize]), pb::Action::try_from(n).ok().map(|a| a.as_str_name()));
        }
        for n in 0..12 {
            let name = pb::DestinationKind::try_from(n).map(|k| k.as_str_name()).ok();
            assert_eq!(Some(DESTINATION_KINDS.values[n as usize]), name);
        }
        for n in 0..7 {
            assert_eq!(Some(ITEM_KINDS.values[n as usize]), pb::ItemKind::try_from(n).ok().map(|k| k.as_str_name()));
        }
        assert_eq!(ITEM_KINDS.word(0).as_deref(), Some("message"));
        assert_eq!(DESTINATION_KINDS.word(10).as_deref(), Some("ai_tool"));
        assert_eq!(DECISIONS.number("allow_with_obligations"), Some(2));
        assert_eq!(DECISIONS.number(""), None);
    }

    #[test]
    fn text_reads_as_python_writes_it() {
        assert_eq!(to_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(to_iso(1_800_000_000 * SECOND + 500_000_000), "2027-01-15T08:00:00.500Z");
        assert_eq!(to_iso(FIRST_INSTANT), "0001-01-01T00:00:00Z");
        assert_eq!(to_iso(LAST_INSTANT), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(format_g(300.0), "300");
        assert_eq!(format_g(0.5), "0.5");
        assert_eq!(format_g(1e6), "1e+06");
        assert_eq!(format_g(1.5e-5), "1.5e-05");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(str_repr("a'b"), "\"a'b\"");
        assert_eq!(str_repr("a\u{0}\u{85}é\u{200b}"), "'a\\x00\\x85é\\u200b'");
        assert_eq!(true_divide(3, 2), 1.5);
        assert_eq!(true_divide(-(1 << 60) - 1, SECOND), -((1i128 << 60) as f64 / 1e9));
        assert_eq!(scheme_key(" ＴＬＰ\u{200b}"), "tlp");
        assert_eq!(label_word("\u{1c} AMBER\u{3000}"), "amber");
    }

    #[test]
    fn bytes_upb_refuses_are_refused() {
        for (bytes, words) in [
            (&b"\x0a"[..], "Wire format was corrupt"),
            (b"\x52\x01\xff", "String field had bad UTF-8"),
            // An item whose label ends in its value's tag: upb reads the length, and the bad UTF-8, past it.
            (b"\x22\x04\x2a\x01\x12\x01\xcd", "String field had bad UTF-8"),
            (b"\x22\x04\x2a\x01\x12\x00\x00", "Wire format was corrupt"),
            (b"\x0e", "Wire format was corrupt"),
        ] {
            let Err(Refusal::Invalid(violations)) = decode_check(bytes) else { panic!("{bytes:?} read") };
            assert!(violations[0].description.contains(words), "{bytes:?}");
        }
        assert!(decode_check(b"\x0a\x02\x08\x01\x13\x14").is_ok()); // a field of another wire type is unknown
    }
}

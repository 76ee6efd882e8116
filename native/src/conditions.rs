//! Conditions, facts and messages of the compiled form as evaluated here:
//! service/discretion/engine/build.py (the predicates) and facts.py (the
//! getters) in Rust, with the same semantics to the letter (the differential
//! tests compare the two).
//!
//! The reference evaluator compares Python values, so this module carries
//! Python's value semantics where a rule can reach them: `True == 1`,
//! `1 == 1.0`, lists compared element by element, a `TypeError` where Python
//! orders a text against a number, and `str()` of what a message shows.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use crate::compiled::{Failure, Scope};
use crate::model::{
    Actor, Adoption, Any, Attribution, Consent, Destination, Group, Item, Label, Person, Purpose, Recipient, Service,
    Session, AUTHORED_KINDS,
};

// ---- values ---------------------------------------------------------------------

/// A record of the request model (a Python dataclass), by reference.
#[derive(Clone, Copy, Debug)]
pub enum Record<'a> {
    Person(&'a Person),
    Actor(&'a Actor),
    Adoption(&'a Adoption),
    Group(&'a Group),
    Label(&'a Label),
    Consent(&'a Consent),
    Session(&'a Session),
    Item(&'a Item),
    Recipient(&'a Recipient),
    Service(&'a Service),
    Destination(&'a Destination),
    Attribution(&'a Attribution),
    Purpose(&'a Purpose),
}

/// A list field of the request model: a Python tuple.
#[derive(Clone, Copy, Debug)]
pub enum Tuple<'a> {
    Texts(&'a [String]),
    People(&'a [Person]),
    Adoptions(&'a [Adoption]),
    Labels(&'a [Label]),
    Consents(&'a [Consent]),
    Recipients(&'a [Recipient]),
}

/// A value a fact path reads: borrowed from the request where it can be.
/// An instant is a Python int, as in the reference evaluator.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(Cow<'a, str>),
    /// A Python list written in a rule (a literal).
    List(Vec<Value<'a>>),
    /// A Python list a custom attribute holds.
    AnyList(&'a [Any]),
    /// A dict of custom attributes.
    AnyMap(&'a BTreeMap<String, Any>),
    /// A dict of text (a label's parameters, an adoption's labels), in the order given.
    Pairs(&'a [(String, String)]),
    Tuple(Tuple<'a>),
    Record(Record<'a>),
}

impl<'a> Value<'a> {
    /// Python's `value is None`.
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
    /// The text, when the value is a text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    /// The instant, when the value is one (an instant is a Python int).
    pub fn as_instant(&self) -> Option<crate::model::Instant> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Python's `str(value)` of the value the reference evaluator reads, as
    /// a message or a parameter shows it.
    pub fn python_str(&self) -> String {
        match self {
            Value::Text(t) => t.to_string(),
            _ => self.python_repr(),
        }
    }

    fn text(t: &'a str) -> Value<'a> {
        Value::Text(Cow::Borrowed(t))
    }

    fn instant(i: Option<i128>) -> Value<'a> {
        i.map_or(Value::None, Value::Int)
    }

    /// A custom attribute as the Python value convert._plain makes of it.
    pub fn of_any(a: &'a Any) -> Value<'a> {
        match a {
            Any::Null => Value::None,
            Any::Bool(b) => Value::Bool(*b),
            Any::Int(i) => Value::Int(*i as i128),
            Any::Number(f) => Value::Float(*f),
            Any::Text(t) => Value::text(t),
            Any::List(l) => Value::AnyList(l),
            Any::Map(m) => Value::AnyMap(m),
        }
    }

    /// Python's `type(value).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Text(_) => "str",
            Value::List(_) | Value::AnyList(_) => "list",
            Value::AnyMap(_) | Value::Pairs(_) => "dict",
            Value::Tuple(_) => "tuple",
            Value::Record(r) => r.class(),
        }
    }

    /// The elements of a list or tuple.
    fn elements(&self) -> Option<Vec<Value<'a>>> {
        Some(match self {
            Value::List(l) => l.clone(),
            Value::AnyList(l) => l.iter().map(Value::of_any).collect(),
            Value::Tuple(t) => t.elements(),
            _ => return None,
        })
    }

    /// A dict's items, the last of a repeated key winning as in `dict(pairs)`.
    fn items(&self) -> Option<Vec<(&'a str, Value<'a>)>> {
        match self {
            Value::AnyMap(m) => Some(m.iter().map(|(k, v)| (k.as_str(), Value::of_any(v))).collect()),
            Value::Pairs(p) => {
                let mut items: Vec<(&'a str, Value<'a>)> = Vec::new();
                for (k, v) in p.iter() {
                    match items.iter_mut().find(|(key, _)| *key == k.as_str()) {
                        Some(slot) => slot.1 = Value::text(v),
                        None => items.push((k.as_str(), Value::text(v))),
                    }
                }
                Some(items)
            }
            _ => None,
        }
    }

    fn number(&self) -> Option<Number> {
        match self {
            Value::Bool(b) => Some(Number::Int(*b as i128)),
            Value::Int(i) => Some(Number::Int(*i)),
            Value::Float(f) => Some(Number::Float(*f)),
            _ => None,
        }
    }

    /// Python's `repr(value)`.
    pub fn python_repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Text(t) => str_repr(t),
            Value::List(_) | Value::AnyList(_) => {
                let parts: Vec<String> = self.elements().unwrap_or_default().iter().map(Value::python_repr).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Tuple(t) => {
                let parts: Vec<String> = t.elements().iter().map(Value::python_repr).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            // A dict of custom attributes shows its keys sorted (the model keeps no insertion order).
            Value::AnyMap(_) | Value::Pairs(_) => {
                let parts: Vec<String> = self
                    .items()
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| format!("{}: {}", str_repr(k), v.python_repr()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Value::Record(r) => {
                let parts: Vec<String> = r
                    .names()
                    .iter()
                    .map(|(name, _)| format!("{name}={}", r.field(name).map_or_else(String::new, |v| v.python_repr())))
                    .collect();
                format!("{}({})", r.class(), parts.join(", "))
            }
        }
    }
}

impl<'a> Tuple<'a> {
    fn elements(&self) -> Vec<Value<'a>> {
        match *self {
            Tuple::Texts(t) => t.iter().map(|s| Value::text(s)).collect(),
            Tuple::People(p) => p.iter().map(|x| Value::Record(Record::Person(x))).collect(),
            Tuple::Adoptions(p) => p.iter().map(|x| Value::Record(Record::Adoption(x))).collect(),
            Tuple::Labels(p) => p.iter().map(|x| Value::Record(Record::Label(x))).collect(),
            Tuple::Consents(p) => p.iter().map(|x| Value::Record(Record::Consent(x))).collect(),
            Tuple::Recipients(p) => p.iter().map(|x| Value::Record(Record::Recipient(x))).collect(),
        }
    }
}

#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

/// Python's exact comparison of numbers (an int with a float compares exactly, NaN with nothing).
fn compare_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
        (Number::Int(x), Number::Float(y)) => compare_int_float(x, y),
        (Number::Float(x), Number::Int(y)) => compare_int_float(y, x).map(Ordering::reverse),
    }
}

fn compare_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^126: every i128 fits below it in magnitude.
    const BOUND: f64 = 85_070_591_730_234_615_865_843_651_857_942_052_864.0;
    if f >= BOUND {
        return Some(Ordering::Less);
    }
    if f <= -BOUND {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - whole)),
        other => Some(other),
    }
}

/// Python's `a == b` for the values a rule reads and writes.
pub fn py_eq(a: &Value<'_>, b: &Value<'_>) -> bool {
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return compare_numbers(x, y) == Some(Ordering::Equal);
    }
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::List(_) | Value::AnyList(_), Value::List(_) | Value::AnyList(_))
        | (Value::Tuple(_), Value::Tuple(_)) => {
            let (x, y) = (a.elements().unwrap_or_default(), b.elements().unwrap_or_default());
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| py_eq(p, q))
        }
        (Value::AnyMap(_) | Value::Pairs(_), Value::AnyMap(_) | Value::Pairs(_)) => {
            let (x, y) = (a.items().unwrap_or_default(), b.items().unwrap_or_default());
            x.len() == y.len() && x.iter().all(|(k, v)| y.iter().any(|(key, other)| key == k && py_eq(v, other)))
        }
        // A dataclass equals one of its own class whose fields are equal.
        (Value::Record(x), Value::Record(y)) => {
            x.class() == y.class()
                && x.names().iter().all(|(name, _)| match (x.field(name), y.field(name)) {
                    (Some(p), Some(q)) => py_eq(&p, &q),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// An ordering operator, as Python names it in a `TypeError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Order {
    fn symbol(self) -> &'static str {
        match self {
            Order::Lt => "<",
            Order::Le => "<=",
            Order::Gt => ">",
            Order::Ge => ">=",
        }
    }
    fn holds(self, ordering: Option<Ordering>) -> bool {
        match (self, ordering) {
            (_, None) => false,
            (Order::Lt, Some(o)) => o == Ordering::Less,
            (Order::Le, Some(o)) => o != Ordering::Greater,
            (Order::Gt, Some(o)) => o == Ordering::Greater,
            (Order::Ge, Some(o)) => o != Ordering::Less,
        }
    }
}

/// Python's `a < b` (and the others): a `TypeError` between values Python does not order.
pub fn py_order(op: Order, a: &Value<'_>, b: &Value<'_>) -> Result<bool, Failure> {
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return Ok(op.holds(compare_numbers(x, y)));
    }
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => Ok(op.holds(Some(x.as_ref().cmp(y.as_ref())))),
        (Value::List(_) | Value::AnyList(_), Value::List(_) | Value::AnyList(_))
        | (Value::Tuple(_), Value::Tuple(_)) => {
            // Python's sequence ordering: the first elements that differ decide, else the lengths.
            let (x, y) = (a.elements().unwrap_or_default(), b.elements().unwrap_or_default());
            match x.iter().zip(&y).find(|(p, q)| !py_eq(p, q)) {
                Some((p, q)) => py_order(op, p, q),
                None => Ok(op.holds(Some(x.len().cmp(&y.len())))),
            }
        }
        _ => Err(type_error(format!(
            "'{}' not supported between instances of '{}' and '{}'",
            op.symbol(),
            a.type_name(),
            b.type_name()
        ))),
    }
}

fn type_error(message: String) -> Failure {
    Failure(format!("TypeError: {message}"))
}

/// What decide._fail_closed says of a KeyError.
fn key_error(key: &str) -> Failure {
    Failure(format!("the fact `{key}` is missing from the request"))
}

/// Python's `hash(value)` fails for what is mutable: a list, a dict, a dataclass (and a tuple holding one).
fn unhashable(value: &Value<'_>) -> Option<&'static str> {
    match value {
        Value::List(_) | Value::AnyList(_) | Value::AnyMap(_) | Value::Pairs(_) | Value::Record(_) => {
            Some(value.type_name())
        }
        Value::Tuple(t) => t.elements().iter().find_map(|e| unhashable(e)),
        _ => None,
    }
}

/// Python's `value in frozenset(values)`.
fn in_set(value: &Value<'_>, values: &[Value<'_>]) -> Result<bool, Failure> {
    if let Some(name) = unhashable(value) {
        return Err(type_error(format!("unhashable type: '{name}'")));
    }
    Ok(values.iter().any(|v| py_eq(value, v)))
}

/// Python's `element in container` for a list or tuple.
fn contained(element: &Value<'_>, container: &Value<'_>) -> Result<bool, Failure> {
    match container.elements() {
        Some(elements) => Ok(elements.iter().any(|e| py_eq(e, element))),
        None => match container.items() {
            Some(items) => {
                if let Some(name) = unhashable(element) {
                    return Err(type_error(format!("unhashable type: '{name}'")));
                }
                Ok(items.iter().any(|(k, _)| py_eq(&Value::text(k), element)))
            }
            None => match (element, container) {
                (Value::Text(e), Value::Text(c)) => Ok(c.contains(e.as_ref())),
                (_, Value::Text(_)) => Err(type_error(format!(
                    "'in <string>' requires string as left operand, not {}",
                    element.type_name()
                ))),
                _ => Err(type_error(format!("argument of type '{}' is not iterable", container.type_name()))),
            },
        },
    }
}

/// Python's `repr(float)`: the shortest digits that read back, positional from 1e-4 up to 1e16.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let point = exponent + 1; // where the decimal point falls in `digits`
    if !(-4 < point && point <= 16) {
        let rest = &digits[1..];
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{}{fraction}e{exp_sign}{:02}", &digits[..1], exponent.abs());
    }
    if point <= 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-point) as usize));
    }
    let point = point as usize;
    if digits.len() <= point {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

/// Python's `repr(str)`: single quotes unless only double quotes avoid escaping, non-printables escaped.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` of one character: not a control, format, private, unassigned or separator
/// character, the space excepted.
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let code = c as u32;
    UNPRINTABLE
        .binary_search_by(|&(low, high)| {
            if high < code {
                Ordering::Less
            } else if low > code {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_err()
}

/// The non-ASCII characters Python's `str.isprintable()` refuses, as closed ranges, from the Unicode
/// database of the reference's Python (14.0.0; the `regex` crate's is newer, and
/// a character assigned since is printable there and escaped by Python). Written from the runs of
/// `not chr(cp).isprintable()` over `range(0x80, 0x110000)` under Python 3.11: regenerate with the
/// reference's Python when it moves to another Unicode version.
#[rustfmt::skip]
const UNPRINTABLE: [(u32, u32); 700] = [
    (0x80, 0xA0), (0xAD, 0xAD), (0x378, 0x379), (0x380, 0x383), (0x38B, 0x38B), (0x38D, 0x38D), (0x3A2, 0x3A2),
    (0x530, 0x530), (0x557, 0x558), (0x58B, 0x58C), (0x590, 0x590), (0x5C8, 0x5CF), (0x5EB, 0x5EE), (0x5F5, 0x605),
    (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70E, 0x70F), (0x74B, 0x74C), (0x7B2, 0x7BF), (0x7FB, 0x7FC), (0x82E, 0x82F),
    (0x83F, 0x83F), (0x85C, 0x85D), (0x85F, 0x85F), (0x86B, 0x86F), (0x88F, 0x897), (0x8E2, 0x8E2), (0x984, 0x984),
    (0x98D, 0x98E), (0x991, 0x992), (0x9A9, 0x9A9), (0x9B1, 0x9B1), (0x9B3, 0x9B5), (0x9BA, 0x9BB), (0x9C5, 0x9C6),
    (0x9C9, 0x9CA), (0x9CF, 0x9D6), (0x9D8, 0x9DB), (0x9DE, 0x9DE), (0x9E4, 0x9E5), (0x9FF, 0xA00), (0xA04, 0xA04),
    (0xA0B, 0xA0E), (0xA11, 0xA12), (0xA29, 0xA29), (0xA31, 0xA31), (0xA34, 0xA34), (0xA37, 0xA37), (0xA3A, 0xA3B),
    (0xA3D, 0xA3D), (0xA43, 0xA46), (0xA49, 0xA4A), (0xA4E, 0xA50), (0xA52, 0xA58), (0xA5D, 0xA5D), (0xA5F, 0xA65),
    (0xA77, 0xA80), (0xA84, 0xA84), (0xA8E, 0xA8E), (0xA92, 0xA92), (0xAA9, 0xAA9), (0xAB1, 0xAB1), (0xAB4, 0xAB4),
    (0xABA, 0xABB), (0xAC6, 0xAC6), (0xACA, 0xACA), (0xACE, 0xACF), (0xAD1, 0xADF), (0xAE4, 0xAE5), (0xAF2, 0xAF8),
    (0xB00, 0xB00), (0xB04, 0xB04), (0xB0D, 0xB0E), (0xB11, 0xB12), (0xB29, 0xB29), (0xB31, 0xB31), (0xB34, 0xB34),
    (0xB3A, 0xB3B), (0xB45, 0xB46), (0xB49, 0xB4A), (0xB4E, 0xB54), (0xB58, 0xB5B), (0xB5E, 0xB5E), (0xB64, 0xB65),
    (0xB78, 0xB81), (0xB84, 0xB84), (0xB8B, 0xB8D), (0xB91, 0xB91), (0xB96, 0xB98), (0xB9B, 0xB9B), (0xB9D, 0xB9D),
    (0xBA0, 0xBA2), (0xBA5, 0xBA7), (0xBAB, 0xBAD), (0xBBA, 0xBBD), (0xBC3, 0xBC5), (0xBC9, 0xBC9), (0xBCE, 0xBCF),
    (0xBD1, 0xBD6), (0xBD8, 0xBE5), (0xBFB, 0xBFF), (0xC0D, 0xC0D), (0xC11, 0xC11), (0xC29, 0xC29), (0xC3A, 0xC3B),
    (0xC45, 0xC45), (0xC49, 0xC49), (0xC4E, 0xC54), (0xC57, 0xC57), (0xC5B, 0xC5C), (0xC5E, 0xC5F), (0xC64, 0xC65),
    (0xC70, 0xC76), (0xC8D, 0xC8D), (0xC91, 0xC91), (0xCA9, 0xCA9), (0xCB4, 0xCB4), (0xCBA, 0xCBB), (0xCC5, 0xCC5),
    (0xCC9, 0xCC9), (0xCCE, 0xCD4), (0xCD7, 0xCDC), (0xCDF, 0xCDF), (0xCE4, 0xCE5), (0xCF0, 0xCF0), (0xCF3, 0xCFF),
    (0xD0D, 0xD0D), (0xD11, 0xD11), (0xD45, 0xD45), (0xD49, 0xD49), (0xD50, 0xD53), (0xD64, 0xD65), (0xD80, 0xD80),
    (0xD84, 0xD84), (0xD97, 0xD99), (0xDB2, 0xDB2), (0xDBC, 0xDBC), (0xDBE, 0xDBF), (0xDC7, 0xDC9), (0xDCB, 0xDCE),
    (0xDD5, 0xDD5), (0xDD7, 0xDD7), (0xDE0, 0xDE5), (0xDF0, 0xDF1), (0xDF5, 0xE00), (0xE3B, 0xE3E), (0xE5C, 0xE80),
    (0xE83, 0xE83), (0xE85, 0xE85), (0xE8B, 0xE8B), (0xEA4, 0xEA4), (0xEA6, 0xEA6), (0xEBE, 0xEBF), (0xEC5, 0xEC5),
    (0xEC7, 0xEC7), (0xECE, 0xECF), (0xEDA, 0xEDB), (0xEE0, 0xEFF), (0xF48, 0xF48), (0xF6D, 0xF70), (0xF98, 0xF98),
    (0xFBD, 0xFBD), (0xFCD, 0xFCD), (0xFDB, 0xFFF), (0x10C6, 0x10C6), (0x10C8, 0x10CC), (0x10CE, 0x10CF), (0x1249, 0x1249),
    (0x124E, 0x124F), (0x1257, 0x1257), (0x1259, 0x1259), (0x125E, 0x125F), (0x1289, 0x1289), (0x128E, 0x128F), (0x12B1, 0x12B1),
    (0x12B6, 0x12B7), (0x12BF, 0x12BF), (0x12C1, 0x12C1), (0x12C6, 0x12C7), (0x12D7, 0x12D7), (0x1311, 0x1311), (0x1316, 0x1317),
    (0x135B, 0x135C), (0x137D, 0x137F), (0x139A, 0x139F), (0x13F6, 0x13F7), (0x13FE, 0x13FF), (0x1680, 0x1680), (0x169D, 0x169F),
    (0x16F9, 0x16FF), (0x1716, 0x171E), (0x1737, 0x173F), (0x1754, 0x175F), (0x176D, 0x176D), (0x1771, 0x1771), (0x1774, 0x177F),
    (0x17DE, 0x17DF), (0x17EA, 0x17EF), (0x17FA, 0x17FF), (0x180E, 0x180E), (0x181A, 0x181F), (0x1879, 0x187F), (0x18AB, 0x18AF),
    (0x18F6, 0x18FF), (0x191F, 0x191F), (0x192C, 0x192F), (0x193C, 0x193F), (0x1941, 0x1943), (0x196E, 0x196F), (0x1975, 0x197F),
    (0x19AC, 0x19AF), (0x19CA, 0x19CF), (0x19DB, 0x19DD), (0x1A1C, 0x1A1D), (0x1A5F, 0x1A5F), (0x1A7D, 0x1A7E), (0x1A8A, 0x1A8F),
    (0x1A9A, 0x1A9F), (0x1AAE, 0x1AAF), (0x1ACF, 0x1AFF), (0x1B4D, 0x1B4F), (0x1B7F, 0x1B7F), (0x1BF4, 0x1BFB), (0x1C38, 0x1C3A),
    (0x1C4A, 0x1C4C), (0x1C89, 0x1C8F), (0x1CBB, 0x1CBC), (0x1CC8, 0x1CCF), (0x1CFB, 0x1CFF), (0x1F16, 0x1F17), (0x1F1E, 0x1F1F),
    (0x1F46, 0x1F47), (0x1F4E, 0x1F4F), (0x1F58, 0x1F58), (0x1F5A, 0x1F5A), (0x1F5C, 0x1F5C), (0x1F5E, 0x1F5E), (0x1F7E, 0x1F7F),
    (0x1FB5, 0x1FB5), (0x1FC5, 0x1FC5), (0x1FD4, 0x1FD5), (0x1FDC, 0x1FDC), (0x1FF0, 0x1FF1), (0x1FF5, 0x1FF5), (0x1FFF, 0x200F),
    (0x2028, 0x202F), (0x205F, 0x206F), (0x2072, 0x2073), (0x208F, 0x208F), (0x209D, 0x209F), (0x20C1, 0x20CF), (0x20F1, 0x20FF),
    (0x218C, 0x218F), (0x2427, 0x243F), (0x244B, 0x245F), (0x2B74, 0x2B75), (0x2B96, 0x2B96), (0x2CF4, 0x2CF8), (0x2D26, 0x2D26),
    (0x2D28, 0x2D2C), (0x2D2E, 0x2D2F), (0x2D68, 0x2D6E), (0x2D71, 0x2D7E), (0x2D97, 0x2D9F), (0x2DA7, 0x2DA7), (0x2DAF, 0x2DAF),
    (0x2DB7, 0x2DB7), (0x2DBF, 0x2DBF), (0x2DC7, 0x2DC7), (0x2DCF, 0x2DCF), (0x2DD7, 0x2DD7), (0x2DDF, 0x2DDF), (0x2E5E, 0x2E7F),
    (0x2E9A, 0x2E9A), (0x2EF4, 0x2EFF), (0x2FD6, 0x2FEF), (0x2FFC, 0x3000), (0x3040, 0x3040), (0x3097, 0x3098), (0x3100, 0x3104),
    (0x3130, 0x3130), (0x318F, 0x318F), (0x31E4, 0x31EF), (0x321F, 0x321F), (0xA48D, 0xA48F), (0xA4C7, 0xA4CF), (0xA62C, 0xA63F),
    (0xA6F8, 0xA6FF), (0xA7CB, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4), (0xA7DA, 0xA7F1), (0xA82D, 0xA82F), (0xA83A, 0xA83F),
    (0xA878, 0xA87F), (0xA8C6, 0xA8CD), (0xA8DA, 0xA8DF), (0xA954, 0xA95E), (0xA97D, 0xA97F), (0xA9CE, 0xA9CE), (0xA9DA, 0xA9DD),
    (0xA9FF, 0xA9FF), (0xAA37, 0xAA3F), (0xAA4E, 0xAA4F), (0xAA5A, 0xAA5B), (0xAAC3, 0xAADA), (0xAAF7, 0xAB00), (0xAB07, 0xAB08),
    (0xAB0F, 0xAB10), (0xAB17, 0xAB1F), (0xAB27, 0xAB27), (0xAB2F, 0xAB2F), (0xAB6C, 0xAB6F), (0xABEE, 0xABEF), (0xABFA, 0xABFF),
    (0xD7A4, 0xD7AF), (0xD7C7, 0xD7CA), (0xD7FC, 0xF8FF), (0xFA6E, 0xFA6F), (0xFADA, 0xFAFF), (0xFB07, 0xFB12), (0xFB18, 0xFB1C),
    (0xFB37, 0xFB37), (0xFB3D, 0xFB3D), (0xFB3F, 0xFB3F), (0xFB42, 0xFB42), (0xFB45, 0xFB45), (0xFBC3, 0xFBD2), (0xFD90, 0xFD91),
    (0xFDC8, 0xFDCE), (0xFDD0, 0xFDEF), (0xFE1A, 0xFE1F), (0xFE53, 0xFE53), (0xFE67, 0xFE67), (0xFE6C, 0xFE6F), (0xFE75, 0xFE75),
    (0xFEFD, 0xFF00), (0xFFBF, 0xFFC1), (0xFFC8, 0xFFC9), (0xFFD0, 0xFFD1), (0xFFD8, 0xFFD9), (0xFFDD, 0xFFDF), (0xFFE7, 0xFFE7),
    (0xFFEF, 0xFFFB), (0xFFFE, 0xFFFF), (0x1000C, 0x1000C), (0x10027, 0x10027), (0x1003B, 0x1003B), (0x1003E, 0x1003E), (0x1004E, 0x1004F),
    (0x1005E, 0x1007F), (0x100FB, 0x100FF), (0x10103, 0x10106), (0x10134, 0x10136), (0x1018F, 0x1018F), (0x1019D, 0x1019F), (0x101A1, 0x101CF),
    (0x101FE, 0x1027F), (0x1029D, 0x1029F), (0x102D1, 0x102DF), (0x102FC, 0x102FF), (0x10324, 0x1032C), (0x1034B, 0x1034F), (0x1037B, 0x1037F),
    (0x1039E, 0x1039E), (0x103C4, 0x103C7), (0x103D6, 0x103FF), (0x1049E, 0x1049F), (0x104AA, 0x104AF), (0x104D4, 0x104D7), (0x104FC, 0x104FF),
    (0x10528, 0x1052F), (0x10564, 0x1056E), (0x1057B, 0x1057B), (0x1058B, 0x1058B), (0x10593, 0x10593), (0x10596, 0x10596), (0x105A2, 0x105A2),
    (0x105B2, 0x105B2), (0x105BA, 0x105BA), (0x105BD, 0x105FF), (0x10737, 0x1073F), (0x10756, 0x1075F), (0x10768, 0x1077F), (0x10786, 0x10786),
    (0x107B1, 0x107B1), (0x107BB, 0x107FF), (0x10806, 0x10807), (0x10809, 0x10809), (0x10836, 0x10836), (0x10839, 0x1083B), (0x1083D, 0x1083E),
    (0x10856, 0x10856), (0x1089F, 0x108A6), (0x108B0, 0x108DF), (0x108F3, 0x108F3), (0x108F6, 0x108FA), (0x1091C, 0x1091E), (0x1093A, 0x1093E),
    (0x10940, 0x1097F), (0x109B8, 0x109BB), (0x109D0, 0x109D1), (0x10A04, 0x10A04), (0x10A07, 0x10A0B), (0x10A14, 0x10A14), (0x10A18, 0x10A18),
    (0x10A36, 0x10A37), (0x10A3B, 0x10A3E), (0x10A49, 0x10A4F), (0x10A59, 0x10A5F), (0x10AA0, 0x10ABF), (0x10AE7, 0x10AEA), (0x10AF7, 0x10AFF),
    (0x10B36, 0x10B38), (0x10B56, 0x10B57), (0x10B73, 0x10B77), (0x10B92, 0x10B98), (0x10B9D, 0x10BA8), (0x10BB0, 0x10BFF), (0x10C49, 0x10C7F),
    (0x10CB3, 0x10CBF), (0x10CF3, 0x10CF9), (0x10D28, 0x10D2F), (0x10D3A, 0x10E5F), (0x10E7F, 0x10E7F), (0x10EAA, 0x10EAA), (0x10EAE, 0x10EAF),
    (0x10EB2, 0x10EFF), (0x10F28, 0x10F2F), (0x10F5A, 0x10F6F), (0x10F8A, 0x10FAF), (0x10FCC, 0x10FDF), (0x10FF7, 0x10FFF), (0x1104E, 0x11051),
    (0x11076, 0x1107E), (0x110BD, 0x110BD), (0x110C3, 0x110CF), (0x110E9, 0x110EF), (0x110FA, 0x110FF), (0x11135, 0x11135), (0x11148, 0x1114F),
    (0x11177, 0x1117F), (0x111E0, 0x111E0), (0x111F5, 0x111FF), (0x11212, 0x11212), (0x1123F, 0x1127F), (0x11287, 0x11287), (0x11289, 0x11289),
    (0x1128E, 0x1128E), (0x1129E, 0x1129E), (0x112AA, 0x112AF), (0x112EB, 0x112EF), (0x112FA, 0x112FF), (0x11304, 0x11304), (0x1130D, 0x1130E),
    (0x11311, 0x11312), (0x11329, 0x11329), (0x11331, 0x11331), (0x11334, 0x11334), (0x1133A, 0x1133A), (0x11345, 0x11346), (0x11349, 0x1134A),
    (0x1134E, 0x1134F), (0x11351, 0x11356), (0x11358, 0x1135C), (0x11364, 0x11365), (0x1136D, 0x1136F), (0x11375, 0x113FF), (0x1145C, 0x1145C),
    (0x11462, 0x1147F), (0x114C8, 0x114CF), (0x114DA, 0x1157F), (0x115B6, 0x115B7), (0x115DE, 0x115FF), (0x11645, 0x1164F), (0x1165A, 0x1165F),
    (0x1166D, 0x1167F), (0x116BA, 0x116BF), (0x116CA, 0x116FF), (0x1171B, 0x1171C), (0x1172C, 0x1172F), (0x11747, 0x117FF), (0x1183C, 0x1189F),
    (0x118F3, 0x118FE), (0x11907, 0x11908), (0x1190A, 0x1190B), (0x11914, 0x11914), (0x11917, 0x11917), (0x11936, 0x11936), (0x11939, 0x1193A),
    (0x11947, 0x1194F), (0x1195A, 0x1199F), (0x119A8, 0x119A9), (0x119D8, 0x119D9), (0x119E5, 0x119FF), (0x11A48, 0x11A4F), (0x11AA3, 0x11AAF),
    (0x11AF9, 0x11BFF), (0x11C09, 0x11C09), (0x11C37, 0x11C37), (0x11C46, 0x11C4F), (0x11C6D, 0x11C6F), (0x11C90, 0x11C91), (0x11CA8, 0x11CA8),
    (0x11CB7, 0x11CFF), (0x11D07, 0x11D07), (0x11D0A, 0x11D0A), (0x11D37, 0x11D39), (0x11D3B, 0x11D3B), (0x11D3E, 0x11D3E), (0x11D48, 0x11D4F),
    (0x11D5A, 0x11D5F), (0x11D66, 0x11D66), (0x11D69, 0x11D69), (0x11D8F, 0x11D8F), (0x11D92, 0x11D92), (0x11D99, 0x11D9F), (0x11DAA, 0x11EDF),
    (0x11EF9, 0x11FAF), (0x11FB1, 0x11FBF), (0x11FF2, 0x11FFE), (0x1239A, 0x123FF), (0x1246F, 0x1246F), (0x12475, 0x1247F), (0x12544, 0x12F8F),
    (0x12FF3, 0x12FFF), (0x1342F, 0x143FF), (0x14647, 0x167FF), (0x16A39, 0x16A3F), (0x16A5F, 0x16A5F), (0x16A6A, 0x16A6D), (0x16ABF, 0x16ABF),
    (0x16ACA, 0x16ACF), (0x16AEE, 0x16AEF), (0x16AF6, 0x16AFF), (0x16B46, 0x16B4F), (0x16B5A, 0x16B5A), (0x16B62, 0x16B62), (0x16B78, 0x16B7C),
    (0x16B90, 0x16E3F), (0x16E9B, 0x16EFF), (0x16F4B, 0x16F4E), (0x16F88, 0x16F8E), (0x16FA0, 0x16FDF), (0x16FE5, 0x16FEF), (0x16FF2, 0x16FFF),
    (0x187F8, 0x187FF), (0x18CD6, 0x18CFF), (0x18D09, 0x1AFEF), (0x1AFF4, 0x1AFF4), (0x1AFFC, 0x1AFFC), (0x1AFFF, 0x1AFFF), (0x1B123, 0x1B14F),
    (0x1B153, 0x1B163), (0x1B168, 0x1B16F), (0x1B2FC, 0x1BBFF), (0x1BC6B, 0x1BC6F), (0x1BC7D, 0x1BC7F), (0x1BC89, 0x1BC8F), (0x1BC9A, 0x1BC9B),
    (0x1BCA0, 0x1CEFF), (0x1CF2E, 0x1CF2F), (0x1CF47, 0x1CF4F), (0x1CFC4, 0x1CFFF), (0x1D0F6, 0x1D0FF), (0x1D127, 0x1D128), (0x1D173, 0x1D17A),
    (0x1D1EB, 0x1D1FF), (0x1D246, 0x1D2DF), (0x1D2F4, 0x1D2FF), (0x1D357, 0x1D35F), (0x1D379, 0x1D3FF), (0x1D455, 0x1D455), (0x1D49D, 0x1D49D),
    (0x1D4A0, 0x1D4A1), (0x1D4A3, 0x1D4A4), (0x1D4A7, 0x1D4A8), (0x1D4AD, 0x1D4AD), (0x1D4BA, 0x1D4BA), (0x1D4BC, 0x1D4BC), (0x1D4C4, 0x1D4C4),
    (0x1D506, 0x1D506), (0x1D50B, 0x1D50C), (0x1D515, 0x1D515), (0x1D51D, 0x1D51D), (0x1D53A, 0x1D53A), (0x1D53F, 0x1D53F), (0x1D545, 0x1D545),
    (0x1D547, 0x1D549), (0x1D551, 0x1D551), (0x1D6A6, 0x1D6A7), (0x1D7CC, 0x1D7CD), (0x1DA8C, 0x1DA9A), (0x1DAA0, 0x1DAA0), (0x1DAB0, 0x1DEFF),
    (0x1DF1F, 0x1DFFF), (0x1E007, 0x1E007), (0x1E019, 0x1E01A), (0x1E022, 0x1E022), (0x1E025, 0x1E025), (0x1E02B, 0x1E0FF), (0x1E12D, 0x1E12F),
    (0x1E13E, 0x1E13F), (0x1E14A, 0x1E14D), (0x1E150, 0x1E28F), (0x1E2AF, 0x1E2BF), (0x1E2FA, 0x1E2FE), (0x1E300, 0x1E7DF), (0x1E7E7, 0x1E7E7),
    (0x1E7EC, 0x1E7EC), (0x1E7EF, 0x1E7EF), (0x1E7FF, 0x1E7FF), (0x1E8C5, 0x1E8C6), (0x1E8D7, 0x1E8FF), (0x1E94C, 0x1E94F), (0x1E95A, 0x1E95D),
    (0x1E960, 0x1EC70), (0x1ECB5, 0x1ED00), (0x1ED3E, 0x1EDFF), (0x1EE04, 0x1EE04), (0x1EE20, 0x1EE20), (0x1EE23, 0x1EE23), (0x1EE25, 0x1EE26),
    (0x1EE28, 0x1EE28), (0x1EE33, 0x1EE33), (0x1EE38, 0x1EE38), (0x1EE3A, 0x1EE3A), (0x1EE3C, 0x1EE41), (0x1EE43, 0x1EE46), (0x1EE48, 0x1EE48),
    (0x1EE4A, 0x1EE4A), (0x1EE4C, 0x1EE4C), (0x1EE50, 0x1EE50), (0x1EE53, 0x1EE53), (0x1EE55, 0x1EE56), (0x1EE58, 0x1EE58), (0x1EE5A, 0x1EE5A),
    (0x1EE5C, 0x1EE5C), (0x1EE5E, 0x1EE5E), (0x1EE60, 0x1EE60), (0x1EE63, 0x1EE63), (0x1EE65, 0x1EE66), (0x1EE6B, 0x1EE6B), (0x1EE73, 0x1EE73),
    (0x1EE78, 0x1EE78), (0x1EE7D, 0x1EE7D), (0x1EE7F, 0x1EE7F), (0x1EE8A, 0x1EE8A), (0x1EE9C, 0x1EEA0), (0x1EEA4, 0x1EEA4), (0x1EEAA, 0x1EEAA),
    (0x1EEBC, 0x1EEEF), (0x1EEF2, 0x1EFFF), (0x1F02C, 0x1F02F), (0x1F094, 0x1F09F), (0x1F0AF, 0x1F0B0), (0x1F0C0, 0x1F0C0), (0x1F0D0, 0x1F0D0),
    (0x1F0F6, 0x1F0FF), (0x1F1AE, 0x1F1E5), (0x1F203, 0x1F20F), (0x1F23C, 0x1F23F), (0x1F249, 0x1F24F), (0x1F252, 0x1F25F), (0x1F266, 0x1F2FF),
    (0x1F6D8, 0x1F6DC), (0x1F6ED, 0x1F6EF), (0x1F6FD, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D9, 0x1F7DF), (0x1F7EC, 0x1F7EF), (0x1F7F1, 0x1F7FF),
    (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8AF), (0x1F8B2, 0x1F8FF), (0x1FA54, 0x1FA5F),
    (0x1FA6E, 0x1FA6F), (0x1FA75, 0x1FA77), (0x1FA7D, 0x1FA7F), (0x1FA87, 0x1FA8F), (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABF), (0x1FAC6, 0x1FACF),
    (0x1FADA, 0x1FADF), (0x1FAE8, 0x1FAEF), (0x1FAF7, 0x1FAFF), (0x1FB93, 0x1FB93), (0x1FBCB, 0x1FBEF), (0x1FBFA, 0x1FFFF), (0x2A6E0, 0x2A6FF),
    (0x2B739, 0x2B73F), (0x2B81E, 0x2B81F), (0x2CEA2, 0x2CEAF), (0x2EBE1, 0x2F7FF), (0x2FA1E, 0x2FFFF), (0x3134B, 0xE00FF), (0xE01F0, 0x10FFFF),
];

// ---- the fact catalogue (facts.py) ------------------------------------------------

/// The record types of the request model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Person,
    Actor,
    Adoption,
    Group,
    Label,
    Consent,
    Session,
    Item,
    Recipient,
    Service,
    Destination,
    Attribution,
    Purpose,
}

/// A field's type hint in engine/model.py.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    Text,
    Bool,
    /// `bool | None`: unset reads as yes.
    MaybeBool,
    Int,
    Instant,
    Texts,
    Records(RecordKind),
    /// `dict[str, str]`
    TextMap,
    Record(RecordKind),
}

use Hint as H;
use RecordKind as R;

const PERSON: &[(&str, Hint)] = &[
    ("id", H::Text),
    ("display_name", H::Text),
    ("organization", H::Text),
    ("handles", H::Texts),
    ("is_minor", H::Bool),
    ("aliases", H::Texts),
    ("organization_aliases", H::Texts),
];
const ACTOR: &[(&str, Hint)] = &[
    ("id", H::Text),
    ("display_name", H::Text),
    ("organization", H::Text),
    ("role", H::Text),
    ("member", H::Bool),
    ("joined_at", H::Instant),
    ("kind", H::Text),
    ("installed_by", H::Text),
];
const ADOPTION: &[(&str, Hint)] = &[
    ("agreement", H::Text),
    ("version", H::Int),
    ("effective_from", H::Instant),
    ("disclosed_at", H::Instant),
    ("replaces", H::Texts),
    ("segments", H::Texts),
    ("default_labels", H::TextMap),
    ("label_floors", H::TextMap),
];
const GROUP: &[(&str, Hint)] = &[
    ("id", H::Text),
    ("privacy", H::Text),
    ("visibility", H::Text),
    ("adoptions", H::Records(R::Adoption)),
    ("participants", H::Records(R::Person)),
    ("community", H::Texts),
    ("converted_at", H::Instant),
];
const LABEL: &[(&str, Hint)] =
    &[("scheme", H::Text), ("value", H::Text), ("set_by", H::Text), ("set_at", H::Instant), ("params", H::TextMap)];
const CONSENT: &[(&str, Hint)] = &[
    ("by", H::Text),
    ("scope", H::Text),
    ("recipients", H::Texts),
    ("granted_at", H::Instant),
    ("withdrawn_at", H::Instant),
];
const SESSION: &[(&str, Hint)] = &[("id", H::Text), ("segment", H::Text), ("speaker_count", H::Int)];
const ITEM: &[(&str, Hint)] = &[
    ("id", H::Text),
    ("author", H::Record(R::Person)),
    ("posted_at", H::Instant),
    ("retracted_at", H::Instant),
    ("labels", H::Records(R::Label)),
    ("consents", H::Records(R::Consent)),
    ("text", H::Text),
    ("kind", H::Text),
    ("listed_people", H::Records(R::Person)),
    ("session", H::Record(R::Session)),
    ("exchange_participants", H::Texts),
    ("conversation", H::Text),
    ("link", H::Text),
];
const RECIPIENT: &[(&str, Hint)] = &[("id", H::Text), ("organization", H::Text)];
const SERVICE: &[(&str, Hint)] = &[
    ("name", H::Text),
    ("organization", H::Text),
    ("new_controller", H::MaybeBool),
    ("may_train", H::MaybeBool),
    ("retains", H::MaybeBool),
];
const DESTINATION: &[(&str, Hint)] = &[
    ("kind", H::Text),
    ("channel", H::Text),
    ("recipients", H::Records(R::Recipient)),
    ("group_id", H::Text),
    ("publicly_accessible", H::Bool),
    ("service", H::Record(R::Service)),
];
const ATTRIBUTION: &[(&str, Hint)] =
    &[("author_identity", H::Bool), ("affiliation", H::Bool), ("descriptor", H::Text), ("link", H::Bool)];
const PURPOSE: &[(&str, Hint)] =
    &[("need_to_know", H::Bool), ("legal_basis", H::Text), ("notification_prohibited", H::Bool), ("use", H::Text)];

impl RecordKind {
    /// The fields in the order the dataclass declares them, with their types.
    pub fn fields(self) -> &'static [(&'static str, Hint)] {
        match self {
            R::Person => PERSON,
            R::Actor => ACTOR,
            R::Adoption => ADOPTION,
            R::Group => GROUP,
            R::Label => LABEL,
            R::Consent => CONSENT,
            R::Session => SESSION,
            R::Item => ITEM,
            R::Recipient => RECIPIENT,
            R::Service => SERVICE,
            R::Destination => DESTINATION,
            R::Attribution => ATTRIBUTION,
            R::Purpose => PURPOSE,
        }
    }
}

impl<'a> Record<'a> {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Person(_) => R::Person,
            Record::Actor(_) => R::Actor,
            Record::Adoption(_) => R::Adoption,
            Record::Group(_) => R::Group,
            Record::Label(_) => R::Label,
            Record::Consent(_) => R::Consent,
            Record::Session(_) => R::Session,
            Record::Item(_) => R::Item,
            Record::Recipient(_) => R::Recipient,
            Record::Service(_) => R::Service,
            Record::Destination(_) => R::Destination,
            Record::Attribution(_) => R::Attribution,
            Record::Purpose(_) => R::Purpose,
        }
    }

    fn class(&self) -> &'static str {
        match self.kind() {
            R::Person => "Person",
            R::Actor => "Actor",
            R::Adoption => "Adoption",
            R::Group => "Group",
            R::Label => "Label",
            R::Consent => "Consent",
            R::Session => "Session",
            R::Item => "Item",
            R::Recipient => "Recipient",
            R::Service => "Service",
            R::Destination => "Destination",
            R::Attribution => "Attribution",
            R::Purpose => "Purpose",
        }
    }

    fn names(&self) -> &'static [(&'static str, Hint)] {
        self.kind().fields()
    }

    /// The field's value, as Python reads the attribute.
    pub fn field(&self, name: &str) -> Option<Value<'a>> {
        let t = |s: &'a String| Value::text(s);
        Some(match (*self, name) {
            (Record::Person(p), "id") => t(&p.id),
            (Record::Person(p), "display_name") => t(&p.display_name),
            (Record::Person(p), "organization") => t(&p.organization),
            (Record::Person(p), "handles") => Value::Tuple(Tuple::Texts(&p.handles)),
            (Record::Person(p), "is_minor") => Value::Bool(p.is_minor),
            (Record::Person(p), "aliases") => Value::Tuple(Tuple::Texts(&p.aliases)),
            (Record::Person(p), "organization_aliases") => Value::Tuple(Tuple::Texts(&p.organization_aliases)),
            (Record::Actor(a), "id") => t(&a.id),
            (Record::Actor(a), "display_name") => t(&a.display_name),
            (Record::Actor(a), "organization") => t(&a.organization),
            (Record::Actor(a), "role") => t(&a.role),
            (Record::Actor(a), "member") => Value::Bool(a.member),
            (Record::Actor(a), "joined_at") => Value::instant(a.joined_at),
            (Record::Actor(a), "kind") => t(&a.kind),
            (Record::Actor(a), "installed_by") => t(&a.installed_by),
            (Record::Adoption(a), "agreement") => t(&a.agreement),
            (Record::Adoption(a), "version") => Value::Int(a.version as i128),
            (Record::Adoption(a), "effective_from") => Value::instant(a.effective_from),
            (Record::Adoption(a), "disclosed_at") => Value::instant(a.disclosed_at),
            (Record::Adoption(a), "replaces") => Value::Tuple(Tuple::Texts(&a.replaces)),
            (Record::Adoption(a), "segments") => Value::Tuple(Tuple::Texts(&a.segments)),
            (Record::Adoption(a), "default_labels") => Value::Pairs(&a.default_labels),
            (Record::Adoption(a), "label_floors") => Value::Pairs(&a.label_floors),
            (Record::Group(g), "id") => t(&g.id),
            (Record::Group(g), "privacy") => t(&g.privacy),
            (Record::Group(g), "visibility") => t(&g.visibility),
            (Record::Group(g), "adoptions") => Value::Tuple(Tuple::Adoptions(&g.adoptions)),
            (Record::Group(g), "participants") => Value::Tuple(Tuple::People(g.participants.people())),
            (Record::Group(g), "community") => Value::Tuple(Tuple::Texts(&g.community)),
            (Record::Group(g), "converted_at") => Value::instant(g.converted_at),
            (Record::Label(l), "scheme") => t(&l.scheme),
            (Record::Label(l), "value") => t(&l.value),
            (Record::Label(l), "set_by") => t(&l.set_by),
            (Record::Label(l), "set_at") => Value::instant(l.set_at),
            (Record::Label(l), "params") => Value::Pairs(&l.params),
            (Record::Consent(c), "by") => t(&c.by),
            (Record::Consent(c), "scope") => t(&c.scope),
            (Record::Consent(c), "recipients") => Value::Tuple(Tuple::Texts(&c.recipients)),
            (Record::Consent(c), "granted_at") => Value::instant(c.granted_at),
            (Record::Consent(c), "withdrawn_at") => Value::instant(c.withdrawn_at),
            (Record::Session(s), "id") => t(&s.id),
            (Record::Session(s), "segment") => t(&s.segment),
            (Record::Session(s), "speaker_count") => Value::Int(s.speaker_count as i128),
            (Record::Item(i), "id") => t(&i.id),
            (Record::Item(i), "author") => Value::Record(Record::Person(&i.author)),
            (Record::Item(i), "posted_at") => Value::instant(i.posted_at),
            (Record::Item(i), "retracted_at") => Value::instant(i.retracted_at),
            (Record::Item(i), "labels") => Value::Tuple(Tuple::Labels(&i.labels)),
            (Record::Item(i), "consents") => Value::Tuple(Tuple::Consents(&i.consents)),
            (Record::Item(i), "text") => t(&i.text),
            (Record::Item(i), "kind") => t(&i.kind),
            (Record::Item(i), "listed_people") => Value::Tuple(Tuple::People(&i.listed_people)),
            (Record::Item(i), "session") => Value::Record(Record::Session(&i.session)),
            (Record::Item(i), "exchange_participants") => Value::Tuple(Tuple::Texts(&i.exchange_participants)),
            (Record::Item(i), "conversation") => t(&i.conversation),
            (Record::Item(i), "link") => t(&i.link),
            (Record::Recipient(r), "id") => t(&r.id),
            (Record::Recipient(r), "organization") => t(&r.organization),
            (Record::Service(s), "name") => t(&s.name),
            (Record::Service(s), "organization") => t(&s.organization),
            (Record::Service(s), "new_controller") => s.new_controller.map_or(Value::None, Value::Bool),
            (Record::Service(s), "may_train") => s.may_train.map_or(Value::None, Value::Bool),
            (Record::Service(s), "retains") => s.retains.map_or(Value::None, Value::Bool),
            (Record::Destination(d), "kind") => t(&d.kind),
            (Record::Destination(d), "channel") => t(&d.channel),
            (Record::Destination(d), "recipients") => Value::Tuple(Tuple::Recipients(&d.recipients)),
            (Record::Destination(d), "group_id") => t(&d.group_id),
            (Record::Destination(d), "publicly_accessible") => Value::Bool(d.publicly_accessible),
            (Record::Destination(d), "service") => Value::Record(Record::Service(&d.service)),
            (Record::Attribution(a), "author_identity") => Value::Bool(a.author_identity),
            (Record::Attribution(a), "affiliation") => Value::Bool(a.affiliation),
            (Record::Attribution(a), "descriptor") => t(&a.descriptor),
            (Record::Attribution(a), "link") => Value::Bool(a.link),
            (Record::Purpose(p), "need_to_know") => Value::Bool(p.need_to_know),
            (Record::Purpose(p), "legal_basis") => t(&p.legal_basis),
            (Record::Purpose(p), "notification_prohibited") => Value::Bool(p.notification_prohibited),
            (Record::Purpose(p), "use") => t(&p.usage),
            _ => return None,
        })
    }
}

/// What a fact holds (facts.FactType).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    Instant,
    List,
    Map,
    Record,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FactType {
    pub kind: Kind,
    /// For lists and maps.
    pub element: Option<Box<FactType>>,
    /// For records.
    pub record: Option<RecordKind>,
    pub vocabulary: &'static [&'static str],
}

impl FactType {
    pub const fn of(kind: Kind) -> FactType {
        FactType { kind, element: None, record: None, vocabulary: &[] }
    }

    fn holding(kind: Kind, element: FactType) -> FactType {
        FactType { element: Some(Box::new(element)), ..FactType::of(kind) }
    }

    fn record(record: RecordKind) -> FactType {
        FactType { record: Some(record), ..FactType::of(Kind::Record) }
    }

    fn text(path: &str) -> FactType {
        FactType { vocabulary: vocabulary(path), ..FactType::of(Kind::Text) }
    }

    pub fn describe(&self) -> String {
        match (self.kind, &self.element) {
            (Kind::List, Some(element)) => format!("a list of {}s", element.describe()),
            (Kind::Text, _) => "text".into(),
            (Kind::Bool, _) => "true/false".into(),
            (Kind::Int, _) => "a number".into(),
            (Kind::Instant, _) => "a time".into(),
            (Kind::Map, _) => "a map".into(),
            (Kind::Record, _) => "a record".into(),
            (Kind::Any, _) => "any value".into(),
            (Kind::List, None) => "list".into(),
        }
    }

    fn of_hint(hint: Hint, path: &str) -> FactType {
        match hint {
            H::Text => FactType::text(path),
            H::Bool | H::MaybeBool => FactType::of(Kind::Bool),
            H::Int => FactType::of(Kind::Int),
            H::Instant => FactType::of(Kind::Instant),
            H::Texts => FactType::holding(Kind::List, FactType::text("")),
            H::Records(r) => FactType::holding(Kind::List, FactType::record(r)),
            H::TextMap => FactType::holding(Kind::Map, FactType::text("")),
            H::Record(r) => FactType::record(r),
        }
    }
}

/// model.VOCABULARIES: the words a text fact may take, by its path from a root.
fn vocabulary(path: &str) -> &'static [&'static str] {
    use crate::model::*;
    match path {
        "action" => &ACTIONS,
        "destination.kind" => &DESTINATION_KINDS,
        "item.kind" => &ITEM_KINDS,
        "format" => &FORMATS,
        "derived" => &DERIVATIONS,
        "actor.role" => &ROLES,
        "actor.kind" => &ACTOR_KINDS,
        "group.privacy" => &PRIVACIES,
        "group.visibility" => &VISIBILITIES,
        "purpose.legal_basis" => &LEGAL_BASES,
        "purpose.use" => &USES,
        "span_unit" => &SPAN_UNITS,
        _ => &[],
    }
}

/// facts.ROOTS: the first words of a fact path.
pub const ROOTS: [&str; 12] = [
    "action",
    "format",
    "derived",
    "quoted_text",
    "requested_at",
    "actor",
    "group",
    "item",
    "destination",
    "attribution",
    "purpose",
    "attributes",
];

#[derive(Clone, Debug)]
enum Root {
    Var(String),
    /// `item.label.<scheme>`
    Label(String),
    /// `item.label_param.<scheme>.<name>`
    LabelParam(String, String),
    Action,
    Format,
    Derived,
    QuotedText,
    RequestedAt,
    Actor,
    Group,
    Item,
    Destination,
    Attribution,
    Purpose,
    Attributes,
}

#[derive(Clone, Debug)]
enum Step {
    Field(&'static str),
    /// `value[key]`: a missing key is a missing fact.
    Key(String),
    /// `value.get(key, "")`
    KeyOrBlank(String),
}

/// A fact path resolved once, at build time, into a reader over the scope.
#[derive(Clone, Debug)]
pub struct Getter {
    root: Root,
    steps: Vec<Step>,
    /// A yes/no the platform did not give reads as yes.
    unset_is_yes: bool,
}

impl Getter {
    pub fn read<'a>(&self, scope: &Scope<'a>) -> Result<Value<'a>, Failure> {
        let request = scope.request;
        let mut value = match &self.root {
            Root::Var(name) => match scope.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => return Err(key_error(name)),
            },
            Root::Label(scheme) => Value::text(scope.label.get(scheme).map_or("", |v| v.as_str())),
            Root::LabelParam(scheme, name) => {
                Value::text(scope.label_param.get(scheme).and_then(|p| p.get(name)).map_or("", |v| v.as_str()))
            }
            Root::Action => Value::text(&request.action),
            Root::Format => Value::text(&request.format),
            Root::Derived => Value::text(&request.derived),
            Root::QuotedText => Value::text(&request.quoted_text),
            Root::RequestedAt => Value::Int(scope.requested_at),
            Root::Actor => Value::Record(Record::Actor(&request.actor)),
            Root::Group => Value::Record(Record::Group(&request.group)),
            Root::Item => Value::Record(Record::Item(scope.item)),
            Root::Destination => Value::Record(Record::Destination(&request.destination)),
            Root::Attribution => Value::Record(Record::Attribution(&request.attribution)),
            Root::Purpose => Value::Record(Record::Purpose(&request.purpose)),
            Root::Attributes => Value::AnyMap(&request.attributes),
        };
        for step in &self.steps {
            value = match step {
                Step::Field(name) => match &value {
                    Value::Record(r) => r.field(name),
                    _ => None,
                }
                .ok_or_else(|| {
                    Failure(format!("AttributeError: '{}' object has no attribute '{name}'", value.type_name()))
                })?,
                Step::Key(key) => subscript(&value, key)?,
                Step::KeyOrBlank(key) => match value.items() {
                    Some(items) => items.into_iter().find(|(k, _)| k == key).map_or(Value::text(""), |(_, v)| v),
                    None => {
                        return Err(Failure(format!(
                            "AttributeError: '{}' object has no attribute 'get'",
                            value.type_name()
                        )))
                    }
                },
            };
        }
        if self.unset_is_yes && value.is_none() {
            value = Value::Bool(true);
        }
        Ok(value)
    }
}

/// Python's `value[key]` with a text key.
fn subscript<'a>(value: &Value<'a>, key: &str) -> Result<Value<'a>, Failure> {
    if let Value::AnyMap(map) = value {
        return map.get(key).map(Value::of_any).ok_or_else(|| key_error(key));
    }
    if let Some(items) = value.items() {
        return items.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v).ok_or_else(|| key_error(key));
    }
    Err(type_error(match value {
        Value::Text(_) => "string indices must be integers, not 'str'".into(),
        Value::List(_) | Value::AnyList(_) => "list indices must be integers or slices, not str".into(),
        Value::Tuple(_) => "tuple indices must be integers or slices, not str".into(),
        other => format!("'{}' object is not subscriptable", other.type_name()),
    }))
}

/// Why a fact path names nothing (facts.UnknownFact's message).
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownFact(pub String);

/// A getter over the scope for `path`, and the type of what it returns (facts.resolve).
/// `variables`: the quantifiers' variables in scope, innermost last.
pub fn resolve(path: &str, variables: &[(String, FactType)]) -> Result<(Getter, FactType), UnknownFact> {
    let parts: Vec<&str> = path.split('.').collect();
    let (head, rest) = (parts[0], &parts[1..]);
    let bound = variables.iter().rev().find(|(name, _)| name == head);
    let (root, mut fact_type) = if let Some((_, fact_type)) = bound {
        (Root::Var(head.to_string()), fact_type.clone())
    } else if head == "item" && rest.first() == Some(&"label_param") {
        if rest.len() != 3 {
            return Err(UnknownFact(format!("`{path}` must name a label scheme and a parameter")));
        }
        let getter =
            Getter { root: Root::LabelParam(rest[1].into(), rest[2].into()), steps: vec![], unset_is_yes: false };
        return Ok((getter, FactType::text("")));
    } else if head == "item" && rest.first() == Some(&"label") {
        if rest.len() != 2 {
            return Err(UnknownFact(format!("`{path}` must name one label scheme")));
        }
        let getter = Getter { root: Root::Label(rest[1].into()), steps: vec![], unset_is_yes: false };
        return Ok((getter, FactType::text("")));
    } else {
        match root_of(head) {
            Some(found) => found,
            None => return Err(UnknownFact(format!("unknown fact `{path}`"))),
        }
    };
    let mut steps = Vec::new();
    let mut trail = vec![head];
    let mut unset_is_yes = false;
    for part in rest {
        trail.push(part);
        let at = trail.join(".");
        match fact_type.kind {
            Kind::Record => {
                let record = fact_type.record.unwrap_or(R::Item);
                let Some(&(name, hint)) = record.fields().iter().find(|(name, _)| name == part) else {
                    return Err(UnknownFact(format!("unknown fact `{at}`")));
                };
                steps.push(Step::Field(name));
                unset_is_yes = hint == H::MaybeBool;
                fact_type = FactType::of_hint(hint, if bound.is_some() { "" } else { &at });
            }
            Kind::Map => {
                // Custom attributes a rule needs but the request lacks are a missing fact: KeyError, and
                // the rule fails closed. Label parameters are text and simply empty when not given.
                let element = fact_type.element.take().map_or(FactType::of(Kind::Any), |e| *e);
                steps.push(if element.kind == Kind::Any {
                    Step::Key(part.to_string())
                } else {
                    Step::KeyOrBlank(part.to_string())
                });
                fact_type = element;
            }
            Kind::Any => steps.push(Step::Key(part.to_string())),
            _ => {
                return Err(UnknownFact(format!(
                    "`{}` is {} and has no `{part}`",
                    trail[..trail.len() - 1].join("."),
                    fact_type.describe()
                )))
            }
        }
    }
    Ok((Getter { root, steps, unset_is_yes }, fact_type))
}

fn root_of(head: &str) -> Option<(Root, FactType)> {
    Some(match head {
        "action" => (Root::Action, FactType::text(head)),
        "format" => (Root::Format, FactType::text(head)),
        "derived" => (Root::Derived, FactType::text(head)),
        "quoted_text" => (Root::QuotedText, FactType::text(head)),
        "requested_at" => (Root::RequestedAt, FactType::of(Kind::Instant)),
        "actor" => (Root::Actor, FactType::record(R::Actor)),
        "group" => (Root::Group, FactType::record(R::Group)),
        "item" => (Root::Item, FactType::record(R::Item)),
        "destination" => (Root::Destination, FactType::record(R::Destination)),
        "attribution" => (Root::Attribution, FactType::record(R::Attribution)),
        "purpose" => (Root::Purpose, FactType::record(R::Purpose)),
        "attributes" => (Root::Attributes, FactType::holding(Kind::Map, FactType::of(Kind::Any))),
        _ => return None,
    })
}

// ---- conditions (build.py's predicates) -------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Some,
    Every,
    None,
}

/// An operator comparing a fact with a literal or another fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    Order(Order),
}

/// One expression of a condition, built by build.rs from the compiled form.
#[derive(Debug)]
pub enum Expr {
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one holds.
    Any(Vec<Condition>),
    Not(Condition),
    /// Several tests of one fact, every one of which holds.
    Tests(Vec<Expr>),
    Quantified {
        quantifier: Quantifier,
        of: Getter,
        name: String,
        r#where: Condition,
        /// Some(id): a quantifier over `group.participants` that reads nothing but each participant, whose
        /// answer is the roster's alone and is kept with it under this id (`roster::Roster::answer`).
        roster: Option<u64>,
    },
    /// `eq`, `ne`, `contains` and the orderings with a literal.
    WithValue {
        op: Operator,
        fact: Getter,
        value: Value<'static>,
    },
    /// `in` / `not_in` a list of literals.
    InValues {
        negated: bool,
        fact: Getter,
        values: Vec<Value<'static>>,
    },
    WithFact {
        op: Operator,
        fact: Getter,
        other: Getter,
    },
    /// `lenient`: a map or any-typed fact, whose reading may fail, which reads as absent.
    Exists {
        fact: Getter,
        lenient: bool,
        present: bool,
    },
    Matches {
        fact: Getter,
        pattern: Arc<Regex>,
    },
    AuthorConsented(String),
    AuthorWithdrew(String),
    Consented {
        by: Getter,
        scope: String,
    },
    ActorIsAuthor(bool),
}

/// A rule's condition: every entry must hold; with none it always holds.
#[derive(Debug, Default)]
pub struct Condition {
    pub entries: Vec<Expr>,
}

impl Condition {
    pub fn holds(&self, scope: &mut Scope<'_>) -> Result<bool, Failure> {
        for entry in &self.entries {
            if !entry.holds(scope)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A blank text or a missing value is unknown, and an unknown equals nothing, not even another unknown.
fn known(value: &Value<'_>) -> bool {
    !value.is_none() && !py_eq(value, &Value::text(""))
}

/// Two recipients without an organization are not "of the same organization".
fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    py_eq(a, b) && known(a)
}

impl Expr {
    pub fn holds(&self, scope: &mut Scope<'_>) -> Result<bool, Failure> {
        match self {
            Expr::All(conditions) => {
                for c in conditions {
                    if !c.holds(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Any(conditions) => {
                for c in conditions {
                    if c.holds(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Expr::Not(c) => Ok(!c.holds(scope)?),
            Expr::Tests(tests) => {
                for t in tests {
                    if !t.holds(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Quantified { quantifier, of, name, r#where, roster: None } => {
                quantified(*quantifier, of, name, r#where, scope)
            }
            Expr::Quantified { quantifier, of, name, r#where, roster: Some(id) } => {
                let roster = scope.request.group.participants.clone();
                roster.answer(*id, || quantified(*quantifier, of, name, r#where, scope))
            }
            Expr::WithValue { op, fact, value } => with_value(*op, &fact.read(scope)?, value),
            Expr::InValues { negated, fact, values } => Ok(in_set(&fact.read(scope)?, values)? != *negated),
            Expr::WithFact { op, fact, other } => with_fact(*op, fact, other, scope),
            Expr::Exists { fact, lenient, present } => {
                let found = if *lenient {
                    // A missing or unreadable custom attribute is absent.
                    match fact.read(scope) {
                        Ok(value) => !(value.is_none() || py_eq(&value, &Value::text(""))),
                        Err(_) => false,
                    }
                } else {
                    let value = fact.read(scope)?;
                    let empty = matches!(&value, Value::Tuple(t) if t.elements().is_empty());
                    !value.is_none() && !py_eq(&value, &Value::text("")) && !empty
                };
                Ok(found == *present)
            }
            Expr::Matches { fact, pattern } => Ok(match fact.read(scope)? {
                Value::Text(text) => pattern.is_match(&text),
                _ => false,
            }),
            Expr::AuthorConsented(kind) => {
                // Who posted a transcript, a list, a file or an image cannot consent for the other
                // people in it: only a message's words are its author's alone.
                let item = scope.item;
                Ok(AUTHORED_KINDS.contains(&item.kind.as_str()) && crate::consent::holds(scope, &item.author.id, kind))
            }
            Expr::AuthorWithdrew(kind) => Ok(crate::consent::withdrawn(scope, &scope.item.author.id, kind)),
            Expr::Consented { by, scope: kind } => {
                let person = by.read(scope)?;
                // The fact is text (build.rs checks it), as `consent.holds` takes it.
                let person = person.python_str();
                Ok(crate::consent::holds(scope, &person, kind))
            }
            Expr::ActorIsAuthor(value) => Ok(scope.actor_is_author == *value),
        }
    }
}

/// Ids of quantifiers over the roster, unique in the process: a roster's kept answers are never read for
/// another condition, whichever policies come and go (`Expr::Quantified::roster`).
static QUANTIFIERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A quantifier, which keeps its answer with the roster when it reads `group.participants` and nothing
/// but each participant (and what is bound inside it).
pub fn quantifier(quantifier: Quantifier, of: Getter, name: String, r#where: Condition) -> Expr {
    let roster_alone = of.is_roster() && r#where.reads_only(&mut vec![name.clone()]);
    let roster = roster_alone.then(|| QUANTIFIERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    Expr::Quantified { quantifier, of, name, r#where, roster }
}

impl Getter {
    /// Whether it reads `group.participants` itself.
    fn is_roster(&self) -> bool {
        matches!(self.root, Root::Group) && matches!(self.steps.as_slice(), [Step::Field("participants")])
    }

    /// Whether it reads only a variable of `bound`.
    fn reads_only(&self, bound: &[String]) -> bool {
        matches!(&self.root, Root::Var(name) if bound.contains(name))
    }
}

impl Condition {
    /// Whether every fact it reads is a variable of `bound` (or one bound inside it): nothing of the request.
    fn reads_only(&self, bound: &mut Vec<String>) -> bool {
        self.entries.iter().all(|entry| entry.reads_only(bound))
    }
}

impl Expr {
    fn reads_only(&self, bound: &mut Vec<String>) -> bool {
        match self {
            Expr::All(conditions) | Expr::Any(conditions) => conditions.iter().all(|c| c.reads_only(bound)),
            Expr::Not(condition) => condition.reads_only(bound),
            Expr::Tests(tests) => tests.iter().all(|t| t.reads_only(bound)),
            Expr::Quantified { of, name, r#where, .. } => {
                if !of.reads_only(bound) {
                    return false;
                }
                bound.push(name.clone());
                let closed = r#where.reads_only(bound);
                bound.pop();
                closed
            }
            Expr::WithValue { fact, .. }
            | Expr::InValues { fact, .. }
            | Expr::Exists { fact, .. }
            | Expr::Matches { fact, .. } => fact.reads_only(bound),
            Expr::WithFact { fact, other, .. } => fact.reads_only(bound) && other.reads_only(bound),
            // They read the item, its consents or the actor.
            Expr::AuthorConsented(_) | Expr::AuthorWithdrew(_) | Expr::Consented { .. } | Expr::ActorIsAuthor(_) => {
                false
            }
        }
    }
}

fn quantified(
    quantifier: Quantifier,
    of: &Getter,
    name: &str,
    condition: &Condition,
    scope: &mut Scope<'_>,
) -> Result<bool, Failure> {
    let elements = of.read(scope)?.elements().unwrap_or_default();
    let every = quantifier == Quantifier::Every;
    let mut result = every;
    for element in elements {
        scope.vars.push((name.to_string(), element));
        let held = condition.holds(scope);
        scope.vars.pop();
        if held? != every {
            result = !every;
            break;
        }
    }
    Ok(if quantifier == Quantifier::None { !result } else { result })
}

fn with_value(op: Operator, a: &Value<'_>, value: &Value<'_>) -> Result<bool, Failure> {
    match op {
        Operator::Eq => Ok(py_eq(a, value)),
        Operator::Ne => Ok(!py_eq(a, value)),
        Operator::Contains => contained(value, a),
        // A time that was not given orders with nothing: the test is false.
        Operator::Order(order) => Ok(!a.is_none() && py_order(order, a, value)?),
        Operator::In | Operator::NotIn => Err(Failure("ValueError: a single value for `in`".into())),
    }
}

fn with_fact(op: Operator, fact: &Getter, other: &Getter, scope: &Scope<'_>) -> Result<bool, Failure> {
    match op {
        Operator::Eq => Ok(same(&fact.read(scope)?, &other.read(scope)?)),
        Operator::Ne => Ok(!same(&fact.read(scope)?, &other.read(scope)?)),
        Operator::In | Operator::NotIn => {
            let value = fact.read(scope)?;
            let found = known(&value) && contained(&value, &other.read(scope)?)?;
            Ok(found == (op == Operator::In))
        }
        Operator::Contains => {
            let element = other.read(scope)?;
            Ok(known(&element) && contained(&element, &fact.read(scope)?)?)
        }
        Operator::Order(order) => {
            let (a, b) = (fact.read(scope)?, other.read(scope)?);
            Ok(!a.is_none() && !b.is_none() && py_order(order, &a, &b)?)
        }
    }
}

#[derive(Clone, Debug)]
pub enum MessagePiece {
    Text(String),
    Fact(Getter),
}

/// A reason's message with its facts filled in, as build.py's `message` renders it.
pub fn render_message(pieces: &[MessagePiece], scope: &Scope<'_>) -> Result<String, Failure> {
    let mut message = String::new();
    for piece in pieces {
        match piece {
            MessagePiece::Text(text) => message.push_str(text),
            MessagePiece::Fact(getter) => message.push_str(&getter.read(scope)?.python_str()),
        }
    }
    Ok(message)
}

// ---- patterns (RE2, as build.compile_pattern has them) ----------------------------

/// Program size a pattern may take here: the compiler holds every pattern to 250 RE2 instructions, so
/// this bounds only a compiled form no compiler wrote.
const PATTERN_SIZE: usize = 1 << 20;
/// RE2's largest counted repetition.
const MOST_REPEATS: u32 = 1000;

/// A pattern the reference evaluator searches with RE2, compiled so that it matches the same texts here.
///
/// RE2 and the `regex` crate differ: RE2's `\d \s \w \b` are ASCII (and its `\s` has no `\v`), it reads
/// `\<` or `[a&&b]` literally where `regex` sees a word boundary or an intersection, and it takes no
/// `\u`, `(?x)` or `\p{Letter}`. So the pattern is read by RE2's grammar and written out in `regex`'s
/// with the same meaning; whatever is not known to mean the same in both is refused, and a refused
/// policy stays with the reference evaluator.
pub fn compile_pattern(text: &str) -> Result<Regex, String> {
    let translated = translate(text)?;
    regex::RegexBuilder::new(&translated)
        .size_limit(PATTERN_SIZE)
        .dfa_size_limit(PATTERN_SIZE)
        .build()
        .map_err(|error| error.to_string().lines().last().unwrap_or("invalid pattern").trim().to_string())
}

const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0C\r ";
const WORD: &str = "0-9A-Za-z_";

/// RE2's POSIX classes (`[[:alpha:]]`), ASCII in both engines.
const POSIX: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word",
    "xdigit",
];

struct Reader<'p> {
    chars: Vec<char>,
    at: usize,
    text: &'p str,
    /// Whether `(?i)` appears, and a character beyond ASCII: folding the case of such a character
    /// follows each engine's Unicode tables, which differ.
    folds_case: bool,
    beyond_ascii: bool,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.at + offset).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }
    fn refuse<T>(&self, why: &str) -> Result<T, String> {
        Err(format!("{why} (at character {} of `{}`)", self.at, self.text))
    }
}

/// `c` as a literal of the `regex` crate's syntax, in or out of a class.
fn literal(c: char) -> String {
    if c.is_ascii_punctuation() || c.is_whitespace() || c.is_control() {
        format!("\\x{{{:X}}}", c as u32)
    } else {
        c.to_string()
    }
}

fn translate(text: &str) -> Result<String, String> {
    let mut r = Reader { chars: text.chars().collect(), at: 0, text, folds_case: false, beyond_ascii: false };
    let mut out = String::new();
    // Whether the last thing written can take a repetition, and whether it is one already.
    let mut repeatable = false;
    let mut repeated = false;
    while let Some(c) = r.next() {
        match c {
            '\\' => {
                out.push_str(&escape(&mut r, false)?);
                repeatable = true;
                repeated = false;
            }
            '[' => {
                out.push_str(&class(&mut r)?);
                repeatable = true;
                repeated = false;
            }
            '(' => {
                out.push_str(&group(&mut r)?);
                repeatable = false;
                repeated = false;
            }
            ')' | '|' => {
                out.push(c);
                repeatable = c == ')';
                repeated = false;
            }
            '^' | '$' | '.' => {
                out.push(c);
                repeatable = true;
                repeated = false;
            }
            '*' | '+' | '?' => {
                if !repeatable || repeated {
                    return r.refuse("a repetition of nothing, or of a repetition");
                }
                out.push(c);
                if r.peek() == Some('?') {
                    r.next();
                    out.push('?');
                }
                repeated = true;
            }
            '{' => match counted(&mut r)? {
                Some(count) => {
                    if !repeatable || repeated {
                        return r.refuse("a repetition of nothing, or of a repetition");
                    }
                    out.push_str(&count);
                    if r.peek() == Some('?') {
                        r.next();
                        out.push('?');
                    }
                    repeated = true;
                }
                None => {
                    // Not a counted repetition: RE2 reads the brace as itself.
                    out.push_str(&literal('{'));
                    repeatable = true;
                    repeated = false;
                }
            },
            c => {
                r.beyond_ascii |= !c.is_ascii();
                out.push_str(&literal(c));
                repeatable = true;
                repeated = false;
            }
        }
    }
    if r.folds_case && r.beyond_ascii {
        return r.refuse("a character beyond ASCII whose case is folded, as each engine's Unicode tables fold it");
    }
    Ok(out)
}

/// After `{`: `{n}`, `{n,}` or `{n,m}` as RE2 reads them, or None where RE2 reads a literal brace.
fn counted(r: &mut Reader) -> Result<Option<String>, String> {
    let start = r.at;
    let number = |r: &mut Reader| -> Option<String> {
        let mut digits = String::new();
        while let Some(d) = r.peek().filter(char::is_ascii_digit) {
            digits.push(d);
            r.next();
        }
        (!digits.is_empty()).then_some(digits)
    };
    let Some(low) = number(r) else {
        r.at = start;
        return Ok(None);
    };
    let mut high = Some(low.clone());
    if r.peek() == Some(',') {
        r.next();
        high = number(r);
    }
    if r.peek() != Some('}') {
        r.at = start;
        return Ok(None);
    }
    r.next();
    let value = |digits: &str| digits.parse::<u32>().ok().filter(|n| *n <= MOST_REPEATS);
    let Some(lo) = value(&low) else { return r.refuse("a repetition of more than 1000") };
    match &high {
        Some(h) => {
            let Some(hi) = value(h) else { return r.refuse("a repetition of more than 1000") };
            if hi < lo {
                return r.refuse("a repetition of fewer than none");
            }
            Ok(Some(if low == *h { format!("{{{lo}}}") } else { format!("{{{lo},{hi}}}") }))
        }
        None => Ok(Some(format!("{{{lo},}}"))),
    }
}

/// After `(`: a group, a non-capturing group with flags, or flags alone.
fn group(r: &mut Reader) -> Result<String, String> {
    if r.peek() != Some('?') {
        return Ok("(".into());
    }
    r.next();
    match r.peek() {
        Some('P') | Some('<') => {
            if r.peek() == Some('P') {
                r.next();
                if r.peek() != Some('<') {
                    return r.refuse("a back reference or an unknown group");
                }
            }
            r.next();
            let mut name = String::new();
            while let Some(c) = r.next() {
                if c == '>' {
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return r.refuse("a group name of other than letters, digits and `_`");
                    }
                    return Ok(format!("(?P<{name}>"));
                }
                name.push(c);
            }
            r.refuse("a group name without its end")
        }
        _ => {
            let mut flags = String::new();
            while let Some(c) = r.next() {
                match c {
                    'i' | 'm' | 's' | 'U' | '-' => flags.push(c),
                    ':' | ')' => {
                        r.folds_case |= flags.split('-').next().is_some_and(|on| on.contains('i'));
                        if flags.is_empty() && c == ')' || flags.ends_with('-') || flags.matches('-').count() > 1 {
                            return r.refuse("flags RE2 does not take");
                        }
                        return Ok(format!("(?{flags}{c}"));
                    }
                    _ => return r.refuse("a group RE2 does not take (lookaround, or flags other than i, m, s, U)"),
                }
            }
            r.refuse("a group without its end")
        }
    }
}

/// After `\`: what RE2 reads, written for `regex`. In a class a Perl class is its ranges alone.
fn escape(r: &mut Reader, in_class: bool) -> Result<String, String> {
    let Some(c) = r.next() else { return r.refuse("a pattern ending in `\\`") };
    let perl = |ranges: &str, negated: bool| match (in_class, negated) {
        (true, false) => ranges.to_string(),
        (_, true) => format!("[^{ranges}]"),
        (false, false) => format!("[{ranges}]"),
    };
    Ok(match c {
        'd' => perl(DIGIT, false),
        'D' => perl(DIGIT, true),
        's' => perl(SPACE, false),
        'S' => perl(SPACE, true),
        'w' => perl(WORD, false),
        'W' => perl(WORD, true),
        'b' if !in_class => "(?-u:\\b)".to_string(),
        // RE2 searches bytes: it finds "not a word boundary" between two bytes of one character (`ı`),
        // where `regex` looks only between characters, so a deny on `\B` would not fire here.
        'B' if !in_class => return r.refuse("`\\B`, which RE2 also finds inside a character of several bytes"),
        'A' | 'z' if !in_class => format!("\\{c}"),
        // RE2's Unicode tables are older than the `regex` crate's: a class of them would take in the
        // characters assigned since (4,302 letters more in `\pL`).
        'p' | 'P' => return r.refuse("a Unicode class, whose tables differ between RE2 and the native engine"),
        'x' => literal(hex(r)?),
        'n' => literal('\n'),
        't' => literal('\t'),
        'r' => literal('\r'),
        'f' => literal('\x0C'),
        'v' => literal('\x0B'),
        'a' => literal('\x07'),
        // Punctuation escaped is itself.
        c if c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_') => literal(c),
        _ => return r.refuse("an escape the native engine does not read as RE2 does"),
    })
}

fn hex(r: &mut Reader) -> Result<char, String> {
    let digits: String = if r.peek() == Some('{') {
        r.next();
        let mut digits = String::new();
        loop {
            match r.next() {
                Some('}') => break,
                Some(d) if d.is_ascii_hexdigit() && digits.len() < 8 => digits.push(d),
                _ => return r.refuse("a bad `\\x{…}`"),
            }
        }
        digits
    } else {
        let pair: String = [r.next(), r.next()].iter().flatten().collect();
        if pair.len() != 2 || !pair.chars().all(|d| d.is_ascii_hexdigit()) {
            return r.refuse("a bad `\\x`");
        }
        pair
    };
    match u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32) {
        Some(c) if !digits.is_empty() => {
            r.beyond_ascii |= !c.is_ascii();
            Ok(c)
        }
        _ => r.refuse("a character that is none"),
    }
}

/// After `[`: a class as RE2 reads it (a `[`, `&&`, `--` or `~~` inside is itself).
fn class(r: &mut Reader) -> Result<String, String> {
    let mut out = String::from("[");
    if r.peek() == Some('^') {
        r.next();
        out.push('^');
    }
    let mut first = true;
    loop {
        let Some(c) = r.peek() else { return r.refuse("a class without its `]`") };
        if c == ']' && !first {
            r.next();
            break;
        }
        first = false;
        if c == '[' && r.peek_at(1) == Some(':') {
            let rest: String = r.chars[r.at..].iter().collect();
            if let Some(end) = rest.find(":]") {
                let inner = &rest[2..end];
                let name = inner.strip_prefix('^').unwrap_or(inner);
                if POSIX.contains(&name) {
                    out.push_str(&format!("[:{inner}:]"));
                    r.at += rest[..end + 2].chars().count();
                    continue;
                }
            }
        }
        let low = class_char(r)?;
        let Some(low) = low else {
            continue_with(&mut out, r)?;
            continue;
        };
        if r.peek() == Some('-') && r.peek_at(1).is_some_and(|c| c != ']') {
            r.next();
            let Some(high) = class_char(r)? else { return r.refuse("a range to a class") };
            if high < low {
                return r.refuse("a range backwards");
            }
            out.push_str(&format!("{}-{}", literal(low), literal(high)));
        } else {
            out.push_str(&literal(low));
        }
    }
    out.push(']');
    Ok(out)
}

/// One character of a class, or None when what follows is a class escape (`\d`, `\p{…}`).
fn class_char(r: &mut Reader) -> Result<Option<char>, String> {
    match r.peek() {
        Some('\\') => match r.peek_at(1) {
            Some('d' | 'D' | 's' | 'S' | 'w' | 'W' | 'p' | 'P') => Ok(None),
            _ => {
                r.next();
                let Some(c) = r.next() else { return r.refuse("a pattern ending in `\\`") };
                Ok(Some(match c {
                    'x' => hex(r)?,
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'f' => '\x0C',
                    'v' => '\x0B',
                    'a' => '\x07',
                    c if c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_') => c,
                    _ => return r.refuse("an escape the native engine does not read as RE2 does"),
                }))
            }
        },
        Some(c) => {
            r.next();
            r.beyond_ascii |= !c.is_ascii();
            Ok(Some(c))
        }
        None => r.refuse("a class without its `]`"),
    }
}

fn continue_with(out: &mut String, r: &mut Reader) -> Result<(), String> {
    r.next(); // the backslash
    let escaped = escape(r, true)?;
    // A negated Perl or Unicode class inside a class is a class of its own, which `regex` nests.
    out.push_str(&escaped);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_show_as_python_shows_them() {
        for (f, shown) in [
            (3.5, "3.5"),
            (1e16, "1e+16"),
            (9007199254740992.0, "9007199254740992.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1.23456e-8, "1.23456e-08"),
            (123456789012345680000.0, "1.2345678901234568e+20"),
        ] {
            assert_eq!(float_repr(f), shown);
        }
    }

    #[test]
    fn texts_show_as_python_repr_shows_them() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'b\""), "'a\\'b\"'");
        assert_eq!(str_repr("é\u{200b}\n\x07"), "'é\\u200b\\n\\x07'");
    }

    #[test]
    fn python_orders_numbers_across_types_and_refuses_text_against_a_number() {
        assert!(py_eq(&Value::Bool(true), &Value::Int(1)));
        assert!(py_eq(&Value::Int(1), &Value::Float(1.0)));
        assert!(py_order(Order::Lt, &Value::Int(9_007_199_254_740_993), &Value::Float(9_007_199_254_740_994.0))
            .unwrap_or(false));
        let refused = py_order(Order::Lt, &Value::Text("a".into()), &Value::Int(1));
        assert_eq!(refused, Err(Failure("TypeError: '<' not supported between instances of 'str' and 'int'".into())));
    }

    #[test]
    fn perl_classes_and_boundaries_are_ascii_as_in_re2() {
        let found = |p: &str, t: &str| compile_pattern(p).map(|r| r.is_match(t));
        assert_eq!(found(r"\d", "٣"), Ok(false));
        assert_eq!(found(r"\s", "\x0B"), Ok(false));
        assert_eq!(found(r"\w", "é"), Ok(false));
        assert_eq!(found(r"a\b", "aé"), Ok(true));
        assert_eq!(found(r"\<", "<"), Ok(true));
        assert_eq!(found("[a&&b]", "&"), Ok(true));
        assert!(compile_pattern(r"\Q").is_err());
    }

    #[test]
    fn an_unknown_fact_is_refused_in_the_catalogues_words() {
        let unknown = |p: &str| resolve(p, &[]).err().map(|e| e.0);
        assert_eq!(unknown("item.author.nope"), Some("unknown fact `item.author.nope`".into()));
        assert_eq!(unknown("item.labels.x"), Some("`item.labels` is a list of a records and has no `x`".into()));
        assert_eq!(unknown("item.label"), Some("`item.label` must name one label scheme".into()));
        assert!(unknown("attributes.a.b").is_none());
    }
}

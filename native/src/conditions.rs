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
        (Value::List(_) | Value::AnyList(_), Value::List(_) | Value::AnyList(_)) | (Value::Tuple(_), Value::Tuple(_)) => {
            let (x, y) = (a.elements().unwrap_or_default(), b.elements().unwrap_or_default());
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| py_eq(p, q))
        }
        (Value::AnyMap(_) | Value::Pairs(_), Value::AnyMap(_) | Value::Pairs(_)) => {
            let (x, y) = (a.items().unwrap_or_default(), b.items().unwrap_or_default());
            x.len() == y.len()
                && x.iter().all(|(k, v)| y.iter().any(|(key, other)| key == k && py_eq(v, other)))
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
        (Value::List(_) | Value::AnyList(_), Value::List(_) | Value::AnyList(_)) | (Value::Tuple(_), Value::Tuple(_)) => {
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
/// character, the space excepted (a surrogate, Python's other unprintable, is no `char`).
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    static UNPRINTABLE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let class = UNPRINTABLE.get_or_init(|| Regex::new(r"^[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$").ok());
    let mut buffer = [0u8; 4];
    !class.as_ref().is_some_and(|r| r.is_match(c.encode_utf8(&mut buffer)))
}

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
    &[("need_to_know", H::Bool), ("legal_basis", H::Text), ("notification_prohibited", H::Bool)];

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
            (Record::Group(g), "participants") => Value::Tuple(Tuple::People(&g.participants)),
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
        let getter = Getter { root: Root::LabelParam(rest[1].into(), rest[2].into()), steps: vec![], unset_is_yes: false };
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
    Quantified { quantifier: Quantifier, of: Getter, name: String, r#where: Condition },
    /// `eq`, `ne`, `contains` and the orderings with a literal.
    WithValue { op: Operator, fact: Getter, value: Value<'static> },
    /// `in` / `not_in` a list of literals.
    InValues { negated: bool, fact: Getter, values: Vec<Value<'static>> },
    WithFact { op: Operator, fact: Getter, other: Getter },
    /// `lenient`: a map or any-typed fact, whose reading may fail, which reads as absent.
    Exists { fact: Getter, lenient: bool, present: bool },
    Matches { fact: Getter, pattern: Arc<Regex> },
    AuthorConsented(String),
    AuthorWithdrew(String),
    Consented { by: Getter, scope: String },
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
            Expr::Quantified { quantifier, of, name, r#where } => quantified(*quantifier, of, name, r#where, scope),
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
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper",
    "word", "xdigit",
];

struct Reader<'p> {
    chars: Vec<char>,
    at: usize,
    text: &'p str,
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
    let mut r = Reader { chars: text.chars().collect(), at: 0, text };
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
                out.push_str(&literal(c));
                repeatable = true;
                repeated = false;
            }
        }
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
        'b' | 'B' if !in_class => format!("(?-u:\\{c})"),
        'A' | 'z' if !in_class => format!("\\{c}"),
        'p' | 'P' => unicode_class(r, c)?,
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
        Some(c) if !digits.is_empty() => Ok(c),
        _ => r.refuse("a character that is none"),
    }
}

/// `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL`: RE2 names general categories (one or two letters) and scripts.
fn unicode_class(r: &mut Reader, p: char) -> Result<String, String> {
    let mut negated = p == 'P';
    let name: String = if r.peek() == Some('{') {
        r.next();
        if r.peek() == Some('^') {
            r.next();
            negated = !negated;
        }
        let mut name = String::new();
        loop {
            match r.next() {
                Some('}') => break,
                Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                _ => return r.refuse("a bad Unicode class"),
            }
        }
        name
    } else {
        match r.next() {
            Some(c) if c.is_ascii_alphabetic() => c.to_string(),
            _ => return r.refuse("a bad Unicode class"),
        }
    };
    let category = name.len() <= 2 && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().skip(1).all(|c| c.is_ascii_lowercase());
    let script = name.len() > 2 && name.starts_with(|c: char| c.is_ascii_uppercase());
    if !(category || script || name == "Any") {
        return r.refuse("a Unicode class RE2 does not name");
    }
    Ok(format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }))
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
        let Some(low) = low else { continue_with(&mut out, r)?; continue };
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

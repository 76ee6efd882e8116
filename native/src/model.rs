//! The facts of a request and the shape of a decision: service/discretion/engine/model.py in Rust.
//!
//! Field for field the Python model, so that the reference evaluator and this
//! one read the same facts by the same names. Words stay words (`"share"`,
//! `"ai_tool"`): the wire's enums are read into them by `wire`, and a rule's
//! literals are compared with them as the compiler typed them. An instant is
//! a count of nanoseconds since the POSIX epoch, as in Python; `i128`, because
//! years 1 to 9999 do not fit in 64 bits of nanoseconds. `None`: not given.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::roster::Roster;

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Instant = i128;

pub const SECOND: Instant = 1_000_000_000;

pub const ACTIONS: [&str; 3] = ["share", "quote", "export"];
pub const DESTINATION_KINDS: [&str; 11] = [
    "same_group",
    "original_exchange_participant",
    "actor_org_internal",
    "actor_org_client",
    "community_peer",
    "external_individual",
    "public",
    "personal_archive",
    "third_party_service",
    "ai_tool",
    "other_group",
];
pub const ITEM_KINDS: [&str; 6] = ["message", "attendee_list", "member_list", "transcript", "file", "image"];
/// The kinds whose words are their author's alone (model.py AUTHORED_KINDS).
pub const AUTHORED_KINDS: [&str; 1] = ["message"];
pub const FORMATS: [&str; 4] = ["text", "screenshot", "file", "recording"];
pub const DERIVATIONS: [&str; 3] = ["verbatim", "paraphrase", "summary"];
pub const ROLES: [&str; 4] = ["member", "moderator", "admin", "owner"];
pub const ACTOR_KINDS: [&str; 2] = ["person", "service"];
pub const PRIVACIES: [&str; 2] = ["public", "private"];
pub const VISIBILITIES: [&str; 2] = ["visible", "hidden"];
pub const SPAN_UNITS: [&str; 3] = ["code_point", "utf16", "utf8"];
pub const LEGAL_BASES: [&str; 4] = ["none", "valid_legal_process", "member_consent", "legal_requirement"];
pub const USES: [&str; 4] = ["passive", "lookup", "active", "resale"];
/// Read by the engine itself for every item (model.py NEW_TERMS_CONSENT).
pub const NEW_TERMS_CONSENT: &str = "new_terms";

/// A custom attribute's value: what a `google.protobuf.Value` reads as in
/// Python (convert._plain). A whole number below 2^53 is an `Int`, as a rule
/// author wrote it; any other number a `Number`.
#[derive(Clone, Debug, PartialEq)]
pub enum Any {
    Null,
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    List(Vec<Any>),
    Map(BTreeMap<String, Any>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Person {
    pub id: String,
    pub display_name: String,
    pub organization: String,
    pub handles: Vec<String>,
    pub is_minor: bool,
    pub aliases: Vec<String>,
    pub organization_aliases: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    pub id: String,
    pub display_name: String,
    pub organization: String,
    pub role: String,
    pub member: bool,
    pub joined_at: Option<Instant>,
    pub kind: String,
    pub installed_by: String,
}

impl Default for Actor {
    fn default() -> Self {
        Actor {
            id: String::new(),
            display_name: String::new(),
            organization: String::new(),
            role: "member".into(),
            member: false,
            joined_at: None,
            kind: "person".into(),
            installed_by: String::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adoption {
    pub agreement: String,
    /// 0: the latest version published at the instant the terms govern.
    pub version: u32,
    pub effective_from: Option<Instant>,
    pub disclosed_at: Option<Instant>,
    pub replaces: Vec<String>,
    pub segments: Vec<String>,
    /// In the order given (Python dicts keep insertion order).
    pub default_labels: Vec<(String, String)>,
    pub label_floors: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: String,
    pub privacy: String,
    pub visibility: String,
    pub adoptions: Vec<Adoption>,
    /// Shared by every request that carries it (`roster`): what is derived from it is derived once.
    pub participants: Arc<Roster>,
    pub community: Vec<String>,
    pub converted_at: Option<Instant>,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            id: String::new(),
            privacy: "private".into(),
            visibility: "visible".into(),
            adoptions: Vec::new(),
            participants: Arc::default(),
            community: Vec::new(),
            converted_at: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Label {
    pub scheme: String,
    pub value: String,
    pub set_by: String,
    pub set_at: Option<Instant>,
    pub params: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Consent {
    pub by: String,
    pub scope: String,
    pub recipients: Vec<String>,
    pub granted_at: Option<Instant>,
    pub withdrawn_at: Option<Instant>,
    /// The platform's id for the consent: bounded like any id, never read by a rule.
    pub id: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    pub id: String,
    pub segment: String,
    pub speaker_count: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: String,
    pub author: Person,
    pub posted_at: Option<Instant>,
    pub retracted_at: Option<Instant>,
    pub labels: Vec<Label>,
    pub consents: Vec<Consent>,
    pub text: String,
    pub kind: String,
    pub listed_people: Vec<Person>,
    pub session: Session,
    pub exchange_participants: Vec<String>,
    pub conversation: String,
    pub link: String,
}

impl Default for Item {
    fn default() -> Self {
        Item {
            id: String::new(),
            author: Person::default(),
            posted_at: None,
            retracted_at: None,
            labels: Vec::new(),
            consents: Vec::new(),
            text: String::new(),
            kind: "message".into(),
            listed_people: Vec::new(),
            session: Session::default(),
            exchange_participants: Vec::new(),
            conversation: String::new(),
            link: String::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recipient {
    pub id: String,
    pub organization: String,
}

/// `None` in a yes/no: the platform did not say, which every rule reads as yes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    pub name: String,
    pub organization: String,
    pub new_controller: Option<bool>,
    pub may_train: Option<bool>,
    pub retains: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Destination {
    pub kind: String,
    pub channel: String,
    pub recipients: Vec<Recipient>,
    pub group_id: String,
    pub publicly_accessible: bool,
    pub service: Service,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribution {
    pub author_identity: bool,
    pub affiliation: bool,
    pub descriptor: String,
    pub link: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Purpose {
    pub need_to_know: bool,
    pub legal_basis: String,
    pub notification_prohibited: bool,
    /// One of USES, "" when the caller did not say (model.py `Purpose.use`).
    pub usage: String,
}

impl Default for Purpose {
    fn default() -> Self {
        Purpose {
            need_to_know: false,
            legal_basis: "none".into(),
            notification_prohibited: false,
            usage: String::new(),
        }
    }
}

/// One question: may `actor` do `action` with `items` toward `destination`?
/// `action` and `destination.kind` are kept as given: an unknown word is a
/// request the policy does not know, which is denied.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub action: String,
    pub actor: Actor,
    pub group: Group,
    pub items: Vec<Item>,
    pub destination: Destination,
    pub requested_at: Option<Instant>,
    pub attribution: Attribution,
    pub format: String,
    pub derived: String,
    pub quoted_text: String,
    pub purpose: Purpose,
    pub attributes: BTreeMap<String, Any>,
    pub span_unit: String,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            action: String::new(),
            actor: Actor::default(),
            group: Group::default(),
            items: Vec::new(),
            destination: Destination::default(),
            requested_at: None,
            attribution: Attribution::default(),
            format: "text".into(),
            derived: "verbatim".into(),
            quoted_text: String::new(),
            purpose: Purpose::default(),
            attributes: BTreeMap::new(),
            span_unit: "code_point".into(),
        }
    }
}

// ---- the answer ---------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: i64,
    pub end: i64,
    /// "name", "handle", "organization"
    pub reveals: String,
    /// One of "quoted_text", "items.text", "attribution.descriptor".
    pub field: String,
    pub item_id: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Obligation {
    pub r#type: String,
    pub item_ids: Vec<String>,
    pub person_ids: Vec<String>,
    pub spans: Vec<Span>,
    pub names: Vec<String>,
    pub scope: String,
    pub until: Option<Instant>,
    pub label: String,
    pub notice: String,
    pub descriptor: String,
    pub link: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub agreement: String,
    pub version: u32,
    pub rule: String,
    pub item_id: String,
    /// "allow", "allow_with_obligations" or "deny".
    pub effect: String,
    pub reason_code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ItemResult {
    pub item_id: String,
    /// "kept", "redacted", "excluded"
    pub outcome: String,
    pub decision: String,
    pub governed_by: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub decision: String,
    pub obligations: Vec<Obligation>,
    pub items: Vec<ItemResult>,
    pub findings: Vec<Finding>,
    pub reason: String,
    pub policy_revision: String,
}

/// How a rule is named wherever a person or a log reads it: `agreement@version/rule`.
pub fn rule_key(agreement: &str, version: u32, rule: &str) -> String {
    format!("{agreement}@{version}/{rule}")
}

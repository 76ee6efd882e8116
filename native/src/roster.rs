//! A group's roster, and the rosters each caller sent by reference (`Group.roster_digest`).
//!
//! A large group's roster is most of a request and, read afresh each time, most of
//! the work of deciding it. A `Roster` is shared (`Arc`) between the requests that
//! carry it, and what a decision derives from it (who is on it, who is a minor, the
//! word-marked name matcher, the answers of conditions that read it alone) is worked
//! out once, when first asked, and kept with it.
//! A roster sent by value is read afresh for its one request; a roster sent by
//! reference is the one the caller sent earlier under that digest, with everything
//! already derived, so its size no longer counts.
//!
//! `ROSTERS` keeps them per caller (a tenant's id, "" without tenants): a caller
//! finds only the rosters it sent itself, so whether a digest is held says nothing
//! of another tenant's groups, and each caller has its own share of the bytes, so
//! one tenant's rosters never evict another's. The digest is SHA-256 of the
//! `discretion.v1.Roster` message holding the participants, written
//! deterministically: what every client computes from the proto it already has.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::identify::{self, Built};
use crate::model::Person;
use crate::pb::v1 as pb;

pub const DIGEST_PREFIX: &str = "sha256:";

/// The participants of one group, and what decisions derive from them, derived once.
pub struct Roster {
    people: Vec<Person>,
    /// The positions of each id's records.
    by_id: OnceLock<HashMap<String, Vec<usize>>>,
    /// Ids any record marks a minor.
    minor_ids: OnceLock<BTreeSet<String>>,
    /// The minors among them: the people a `people: minors` redaction searches for.
    minors: OnceLock<Arc<Roster>>,
    /// The word-marked automaton of everyone's names, once a text was searched (identify::Matcher).
    pub(crate) marked: OnceLock<Arc<Built>>,
    /// What the string limits read of it (wire::Tally), under the limits (max id, max name) it was read by.
    sizes: OnceLock<((usize, usize), Sizes)>,
    /// The answers of the conditions over it alone (`conditions::quantifier`), by the condition's id.
    answers: Mutex<HashMap<u64, bool>>,
}

/// Answers kept per roster: a few conditions of each policy read the roster alone; past this many (policies
/// reloaded over a long life) they are forgotten and asked again.
const MOST_ANSWERS: usize = 256;

/// What the string limits read of a roster (wire::Tally::people).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub ids_unfit: bool,
    pub names_unfit: bool,
    pub names_total: usize,
    pub longest_list: usize,
}

impl Roster {
    pub fn new(people: Vec<Person>) -> Roster {
        Roster {
            people,
            by_id: OnceLock::new(),
            minor_ids: OnceLock::new(),
            minors: OnceLock::new(),
            marked: OnceLock::new(),
            sizes: OnceLock::new(),
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The answer of the condition `id`, which reads this roster alone: asked once (`ask`), then kept.
    /// A condition that fails is asked again each time, and fails each time.
    pub fn answer<E>(&self, id: u64, ask: impl FnOnce() -> Result<bool, E>) -> Result<bool, E> {
        let kept = |answers: &Mutex<HashMap<u64, bool>>| {
            answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id).copied()
        };
        if let Some(answer) = kept(&self.answers) {
            return Ok(answer);
        }
        let answer = ask()?;
        let mut answers = self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if answers.len() >= MOST_ANSWERS {
            answers.clear();
        }
        answers.insert(id, answer);
        Ok(answer)
    }

    /// What the string limits read of it, under `limits` (max id, max name), read once by `read`.
    pub fn sizes(&self, limits: (usize, usize), read: impl FnOnce(&[Person]) -> Sizes) -> Sizes {
        match self.sizes.get() {
            Some((by, sizes)) if *by == limits => *sizes,
            Some(_) => read(&self.people),
            None => self.sizes.get_or_init(|| (limits, read(&self.people))).1,
        }
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The people to change: what was derived from them is derived again when next asked.
    pub fn people_mut(&mut self) -> &mut Vec<Person> {
        *self = Roster::new(std::mem::take(&mut self.people));
        &mut self.people
    }

    fn by_id(&self) -> &HashMap<String, Vec<usize>> {
        self.by_id.get_or_init(|| {
            let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
            for (at, person) in self.people.iter().enumerate() {
                by_id.entry(person.id.clone()).or_default().push(at);
            }
            by_id
        })
    }

    /// Whether a record of this (non-empty) id is on the roster.
    pub fn has_id(&self, id: &str) -> bool {
        !id.is_empty() && self.by_id().contains_key(id)
    }

    /// Whether this very record (every field equal) is on the roster.
    pub fn has_record(&self, person: &Person) -> bool {
        self.by_id().get(&person.id).is_some_and(|at| at.iter().any(|&i| self.people[i] == *person))
    }

    /// Whether some record of this id is not marked a minor.
    pub fn has_unmarked(&self, id: &str) -> bool {
        self.by_id().get(id).is_some_and(|at| at.iter().any(|&i| !self.people[i].is_minor))
    }

    /// The non-empty ids any record marks a minor.
    pub fn minor_ids(&self) -> &BTreeSet<String> {
        self.minor_ids.get_or_init(|| {
            self.people.iter().filter(|p| p.is_minor && !p.id.is_empty()).map(|p| p.id.clone()).collect()
        })
    }

    /// The records marked a minor, in order, as a roster of their own.
    pub fn minors(&self) -> Arc<Roster> {
        self.minors
            .get_or_init(|| Arc::new(Roster::new(self.people.iter().filter(|p| p.is_minor).cloned().collect())))
            .clone()
    }

    /// The bytes it takes, roughly: its strings, and its name matcher once built.
    fn bytes(&self) -> usize {
        const STRING: usize = std::mem::size_of::<String>();
        let strings = |items: &[String]| items.iter().map(|s| s.len() + STRING).sum::<usize>();
        let people: usize = self
            .people
            .iter()
            .map(|p| {
                std::mem::size_of::<Person>()
                    + p.id.len()
                    + p.display_name.len()
                    + p.organization.len()
                    + strings(&p.handles)
                    + strings(&p.aliases)
                    + strings(&p.organization_aliases)
            })
            .sum();
        let index = self.by_id.get().map_or(0, |by_id| by_id.len() * (STRING + 48) + self.people.len() * 8);
        let matcher = self.marked.get().map_or(0, |built| identify::built_bytes(built));
        people + index + matcher + 256
    }
}

impl Clone for Roster {
    /// The same people; what was derived is derived again (a copy is made to be changed).
    fn clone(&self) -> Roster {
        Roster::new(self.people.clone())
    }
}

impl PartialEq for Roster {
    fn eq(&self, other: &Roster) -> bool {
        self.people == other.people
    }
}

impl std::fmt::Debug for Roster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.people.fmt(f)
    }
}

impl Default for Roster {
    fn default() -> Roster {
        Roster::new(Vec::new())
    }
}

// ---- the digest ------------------------------------------------------------------------------

/// `sha256:` and the hex SHA-256 of `discretion.v1.Roster { participants }`, written as every
/// proto3 encoder writes it deterministically: a length-delimited field 1 for each person, each
/// person's fields in number order, empty ones left out (prost's encoding).
pub fn digest(participants: &[pb::Person]) -> String {
    let mut hasher = Sha256::new();
    let mut buffer = Vec::new();
    for person in participants {
        buffer.clear();
        person.encode(&mut buffer).expect("a Vec grows as needed");
        let mut head = vec![0x0a];
        prost::encoding::encode_varint(buffer.len() as u64, &mut head);
        hasher.update(&head);
        hasher.update(&buffer);
    }
    let mut out = String::with_capacity(DIGEST_PREFIX.len() + 64);
    out.push_str(DIGEST_PREFIX);
    for byte in hasher.finalize() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Whether `digest` is written as a digest is: `sha256:` and 64 lowercase hex digits.
pub fn well_formed(digest: &str) -> bool {
    digest
        .strip_prefix(DIGEST_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

// ---- the rosters kept, per caller ------------------------------------------------------------

/// The rosters callers sent with their digests, least recently used first out, each caller within
/// its own budget of bytes.
pub struct Rosters {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The bytes each caller's rosters may take (`discretion serve --roster-cache-bytes`, shared out).
    budget: usize,
    shelves: HashMap<String, Shelf>,
}

#[derive(Default)]
struct Shelf {
    bytes: usize,
    clock: u64,
    /// digest -> (roster, bytes, when last used)
    entries: HashMap<String, (Arc<Roster>, usize, u64)>,
    /// when last used -> digest: the least recently used first
    order: BTreeMap<u64, String>,
}

impl Shelf {
    fn evict_to(&mut self, budget: usize) -> usize {
        let before = self.bytes;
        while self.bytes > budget {
            let Some((_, digest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, bytes, _)) = self.entries.remove(&digest) {
                self.bytes -= bytes;
            }
        }
        before - self.bytes
    }
}

impl Rosters {
    pub fn new(budget: usize) -> Rosters {
        Rosters { kept: Mutex::new(Kept { budget, ..Kept::default() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Nothing panics while holding it; were it poisoned, what it holds is still whole.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bytes each caller's rosters may take; 0 keeps none.
    pub fn set_budget(&self, budget: usize) {
        let mut kept = self.lock();
        kept.budget = budget;
        for shelf in kept.shelves.values_mut() {
            shelf.evict_to(budget);
        }
        kept.shelves.retain(|_, shelf| !shelf.entries.is_empty());
    }

    /// The roster `caller` sent under `digest`, if it is still kept.
    pub fn get(&self, caller: &str, digest: &str) -> Option<Arc<Roster>> {
        let mut kept = self.lock();
        let shelf = kept.shelves.get_mut(caller)?;
        shelf.clock += 1;
        let now = shelf.clock;
        let (roster, _, used) = shelf.entries.get_mut(digest)?;
        let then = std::mem::replace(used, now);
        let roster = roster.clone();
        shelf.order.remove(&then);
        shelf.order.insert(now, digest.to_string());
        Some(roster)
    }

    /// Keep `roster`, which `caller` sent under `digest`, its name matcher built first (outside the
    /// lock), so a later call finds everything done; nothing that exceeds the caller's budget alone.
    pub fn keep(&self, caller: &str, digest: &str, roster: Arc<Roster>) {
        if self.lock().budget == 0 {
            return;
        }
        identify::prepared(&roster, caller);
        let bytes = roster.bytes() + caller.len() + digest.len();
        let freed = {
            let mut kept = self.lock();
            let budget = kept.budget;
            if bytes > budget {
                return;
            }
            let shelf = kept.shelves.entry(caller.to_string()).or_default();
            shelf.clock += 1;
            let now = shelf.clock;
            if let Some((_, old, used)) = shelf.entries.remove(digest) {
                shelf.bytes -= old;
                shelf.order.remove(&used);
            }
            shelf.entries.insert(digest.to_string(), (roster, bytes, now));
            shelf.order.insert(now, digest.to_string());
            shelf.bytes += bytes;
            shelf.evict_to(budget)
        };
        if freed >= 8 << 20 {
            identify::give_back();
        }
    }

    /// For `caller` (None: all of them), how many rosters are kept and the bytes they take.
    pub fn usage(&self, caller: Option<&str>) -> (usize, usize) {
        let kept = self.lock();
        kept.shelves
            .iter()
            .filter(|(who, _)| caller.is_none_or(|c| c == who.as_str()))
            .fold((0, 0), |(count, bytes), (_, shelf)| (count + shelf.entries.len(), bytes + shelf.bytes))
    }
}

/// The rosters of this process.
pub static ROSTERS: LazyLock<Rosters> = LazyLock::new(|| Rosters::new(16 << 20));

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str) -> Person {
        Person { id: id.into(), display_name: name.into(), ..Person::default() }
    }

    #[test]
    fn the_digest_of_no_one_is_that_of_empty_bytes() {
        assert_eq!(digest(&[]), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn a_digest_is_read_strictly() {
        let good = digest(&[pb::Person { id: "a".into(), ..Default::default() }]);
        assert!(well_formed(&good));
        assert!(!well_formed(&good.to_uppercase()));
        assert!(!well_formed(&good[..good.len() - 1]));
        assert!(!well_formed(&good.replace("sha256:", "sha512:")));
    }

    #[test]
    fn each_caller_keeps_its_own_within_its_own_budget() {
        let rosters = Rosters::new(4096);
        let one = Arc::new(Roster::new(vec![person("a", "Ann")]));
        rosters.keep("t1", "d1", one.clone());
        assert!(rosters.get("t1", "d1").is_some());
        assert!(rosters.get("t2", "d1").is_none(), "another caller's roster is not found");
        // t2 fills its own budget: t1's roster stays.
        for n in 0..50 {
            rosters.keep("t2", &format!("x{n}"), Arc::new(Roster::new(vec![person(&format!("p{n}"), "Someone")])));
        }
        assert!(rosters.get("t1", "d1").is_some());
        let (_, bytes) = rosters.usage(Some("t2"));
        assert!(bytes <= 4096, "{bytes}");
        assert!(rosters.get("t2", "x0").is_none(), "the least recently used went first");
        assert!(rosters.get("t2", "x49").is_some());
    }

    #[test]
    fn a_copy_to_change_derives_again() {
        let roster = Roster::new(vec![person("a", "Ann")]);
        assert!(roster.has_id("a"));
        let mut copy = roster.clone();
        copy.people_mut().push(person("b", "Bo"));
        assert!(copy.has_id("b") && !roster.has_id("b"));
    }
}

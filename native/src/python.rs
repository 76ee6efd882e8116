//! The Python module `discretion_native`: a thin adapter over the engine.
//!
//! `Engine` is what the server uses; the functions below it are hooks the
//! differential tests (tests/native/) call to hold one module of this engine
//! to its Python twin. Each module's hooks sit in its own section.
use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use std::sync::Arc;

use crate::compiled::CompiledPolicy;
use crate::model::{
    Actor, Adoption, Any, Attribution, Consent, Decision, Destination, Group, Instant, Item, Label, Obligation, Person,
    Purpose, Recipient, Request, Service, Session,
};
use crate::roster::Roster;

#[pymodule]
fn discretion_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // ---- engine (python.rs) ----
    m.add_class::<Engine>()?;
    m.add_class::<Decoded>()?;
    m.add("Refused", m.py().get_type::<Refused>())?;
    m.add_function(wrap_pyfunction!(echo_request, m)?)?;
    m.add_function(wrap_pyfunction!(set_matcher_cache_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(matcher_cache_usage, m)?)?;
    m.add_function(wrap_pyfunction!(set_roster_cache_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(roster_cache_usage, m)?)?;
    m.add_function(wrap_pyfunction!(roster_digest, m)?)?;
    // ---- wire ----
    m.add_function(wrap_pyfunction!(read_check, m)?)?;
    m.add_function(wrap_pyfunction!(read_batch, m)?)?;
    m.add_function(wrap_pyfunction!(write_response, m)?)?;
    m.add_function(wrap_pyfunction!(write_batch_response, m)?)?;
    // ---- identify ----
    m.add_function(wrap_pyfunction!(identify_spans, m)?)?;
    m.add_function(wrap_pyfunction!(identify_matcher_spans, m)?)?;
    m.add_function(wrap_pyfunction!(identify_in_unit, m)?)?;
    m.add_function(wrap_pyfunction!(identify_merge_spans, m)?)?;
    m.add_function(wrap_pyfunction!(identify_judgement, m)?)?;
    m.add_function(wrap_pyfunction!(names_fold, m)?)?;
    m.add_function(wrap_pyfunction!(names_fold_char, m)?)?;
    m.add_function(wrap_pyfunction!(names_scheme_key, m)?)?;
    // ---- conditions ----
    m.add_class::<ConditionsPolicy>()?;
    m.add_function(wrap_pyfunction!(conditions_build_error, m)?)?;
    m.add_function(wrap_pyfunction!(conditions_pattern_matches, m)?)?;
    // ---- decide ----
    m.add_function(wrap_pyfunction!(consent_latest, m)?)?;
    m.add_function(wrap_pyfunction!(consent_granted_since, m)?)?;
    m.add_function(wrap_pyfunction!(parse_iso, m)?)?;
    Ok(())
}

// ---- engine (python.rs) ---------------------------------------------------------

/// A compiled policy built into the native evaluator. Immutable, so every
/// thread of a worker may decide with it at once.
#[pyclass(frozen, module = "discretion_native")]
pub struct Engine {
    policy: Arc<CompiledPolicy>,
    /// The policy as each tenant may use it (auth.Tenant.view keeps them here,
    /// as on CompiledPolicy.views): a cache that lives and dies with this engine.
    views: Py<PyDict>,
}

#[pymethods]
impl Engine {
    /// The engine for the compiled form `ir` (discretion.ir.v1.Policy bytes);
    /// ValueError, saying why, for one it cannot read in full.
    #[new]
    fn new(py: Python<'_>, ir: &[u8]) -> PyResult<Self> {
        // Built without the GIL: a reload runs beside the calls a worker keeps answering.
        let policy = py.detach(|| crate::build::build_policy(ir)).map_err(PyValueError::new_err)?;
        Ok(Engine::serving(py, policy))
    }

    /// The tenants' views of this engine, by their terms (auth.Tenant.view).
    #[getter]
    fn views(&self, py: Python<'_>) -> Py<PyDict> {
        self.views.clone_ref(py)
    }

    /// CompiledPolicy.restricted: the engine as one caller may use it. `owns_group` is asked
    /// here, once per bound group, so the view is built without calling back into Python.
    fn restricted(&self, py: Python<'_>, agreements: Vec<String>, owns_group: &Bound<'_, PyAny>) -> PyResult<Engine> {
        let mut owned = std::collections::HashSet::new();
        for group in self.policy.bindings.keys() {
            if owns_group.call1((group.as_str(),))?.is_truthy()? {
                owned.insert(group.as_str());
            }
        }
        let view = self.policy.restricted(&agreements, |group| owned.contains(group));
        Ok(Engine::serving(py, view))
    }

    /// servicer._read of a Check call's bytes: the request decoded, not yet judged, so tenancy
    /// (auth.Gate.evaluate) reads its group before its sizes are checked. Raises Refused.
    #[staticmethod]
    fn decode_check(data: &[u8]) -> PyResult<Decoded> {
        wire::decode_check(data).map(|m| Decoded(Message::Check(Arc::new(m)))).map_err(refused)
    }

    /// servicer._read of a CheckBatch call's bytes. Raises Refused.
    #[staticmethod]
    fn decode_batch(data: &[u8]) -> PyResult<Decoded> {
        wire::decode_batch(data).map(|m| Decoded(Message::Batch(Arc::new(m)))).map_err(refused)
    }

    /// servicer._check from the limits on: read the decoded check (limits, conversion by the
    /// server's clock `now`, strings), decide without the GIL, and give the CheckResponse's bytes
    /// with the decision's summary (`server.summary.Summary`'s fields). Raises Refused.
    ///
    /// `caller` (a tenant's id; "" without tenants) scopes the name matchers kept between calls
    /// (`set_matcher_cache_bytes`) and the rosters sent by reference (`set_roster_cache_bytes`);
    /// None keeps none.
    ///
    /// `within`: the seconds the caller still waits (grpc's `time_remaining()`); past them the
    /// decision stops and Refused says `abandoned` (engine/deadline.py). None: no deadline.
    ///
    /// `decision_id`: the server's id for the decision, written into the response.
    #[pyo3(signature = (decoded, now, max_skew, limits, caller=None, within=None, decision_id=String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn check<'py>(
        &self,
        py: Python<'py>,
        decoded: &Decoded,
        now: Instant,
        max_skew: Option<Instant>,
        limits: &Bound<'py, PyDict>,
        caller: Option<String>,
        within: Option<f64>,
        decision_id: String,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<SummaryFields>)> {
        let Message::Check(message) = &decoded.0 else {
            return Err(PyValueError::new_err("a CheckBatch request given to check"));
        };
        let (limits, clock, message) = (limits_from(limits)?, wire::Clock { now, max_skew }, message.clone());
        let (policy, within) = (self.policy.clone(), waited(within));
        let answer = py.detach(move || {
            watched(within, move || {
                let (request, _) = message.read(&clock, &limits, caller.as_deref())?;
                let decision = crate::decide::decide_as(&policy, &request, now, caller.as_deref());
                Ok((wire::write_response(&decision, &decision_id)?, vec![summary(&request, &decision)]))
            })
        });
        let (bytes, summaries) = answer.map_err(unanswered)?;
        Ok((PyBytes::new(py, &bytes), summaries))
    }

    /// servicer._check_batch from the limits on: every check read by one clock, decided in order
    /// by this one policy, answered as one CheckBatchResponse. Raises Refused. `caller` as for `check`;
    /// `decision_ids`, the server's, one for each check in order.
    #[pyo3(signature = (decoded, now, max_skew, limits, max_batch, caller=None, within=None, decision_ids=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn check_batch<'py>(
        &self,
        py: Python<'py>,
        decoded: &Decoded,
        now: Instant,
        max_skew: Option<Instant>,
        limits: &Bound<'py, PyDict>,
        max_batch: usize,
        caller: Option<String>,
        within: Option<f64>,
        decision_ids: Vec<String>,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<SummaryFields>)> {
        let Message::Batch(message) = &decoded.0 else {
            return Err(PyValueError::new_err("a Check request given to check_batch"));
        };
        let (limits, clock, message) = (limits_from(limits)?, wire::Clock { now, max_skew }, message.clone());
        let (policy, within) = (self.policy.clone(), waited(within));
        let answer = py.detach(move || {
            watched(within, move || {
                let batch = message.read(&clock, &limits, max_batch, caller.as_deref())?;
                let mut decisions = Vec::with_capacity(batch.len());
                let mut summaries = Vec::with_capacity(batch.len());
                for (request, _) in &batch {
                    if crate::deadline::passed() {
                        break; // the batch is abandoned whole: none of it is answered
                    }
                    let decision = crate::decide::decide_as(&policy, request, now, caller.as_deref());
                    summaries.push(summary(request, &decision));
                    decisions.push(decision);
                }
                Ok((wire::write_batch_response(&decisions, &decision_ids)?, summaries))
            })
        });
        let (bytes, summaries) = answer.map_err(unanswered)?;
        Ok((PyBytes::new(py, &bytes), summaries))
    }

    /// The revision of the rules it was compiled from.
    #[getter]
    fn revision(&self) -> &str {
        &self.policy.revision
    }

    /// The decision on a Python `engine.model.Request` at `now` (nanoseconds),
    /// as `dataclasses.asdict` of the reference's Decision gives it, without
    /// the explanation and the trace: what the differential tests compare.
    #[pyo3(signature = (request, now, caller=None))]
    fn decide_model(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        now: Instant,
        caller: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let request = request_from_python(request)?;
        let decision = py.detach(|| crate::decide::decide_as(&self.policy, &request, now, caller));
        decision_to_python(py, &decision)
    }
}

impl Engine {
    fn serving(py: Python<'_>, policy: CompiledPolicy) -> Engine {
        Engine { policy: Arc::new(policy), views: PyDict::new(py).unbind() }
    }
}

/// The bytes each caller's rosters sent by reference may take in this process (`discretion serve
/// --roster-cache-bytes`, shared out among the tenants); 0 keeps none.
#[pyfunction]
fn set_roster_cache_bytes(each: usize) {
    crate::roster::ROSTERS.set_budget(each);
}

/// (rosters kept, bytes they take) for `caller`, or for every caller: for tests and the metrics.
#[pyfunction]
#[pyo3(signature = (caller=None))]
fn roster_cache_usage(caller: Option<&str>) -> (usize, usize) {
    crate::roster::ROSTERS.usage(caller)
}

/// The digest of a `discretion.v1.Roster`'s bytes as this engine computes it for `Group.roster_digest`;
/// ValueError for bytes that are no Roster.
#[pyfunction]
fn roster_digest(data: &[u8]) -> PyResult<String> {
    use prost::Message as _;
    let roster = crate::pb::v1::Roster::decode(data).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(crate::roster::digest(&roster.participants))
}

/// The bytes this process's kept name matchers may take (`discretion serve --matcher-cache-bytes`,
/// as `engine.identify.set_cache_budget` for the reference); 0 keeps none.
#[pyfunction]
fn set_matcher_cache_bytes(budget: usize) {
    crate::identify::AUTOMATA.set_budget(budget);
}

/// (matchers kept, bytes they take), for tests and the metrics.
#[pyfunction]
fn matcher_cache_usage() -> (usize, usize) {
    crate::identify::AUTOMATA.usage()
}

pyo3::create_exception!(
    discretion_native,
    Refused,
    pyo3::exceptions::PyException,
    "A request the wire path refuses: args ('invalid', [(field, description), ...]) for RequestInvalid, \
     ('internal', fault) for a decision the wire cannot carry or a fault of the engine's own, \
     or ('abandoned', message) for a call whose deadline passed while it was decided."
);

/// A request decoded by `Engine.decode_check` or `decode_batch`: what tenancy reads before anything else.
#[pyclass(frozen, module = "discretion_native")]
pub struct Decoded(Message);

enum Message {
    Check(Arc<wire::CheckMessage>),
    Batch(Arc<wire::BatchMessage>),
}

#[pymethods]
impl Decoded {
    /// `group.id` of each check, as sent.
    #[getter]
    fn group_ids(&self) -> Vec<String> {
        match &self.0 {
            Message::Check(m) => m.group_ids().into_iter().map(String::from).collect(),
            Message::Batch(m) => m.group_ids().into_iter().map(String::from).collect(),
        }
    }

    /// `request_context` of each check, sorted by key: what the decision log records beside the decision.
    /// Read only once the check was read (its limits hold) and only when the log is on.
    #[getter]
    fn request_contexts(&self) -> Vec<Vec<(String, String)>> {
        let sorted = |check: &crate::pb::v1::CheckRequest| {
            let mut pairs: Vec<(String, String)> =
                check.request_context.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            pairs.sort();
            pairs
        };
        match &self.0 {
            Message::Check(m) => vec![sorted(m.message())],
            Message::Batch(m) => m.message().checks.iter().map(sorted).collect(),
        }
    }

    /// Whether any check asks for the explanation: only the reference's trace gives one.
    #[getter]
    fn explain(&self) -> bool {
        match &self.0 {
            Message::Check(m) => m.message().explain,
            Message::Batch(m) => m.message().checks.iter().any(|c| c.explain),
        }
    }
}

/// What the metrics and the decision log read of one decision (server/summary.py `Summary`):
/// action, group id, destination kind, decision, policy revision, agreements governing, rule keys,
/// reason codes (each once, in order of appearance), obligation types (every one), items, rule errors.
type SummaryFields =
    (String, String, String, String, String, Vec<String>, Vec<String>, Vec<String>, Vec<String>, usize, usize);

fn summary(request: &Request, decision: &Decision) -> SummaryFields {
    let mut agreements: Vec<String> = Vec::new();
    for governing in decision.items.iter().flat_map(|i| &i.governed_by) {
        once(&mut agreements, governing);
    }
    let (mut rules, mut codes) = (Vec::new(), Vec::new());
    for finding in &decision.findings {
        if !finding.rule.is_empty() {
            once(&mut rules, &crate::model::rule_key(&finding.agreement, finding.version, &finding.rule));
        }
        once(&mut codes, &finding.reason_code);
    }
    let rule_errors = decision.findings.iter().filter(|f| f.reason_code == RULE_ERROR).count();
    (
        request.action.clone(),
        request.group.id.clone(),
        request.destination.kind.clone(),
        decision.decision.clone(),
        decision.policy_revision.clone(),
        agreements,
        rules,
        codes,
        decision.obligations.iter().map(|o| o.r#type.clone()).collect(),
        request.items.len(),
        rule_errors,
    )
}

/// metrics.RULE_ERROR: the reason code of a rule the engine could not evaluate.
const RULE_ERROR: &str = "rule_evaluation_failed";

fn once(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// The work of a call, a panic included, as a Refusal: a panic is a fault of the engine's own,
/// which the Python path answers as it answers any exception (INTERNAL), never a crashed worker.
/// The seconds a caller still waits as a duration; none left (or a negative count) is none.
fn waited(within: Option<f64>) -> Option<std::time::Duration> {
    within.map(|seconds| std::time::Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(std::time::Duration::MAX))
}

/// `guarded` work within the caller's deadline; past it, whatever it decided is dropped for `abandoned`.
fn watched<T>(
    within: Option<std::time::Duration>,
    work: impl FnOnce() -> Result<T, wire::Refusal>,
) -> Result<T, Abandonable> {
    let started = std::time::Instant::now();
    let (done, late) = crate::deadline::watching(within, || guarded(work));
    if started.elapsed() >= LONG_CALL {
        crate::identify::give_back(); // a long call read a large request: its memory is the system's again
    }
    match (done, late) {
        (_, true) => Err(Abandonable::Abandoned),
        (done, false) => done.map_err(Abandonable::Refused),
    }
}

/// A call this long is a large request read: what it freed is handed back (identify::give_back),
/// so the next large one, on another thread, stays within the worker's memory bound.
const LONG_CALL: std::time::Duration = std::time::Duration::from_millis(20);

/// Why a call gives no answer: the request is refused, or the caller stopped waiting.
enum Abandonable {
    Refused(wire::Refusal),
    Abandoned,
}

fn unanswered(why: Abandonable) -> PyErr {
    match why {
        Abandonable::Refused(refusal) => refused(refusal),
        Abandonable::Abandoned => Refused::new_err(("abandoned", "the caller's deadline passed while it was decided")),
    }
}

fn guarded<T>(work: impl FnOnce() -> Result<T, wire::Refusal>) -> Result<T, wire::Refusal> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(wire::Refusal::Internal("the native engine panicked".into())))
}

fn refused(refusal: wire::Refusal) -> PyErr {
    match refusal {
        wire::Refusal::Invalid(violations) => {
            let pairs: Vec<(String, String)> = violations.into_iter().map(|v| (v.field, v.description)).collect();
            Refused::new_err(("invalid", pairs))
        }
        wire::Refusal::Internal(fault) => Refused::new_err(("internal", fault)),
        wire::Refusal::RosterUnknown(missing) => Refused::new_err(("roster_unknown", missing)),
    }
}

fn decision_to_python(py: Python<'_>, d: &Decision) -> PyResult<Py<PyAny>> {
    let out = PyDict::new(py);
    out.set_item("decision", &d.decision)?;
    let obligations = PyList::empty(py);
    for o in &d.obligations {
        obligations.append(obligation_to_python(py, o)?)?;
    }
    out.set_item("obligations", PyTuple::new(py, obligations)?)?;
    let items = PyList::empty(py);
    for i in &d.items {
        let item = PyDict::new(py);
        item.set_item("item_id", &i.item_id)?;
        item.set_item("outcome", &i.outcome)?;
        item.set_item("decision", &i.decision)?;
        item.set_item("governed_by", PyTuple::new(py, &i.governed_by)?)?;
        items.append(item)?;
    }
    out.set_item("items", PyTuple::new(py, items)?)?;
    let findings = PyList::empty(py);
    for f in &d.findings {
        let finding = PyDict::new(py);
        finding.set_item("agreement", &f.agreement)?;
        finding.set_item("version", f.version)?;
        finding.set_item("rule", &f.rule)?;
        finding.set_item("item_id", &f.item_id)?;
        finding.set_item("effect", &f.effect)?;
        finding.set_item("reason_code", &f.reason_code)?;
        finding.set_item("message", &f.message)?;
        findings.append(finding)?;
    }
    out.set_item("findings", PyTuple::new(py, findings)?)?;
    out.set_item("reason", &d.reason)?;
    out.set_item("policy_revision", &d.policy_revision)?;
    Ok(out.into_any().unbind())
}

fn obligation_to_python<'py>(py: Python<'py>, o: &Obligation) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("type", &o.r#type)?;
    out.set_item("item_ids", PyTuple::new(py, &o.item_ids)?)?;
    out.set_item("person_ids", PyTuple::new(py, &o.person_ids)?)?;
    let spans = PyList::empty(py);
    for s in &o.spans {
        let span = PyDict::new(py);
        span.set_item("start", s.start)?;
        span.set_item("end", s.end)?;
        span.set_item("reveals", &s.reveals)?;
        span.set_item("field", &s.field)?;
        span.set_item("item_id", &s.item_id)?;
        spans.append(span)?;
    }
    out.set_item("spans", PyTuple::new(py, spans)?)?;
    out.set_item("names", PyTuple::new(py, &o.names)?)?;
    out.set_item("scope", &o.scope)?;
    out.set_item("until", o.until)?;
    out.set_item("label", &o.label)?;
    out.set_item("notice", &o.notice)?;
    out.set_item("descriptor", &o.descriptor)?;
    out.set_item("link", &o.link)?;
    Ok(out)
}

/// The request read from Python and given back: what the tests check
/// `request_from_python` by (it must be the identity on every request).
#[pyfunction]
fn echo_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let read = request_from_python(request)?;
    Ok(format!("{read:?}").into_pyobject(py)?.into_any().unbind())
}

/// A Python `engine.model.Request` read field by field into the Rust model:
/// how the differential tests hand the two engines the same facts without
/// the wire in between.
pub(crate) fn request_from_python(r: &Bound<'_, PyAny>) -> PyResult<Request> {
    Ok(Request {
        action: text(r, "action")?,
        actor: actor(&r.getattr("actor")?)?,
        group: group(&r.getattr("group")?)?,
        items: list(r, "items", item)?,
        destination: destination(&r.getattr("destination")?)?,
        requested_at: instant(r, "requested_at")?,
        attribution: attribution(&r.getattr("attribution")?)?,
        format: text(r, "format")?,
        derived: text(r, "derived")?,
        quoted_text: text(r, "quoted_text")?,
        purpose: purpose(&r.getattr("purpose")?)?,
        attributes: map_of_any(&r.getattr("attributes")?)?,
        span_unit: text(r, "span_unit")?,
    })
}

fn text(o: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    o.getattr(name)?.extract()
}

fn flag(o: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    o.getattr(name)?.extract()
}

fn instant(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<Instant>> {
    let value = o.getattr(name)?;
    if value.is_none() {
        return Ok(None);
    }
    Ok(Some(value.extract::<i128>()?))
}

fn texts(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    o.getattr(name)?.try_iter()?.map(|v| v?.extract()).collect()
}

fn list<T>(o: &Bound<'_, PyAny>, name: &str, read: fn(&Bound<'_, PyAny>) -> PyResult<T>) -> PyResult<Vec<T>> {
    o.getattr(name)?.try_iter()?.map(|v| read(&v?)).collect()
}

fn pairs(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<(String, String)>> {
    let dict = o.getattr(name)?;
    let dict = dict.cast::<PyDict>()?;
    dict.iter().map(|(k, v)| Ok((k.extract()?, v.extract()?))).collect()
}

fn person(p: &Bound<'_, PyAny>) -> PyResult<Person> {
    Ok(Person {
        id: text(p, "id")?,
        display_name: text(p, "display_name")?,
        organization: text(p, "organization")?,
        handles: texts(p, "handles")?,
        is_minor: flag(p, "is_minor")?,
        aliases: texts(p, "aliases")?,
        organization_aliases: texts(p, "organization_aliases")?,
    })
}

fn actor(a: &Bound<'_, PyAny>) -> PyResult<Actor> {
    Ok(Actor {
        id: text(a, "id")?,
        display_name: text(a, "display_name")?,
        organization: text(a, "organization")?,
        role: text(a, "role")?,
        member: flag(a, "member")?,
        joined_at: instant(a, "joined_at")?,
        kind: text(a, "kind")?,
        installed_by: text(a, "installed_by")?,
    })
}

fn adoption(a: &Bound<'_, PyAny>) -> PyResult<Adoption> {
    Ok(Adoption {
        agreement: text(a, "agreement")?,
        version: a.getattr("version")?.extract()?,
        effective_from: instant(a, "effective_from")?,
        disclosed_at: instant(a, "disclosed_at")?,
        replaces: texts(a, "replaces")?,
        segments: texts(a, "segments")?,
        default_labels: pairs(a, "default_labels")?,
        label_floors: pairs(a, "label_floors")?,
    })
}

fn group(g: &Bound<'_, PyAny>) -> PyResult<Group> {
    Ok(Group {
        id: text(g, "id")?,
        privacy: text(g, "privacy")?,
        visibility: text(g, "visibility")?,
        adoptions: list(g, "adoptions", adoption)?,
        participants: Arc::new(Roster::new(list(g, "participants", person)?)),
        community: texts(g, "community")?,
        converted_at: instant(g, "converted_at")?,
    })
}

fn label(l: &Bound<'_, PyAny>) -> PyResult<Label> {
    Ok(Label {
        scheme: text(l, "scheme")?,
        value: text(l, "value")?,
        set_by: text(l, "set_by")?,
        set_at: instant(l, "set_at")?,
        params: pairs(l, "params")?,
    })
}

fn consent(c: &Bound<'_, PyAny>) -> PyResult<Consent> {
    Ok(Consent {
        by: text(c, "by")?,
        scope: text(c, "scope")?,
        recipients: texts(c, "recipients")?,
        granted_at: instant(c, "granted_at")?,
        withdrawn_at: instant(c, "withdrawn_at")?,
        id: text(c, "id")?,
    })
}

fn item(i: &Bound<'_, PyAny>) -> PyResult<Item> {
    let session = i.getattr("session")?;
    Ok(Item {
        id: text(i, "id")?,
        author: person(&i.getattr("author")?)?,
        posted_at: instant(i, "posted_at")?,
        retracted_at: instant(i, "retracted_at")?,
        labels: list(i, "labels", label)?,
        consents: list(i, "consents", consent)?,
        text: text(i, "text")?,
        kind: text(i, "kind")?,
        listed_people: list(i, "listed_people", person)?,
        session: Session {
            id: text(&session, "id")?,
            segment: text(&session, "segment")?,
            speaker_count: session.getattr("speaker_count")?.extract()?,
        },
        exchange_participants: texts(i, "exchange_participants")?,
        conversation: text(i, "conversation")?,
        link: text(i, "link")?,
    })
}

fn recipient(r: &Bound<'_, PyAny>) -> PyResult<Recipient> {
    Ok(Recipient { id: text(r, "id")?, organization: text(r, "organization")? })
}

fn maybe_flag(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<bool>> {
    let value = o.getattr(name)?;
    if value.is_none() {
        Ok(None)
    } else {
        Ok(Some(value.extract()?))
    }
}

fn destination(d: &Bound<'_, PyAny>) -> PyResult<Destination> {
    let service = d.getattr("service")?;
    Ok(Destination {
        kind: text(d, "kind")?,
        channel: text(d, "channel")?,
        recipients: list(d, "recipients", recipient)?,
        group_id: text(d, "group_id")?,
        publicly_accessible: flag(d, "publicly_accessible")?,
        service: Service {
            name: text(&service, "name")?,
            organization: text(&service, "organization")?,
            new_controller: maybe_flag(&service, "new_controller")?,
            may_train: maybe_flag(&service, "may_train")?,
            retains: maybe_flag(&service, "retains")?,
        },
    })
}

fn attribution(a: &Bound<'_, PyAny>) -> PyResult<Attribution> {
    Ok(Attribution {
        author_identity: flag(a, "author_identity")?,
        affiliation: flag(a, "affiliation")?,
        descriptor: text(a, "descriptor")?,
        link: flag(a, "link")?,
    })
}

fn purpose(p: &Bound<'_, PyAny>) -> PyResult<Purpose> {
    Ok(Purpose {
        need_to_know: flag(p, "need_to_know")?,
        legal_basis: text(p, "legal_basis")?,
        notification_prohibited: flag(p, "notification_prohibited")?,
        usage: text(p, "use")?,
    })
}

fn map_of_any(o: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, Any>> {
    let dict = o.cast::<PyDict>()?;
    dict.iter().map(|(k, v)| Ok((k.extract()?, any(&v)?))).collect()
}

/// A custom attribute's value; a Python int beyond 64 bits cannot come from
/// the wire (numbers are doubles there), so it is refused here.
fn any(v: &Bound<'_, PyAny>) -> PyResult<Any> {
    if v.is_none() {
        Ok(Any::Null)
    } else if v.is_instance_of::<PyBool>() {
        Ok(Any::Bool(v.extract()?))
    } else if v.is_instance_of::<PyInt>() {
        Ok(Any::Int(v.extract()?))
    } else if v.is_instance_of::<PyFloat>() {
        Ok(Any::Number(v.extract()?))
    } else if v.is_instance_of::<PyString>() {
        Ok(Any::Text(v.extract()?))
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        Ok(Any::List(v.try_iter()?.map(|e| any(&e?)).collect::<PyResult<_>>()?))
    } else if v.is_instance_of::<PyDict>() {
        Ok(Any::Map(map_of_any(v)?))
    } else {
        Err(PyValueError::new_err(format!("an attribute of no JSON type: {}", v.get_type().name()?)))
    }
}

// ---- identify ----
// Hooks holding identify.rs and names.rs to identify.py, names.py and compiled.scheme_key
// (tests/native/test_identify.py). A person is (id, display name, organization, handles,
// aliases, organization aliases); a span (start, end, reveals, field, item id).

type PersonFields = (String, String, String, Vec<String>, Vec<String>, Vec<String>);
type SpanFields = (i64, i64, String, String, String);

fn identify_person(
    (id, display_name, organization, handles, aliases, organization_aliases): PersonFields,
) -> crate::model::Person {
    crate::model::Person { id, display_name, organization, handles, aliases, organization_aliases, is_minor: false }
}

fn identify_span_fields(span: crate::model::Span) -> SpanFields {
    (span.start, span.end, span.reveals, span.field, span.item_id)
}

fn identify_too_large(error: crate::identify::RosterTooLarge) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(error.0)
}

/// `identify.identifying_spans`; RosterTooLarge is a ValueError with its message.
#[pyfunction]
fn identify_spans(
    text: &str,
    people: Vec<PersonFields>,
    except_person: &str,
    excused: Vec<String>,
    counts: u32,
) -> PyResult<Vec<SpanFields>> {
    let excused: Vec<&str> = excused.iter().map(String::as_str).collect();
    let found = crate::identify::identifying_spans(
        text,
        people.into_iter().map(identify_person),
        except_person,
        &excused,
        counts,
    )
    .map_err(identify_too_large)?;
    Ok(found.into_iter().map(identify_span_fields).collect())
}

/// One `identify.Matcher` asked about several texts in turn, each (text, excused, counts): its
/// spans and "", or no spans and the RosterTooLarge message.
#[pyfunction]
fn identify_matcher_spans(
    people: Vec<PersonFields>,
    asked: Vec<(String, Vec<String>, u32)>,
) -> Vec<(Vec<SpanFields>, String)> {
    let matcher = crate::identify::Matcher::new(people.into_iter().map(identify_person));
    asked
        .iter()
        .map(|(text, excused, counts)| {
            let excused: Vec<&str> = excused.iter().map(String::as_str).collect();
            matcher
                .spans(text, &excused, *counts)
                .map(|found| (found.into_iter().map(identify_span_fields).collect(), String::new()))
                .unwrap_or_else(|error| (Vec::new(), error.0))
        })
        .collect()
}

fn identify_spans_of(spans: Vec<SpanFields>) -> Vec<crate::model::Span> {
    spans
        .into_iter()
        .map(|(start, end, reveals, field, item_id)| crate::model::Span { start, end, reveals, field, item_id })
        .collect()
}

/// `identify.in_unit`.
#[pyfunction]
fn identify_in_unit(text: &str, spans: Vec<SpanFields>, unit: &str) -> Vec<SpanFields> {
    crate::identify::in_unit(text, &identify_spans_of(spans), unit).into_iter().map(identify_span_fields).collect()
}

/// `identify.merge_spans`.
#[pyfunction]
fn identify_merge_spans(spans: Vec<SpanFields>) -> Vec<SpanFields> {
    crate::identify::merge_spans(&identify_spans_of(spans)).into_iter().map(identify_span_fields).collect()
}

/// `identify.judgement(**calls)`; an unknown call ignored is a KeyError.
#[pyfunction]
fn identify_judgement(calls: Vec<(String, String)>) -> PyResult<u32> {
    let calls: Vec<(&str, &str)> = calls.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    crate::identify::judgement(&calls).map_err(|error| pyo3::exceptions::PyKeyError::new_err(error.0))
}

/// `names.fold`.
#[pyfunction]
fn names_fold(name: &str) -> String {
    crate::names::fold(name)
}

/// `names.fold_char`.
#[pyfunction]
fn names_fold_char(ch: char) -> String {
    crate::names::fold_char(ch)
}

/// `compiled.scheme_key`.
#[pyfunction]
fn names_scheme_key(name: &str) -> String {
    crate::names::scheme_key(name)
}

// ---- wire ----
// Hooks for tests/native/test_wire.py: a request read from bytes comes back
// as `dataclasses.asdict` of the Python Request would give it (lists for
// tuples), a refusal as its violations; a decision goes in as its asdict.

use pyo3::types::PyBytes;

use crate::model;
use crate::wire;

fn limits_from(settings: &Bound<'_, PyDict>) -> PyResult<wire::Limits> {
    let mut limits = wire::Limits::default();
    for (key, value) in settings.iter() {
        let key: String = key.extract()?;
        let value: usize = value.extract()?;
        let slot = match key.as_str() {
            "max_items" => &mut limits.max_items,
            "max_participants" => &mut limits.max_participants,
            "max_listed_people" => &mut limits.max_listed_people,
            "max_text" => &mut limits.max_text,
            "max_labels" => &mut limits.max_labels,
            "max_struct_depth" => &mut limits.max_struct_depth,
            "max_adoptions" => &mut limits.max_adoptions,
            "max_id" => &mut limits.max_id,
            "max_name" => &mut limits.max_name,
            "max_names_per_person" => &mut limits.max_names_per_person,
            "max_names_total" => &mut limits.max_names_total,
            "max_context_entries" => &mut limits.max_context_entries,
            "max_context_chars" => &mut limits.max_context_chars,
            other => return Err(PyValueError::new_err(format!("no limit `{other}`"))),
        };
        *slot = value;
    }
    Ok(limits)
}

/// (False, [(field, description), …]) for a refusal.
fn refusal_to_py<'py>(py: Python<'py>, refusal: wire::Refusal) -> PyResult<Bound<'py, PyAny>> {
    match refusal {
        wire::Refusal::Invalid(violations) => {
            let pairs: Vec<(String, String)> = violations.into_iter().map(|v| (v.field, v.description)).collect();
            Ok((false, pairs).into_pyobject(py)?.into_any())
        }
        wire::Refusal::Internal(fault) => Err(PyValueError::new_err(fault)),
        // read_check finds no rosters: a digest sent alone is unknown, as to a server that keeps none.
        wire::Refusal::RosterUnknown(missing) => {
            let pairs: Vec<(String, String)> =
                missing.into_iter().map(|(field, digest)| (field, format!("roster unknown: {digest}"))).collect();
            Ok((false, pairs).into_pyobject(py)?.into_any())
        }
    }
}

/// `read_check(data, now_ns, max_skew_ns | None, limits) -> (True, request_asdict) | (False, violations)`
#[pyfunction]
fn read_check<'py>(
    py: Python<'py>,
    data: &[u8],
    now: i128,
    max_skew: Option<i128>,
    limits: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let clock = wire::Clock { now, max_skew };
    match wire::read_check(data, &clock, &limits_from(limits)?) {
        Ok((request, _)) => Ok((true, request_to_py(py, &request)?).into_pyobject(py)?.into_any()),
        Err(refusal) => refusal_to_py(py, refusal),
    }
}

/// `read_batch(data, now_ns, max_skew_ns | None, limits, max_batch) -> (True, [request_asdict]) | (False, violations)`
#[pyfunction]
fn read_batch<'py>(
    py: Python<'py>,
    data: &[u8],
    now: i128,
    max_skew: Option<i128>,
    limits: &Bound<'py, PyDict>,
    max_batch: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let clock = wire::Clock { now, max_skew };
    match wire::read_batch(data, &clock, &limits_from(limits)?, max_batch) {
        Ok(batch) => {
            let list = PyList::empty(py);
            for (request, _) in &batch {
                list.append(request_to_py(py, request)?)?;
            }
            Ok((true, list).into_pyobject(py)?.into_any())
        }
        Err(refusal) => refusal_to_py(py, refusal),
    }
}

/// `write_response(decision_asdict, decision_id="") -> bytes` (a CheckResponse without explanation).
#[pyfunction]
#[pyo3(signature = (decision, decision_id=""))]
fn write_response<'py>(
    py: Python<'py>,
    decision: &Bound<'py, PyDict>,
    decision_id: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes =
        wire::write_response(&decision_from(decision)?, decision_id).map_err(|r| PyValueError::new_err(r.message()))?;
    Ok(PyBytes::new(py, &bytes))
}

/// `write_batch_response([decision_asdict], decision_ids=()) -> bytes`.
#[pyfunction]
#[pyo3(signature = (decisions, decision_ids=Vec::new()))]
fn write_batch_response<'py>(
    py: Python<'py>,
    decisions: &Bound<'py, PyList>,
    decision_ids: Vec<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    let decisions = decisions.iter().map(|d| decision_from(d.cast::<PyDict>()?)).collect::<PyResult<Vec<_>>>()?;
    let bytes =
        wire::write_batch_response(&decisions, &decision_ids).map_err(|r| PyValueError::new_err(r.message()))?;
    Ok(PyBytes::new(py, &bytes))
}

fn get<'py, T: for<'a> FromPyObject<'a, 'py, Error = PyErr>>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match dict.get_item(key)? {
        Some(value) => value.extract(),
        None => Err(PyValueError::new_err(format!("no `{key}`"))),
    }
}

fn dicts<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let list = dict.get_item(key)?.ok_or_else(|| PyValueError::new_err(format!("no `{key}`")))?;
    list.try_iter()?.map(|d| Ok(d?.cast_into::<PyDict>()?)).collect()
}

fn decision_from(d: &Bound<'_, PyDict>) -> PyResult<model::Decision> {
    let obligations = dicts(d, "obligations")?
        .iter()
        .map(|o| {
            let spans = dicts(o, "spans")?
                .iter()
                .map(|s| {
                    Ok(model::Span {
                        start: get(s, "start")?,
                        end: get(s, "end")?,
                        reveals: get(s, "reveals")?,
                        field: get(s, "field")?,
                        item_id: get(s, "item_id")?,
                    })
                })
                .collect::<PyResult<_>>()?;
            Ok(model::Obligation {
                r#type: get(o, "type")?,
                item_ids: get(o, "item_ids")?,
                person_ids: get(o, "person_ids")?,
                spans,
                names: get(o, "names")?,
                scope: get(o, "scope")?,
                until: get(o, "until")?,
                label: get(o, "label")?,
                notice: get(o, "notice")?,
                descriptor: get(o, "descriptor")?,
                link: get(o, "link")?,
            })
        })
        .collect::<PyResult<_>>()?;
    let items = dicts(d, "items")?
        .iter()
        .map(|i| {
            Ok(model::ItemResult {
                item_id: get(i, "item_id")?,
                outcome: get(i, "outcome")?,
                decision: get(i, "decision")?,
                governed_by: get(i, "governed_by")?,
            })
        })
        .collect::<PyResult<_>>()?;
    let findings = dicts(d, "findings")?
        .iter()
        .map(|f| {
            Ok(model::Finding {
                agreement: get(f, "agreement")?,
                version: get(f, "version")?,
                rule: get(f, "rule")?,
                item_id: get(f, "item_id")?,
                effect: get(f, "effect")?,
                reason_code: get(f, "reason_code")?,
                message: get(f, "message")?,
            })
        })
        .collect::<PyResult<_>>()?;
    Ok(model::Decision {
        decision: get(d, "decision")?,
        obligations,
        items,
        findings,
        reason: get(d, "reason")?,
        policy_revision: get(d, "policy_revision")?,
    })
}

fn any_to_py<'py>(py: Python<'py>, value: &model::Any) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        model::Any::Null => py.None().into_bound(py),
        model::Any::Bool(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
        model::Any::Int(number) => number.into_pyobject(py)?.into_any(),
        model::Any::Number(number) => number.into_pyobject(py)?.into_any(),
        model::Any::Text(text) => text.into_pyobject(py)?.into_any(),
        model::Any::List(values) => {
            let list = PyList::empty(py);
            for v in values {
                list.append(any_to_py(py, v)?)?;
            }
            list.into_any()
        }
        model::Any::Map(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, any_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

fn pairs_to_py<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in pairs {
        dict.set_item(k, v)?;
    }
    Ok(dict)
}

fn person_to_py<'py>(py: Python<'py>, p: &model::Person) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &p.id)?;
    d.set_item("display_name", &p.display_name)?;
    d.set_item("organization", &p.organization)?;
    d.set_item("handles", &p.handles)?;
    d.set_item("is_minor", p.is_minor)?;
    d.set_item("aliases", &p.aliases)?;
    d.set_item("organization_aliases", &p.organization_aliases)?;
    Ok(d)
}

fn people_to_py<'py>(py: Python<'py>, people: &[model::Person]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for p in people {
        list.append(person_to_py(py, p)?)?;
    }
    Ok(list)
}

fn request_to_py<'py>(py: Python<'py>, r: &model::Request) -> PyResult<Bound<'py, PyDict>> {
    let actor = PyDict::new(py);
    let a = &r.actor;
    actor.set_item("id", &a.id)?;
    actor.set_item("display_name", &a.display_name)?;
    actor.set_item("organization", &a.organization)?;
    actor.set_item("role", &a.role)?;
    actor.set_item("member", a.member)?;
    actor.set_item("joined_at", a.joined_at)?;
    actor.set_item("kind", &a.kind)?;
    actor.set_item("installed_by", &a.installed_by)?;

    let g = &r.group;
    let adoptions = PyList::empty(py);
    for a in &g.adoptions {
        let d = PyDict::new(py);
        d.set_item("agreement", &a.agreement)?;
        d.set_item("version", a.version)?;
        d.set_item("effective_from", a.effective_from)?;
        d.set_item("disclosed_at", a.disclosed_at)?;
        d.set_item("replaces", &a.replaces)?;
        d.set_item("segments", &a.segments)?;
        d.set_item("default_labels", pairs_to_py(py, &a.default_labels)?)?;
        d.set_item("label_floors", pairs_to_py(py, &a.label_floors)?)?;
        adoptions.append(d)?;
    }
    let group = PyDict::new(py);
    group.set_item("id", &g.id)?;
    group.set_item("privacy", &g.privacy)?;
    group.set_item("visibility", &g.visibility)?;
    group.set_item("adoptions", adoptions)?;
    group.set_item("participants", people_to_py(py, g.participants.people())?)?;
    group.set_item("community", &g.community)?;
    group.set_item("converted_at", g.converted_at)?;

    let items = PyList::empty(py);
    for i in &r.items {
        let labels = PyList::empty(py);
        for l in &i.labels {
            let d = PyDict::new(py);
            d.set_item("scheme", &l.scheme)?;
            d.set_item("value", &l.value)?;
            d.set_item("set_by", &l.set_by)?;
            d.set_item("set_at", l.set_at)?;
            d.set_item("params", pairs_to_py(py, &l.params)?)?;
            labels.append(d)?;
        }
        let consents = PyList::empty(py);
        for c in &i.consents {
            let d = PyDict::new(py);
            d.set_item("by", &c.by)?;
            d.set_item("scope", &c.scope)?;
            d.set_item("recipients", &c.recipients)?;
            d.set_item("granted_at", c.granted_at)?;
            d.set_item("withdrawn_at", c.withdrawn_at)?;
            d.set_item("id", &c.id)?;
            consents.append(d)?;
        }
        let session = PyDict::new(py);
        session.set_item("id", &i.session.id)?;
        session.set_item("segment", &i.session.segment)?;
        session.set_item("speaker_count", i.session.speaker_count)?;
        let d = PyDict::new(py);
        d.set_item("id", &i.id)?;
        d.set_item("author", person_to_py(py, &i.author)?)?;
        d.set_item("posted_at", i.posted_at)?;
        d.set_item("retracted_at", i.retracted_at)?;
        d.set_item("labels", labels)?;
        d.set_item("consents", consents)?;
        d.set_item("text", &i.text)?;
        d.set_item("kind", &i.kind)?;
        d.set_item("listed_people", people_to_py(py, &i.listed_people)?)?;
        d.set_item("session", session)?;
        d.set_item("exchange_participants", &i.exchange_participants)?;
        d.set_item("conversation", &i.conversation)?;
        d.set_item("link", &i.link)?;
        items.append(d)?;
    }

    let dst = &r.destination;
    let recipients = PyList::empty(py);
    for rc in &dst.recipients {
        let d = PyDict::new(py);
        d.set_item("id", &rc.id)?;
        d.set_item("organization", &rc.organization)?;
        recipients.append(d)?;
    }
    let service = PyDict::new(py);
    service.set_item("name", &dst.service.name)?;
    service.set_item("organization", &dst.service.organization)?;
    service.set_item("new_controller", dst.service.new_controller)?;
    service.set_item("may_train", dst.service.may_train)?;
    service.set_item("retains", dst.service.retains)?;
    let destination = PyDict::new(py);
    destination.set_item("kind", &dst.kind)?;
    destination.set_item("channel", &dst.channel)?;
    destination.set_item("recipients", recipients)?;
    destination.set_item("group_id", &dst.group_id)?;
    destination.set_item("publicly_accessible", dst.publicly_accessible)?;
    destination.set_item("service", service)?;

    let attribution = PyDict::new(py);
    attribution.set_item("author_identity", r.attribution.author_identity)?;
    attribution.set_item("affiliation", r.attribution.affiliation)?;
    attribution.set_item("descriptor", &r.attribution.descriptor)?;
    attribution.set_item("link", r.attribution.link)?;
    let purpose = PyDict::new(py);
    purpose.set_item("need_to_know", r.purpose.need_to_know)?;
    purpose.set_item("legal_basis", &r.purpose.legal_basis)?;
    purpose.set_item("notification_prohibited", r.purpose.notification_prohibited)?;
    purpose.set_item("use", &r.purpose.usage)?;
    let attributes = PyDict::new(py);
    for (k, v) in &r.attributes {
        attributes.set_item(k, any_to_py(py, v)?)?;
    }

    let d = PyDict::new(py);
    d.set_item("action", &r.action)?;
    d.set_item("actor", actor)?;
    d.set_item("group", group)?;
    d.set_item("items", items)?;
    d.set_item("destination", destination)?;
    d.set_item("requested_at", r.requested_at)?;
    d.set_item("attribution", attribution)?;
    d.set_item("format", &r.format)?;
    d.set_item("derived", &r.derived)?;
    d.set_item("quoted_text", &r.quoted_text)?;
    d.set_item("purpose", purpose)?;
    d.set_item("attributes", attributes)?;
    d.set_item("span_unit", &r.span_unit)?;
    Ok(d)
}

// ---- decide ---------------------------------------------------------------------

/// consent.latest over a Python list of `engine.model.Consent`: (index of the record, withdrawn?) or None.
#[pyfunction]
fn consent_latest(
    consents: Vec<Bound<'_, PyAny>>,
    person_id: &str,
    kind: &str,
    now: Instant,
) -> PyResult<Option<(usize, bool)>> {
    let consents = consents.iter().map(consent).collect::<PyResult<Vec<_>>>()?;
    Ok(crate::consent::latest(&consents, person_id, kind, now).map(|(found, withdrawn)| {
        (consents.iter().position(|c| std::ptr::eq(c, found)).unwrap_or(usize::MAX), withdrawn)
    }))
}

/// consent.granted_since; `since` None is since ever (Python's `-math.inf`).
#[pyfunction]
fn consent_granted_since(
    consents: Vec<Bound<'_, PyAny>>,
    person_id: &str,
    kind: &str,
    since: Option<Instant>,
    now: Instant,
    destination: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let consents = consents.iter().map(consent).collect::<PyResult<Vec<_>>>()?;
    let since = crate::terms::Moment::from_option(since);
    Ok(crate::consent::granted_since(&consents, person_id, kind, since, now, &self::destination(destination)?))
}

/// instants.parse_iso as a label parameter's time is read: the instant, or ValueError with
/// the words a rule's failure gives it (`Type: message`).
#[pyfunction]
fn parse_iso(text: &str) -> PyResult<Instant> {
    crate::obligations::parse_iso(text).map_err(|failure| PyValueError::new_err(failure.0))
}

// ---- conditions -------------------------------------------------------------------

/// Why `build::build_policy` refuses the compiled form, or None when it builds it.
#[pyfunction]
fn conditions_build_error(ir: &[u8]) -> Option<String> {
    crate::build::build_policy(ir).err()
}

/// Whether the pattern, as the native engine compiles it, is found in `text`; the refusal as a ValueError.
#[pyfunction]
fn conditions_pattern_matches(pattern: &str, text: &str) -> PyResult<bool> {
    let compiled = crate::conditions::compile_pattern(pattern).map_err(PyValueError::new_err)?;
    Ok(compiled.is_match(text))
}

/// A compiled policy built here, whose rules' conditions and messages the tests evaluate one by one.
#[pyclass(frozen)]
struct ConditionsPolicy {
    policy: crate::compiled::CompiledPolicy,
}

#[pymethods]
impl ConditionsPolicy {
    #[new]
    fn new(ir: &[u8]) -> PyResult<Self> {
        Ok(ConditionsPolicy { policy: crate::build::build_policy(ir).map_err(PyValueError::new_err)? })
    }

    /// What the policy holds besides conditions, in plain data: what `shape` in test_conditions.py reads
    /// from the reference's CompiledPolicy.
    fn shape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use crate::compiled::Param;
        let p = &self.policy;
        let sorted = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
        let pairs = |m: &Vec<(String, String)>| {
            let mut v = m.clone();
            v.sort();
            v
        };
        let agreements: Vec<_> = p
            .agreements
            .iter()
            .map(|a| {
                let versions: Vec<_> =
                    a.versions.iter().map(|v| (v.version, v.effective_from, v.disclosed_at)).collect();
                (
                    a.id.clone(),
                    a.version,
                    a.title.clone(),
                    a.summary.clone(),
                    a.source.clone(),
                    a.platform_wide,
                    versions,
                )
            })
            .collect();
        let bindings: BTreeMap<_, Vec<_>> = p
            .bindings
            .iter()
            .map(|(g, adoptions)| {
                let adoptions = adoptions
                    .iter()
                    .map(|a| {
                        (
                            (a.agreement.clone(), a.version, a.effective_from, a.disclosed_at),
                            (a.replaces.clone(), a.segments.clone(), pairs(&a.default_labels), pairs(&a.label_floors)),
                        )
                    })
                    .collect();
                (g.clone(), adoptions)
            })
            .collect();
        let schemes: BTreeMap<_, _> = p
            .label_schemes
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    (
                        s.order.clone(),
                        sorted(&s.aliases),
                        s.agreement.clone(),
                        s.relabel_by.iter().cloned().collect::<Vec<_>>(),
                    ),
                )
            })
            .collect();
        let mut versions = BTreeMap::new();
        let mut rules = BTreeMap::new();
        for by_number in p.versions.values() {
            for v in by_number.values() {
                let index: BTreeMap<String, Vec<String>> = v
                    .index
                    .iter()
                    .map(|((a, d), rs)| {
                        (
                            format!("{a}/{d}"),
                            rs.iter().map(|r| crate::model::rule_key(&r.agreement, r.version, &r.id)).collect(),
                        )
                    })
                    .collect();
                for r in v.index.values().flatten() {
                    let obligations: Vec<(String, Vec<(String, String)>)> = r
                        .obligations
                        .iter()
                        .map(|o| {
                            let params = o
                                .params
                                .iter()
                                .map(|(n, p)| {
                                    let shown = match p {
                                        Param::Text(t) => t.clone(),
                                        Param::Instant(i) => i.to_string(),
                                        Param::Fact(_) | Param::InstantFromText(_) => "fact".into(),
                                    };
                                    (n.clone(), shown)
                                })
                                .collect();
                            (o.r#type.clone(), params)
                        })
                        .collect();
                    let described = (
                        (
                            r.effect.word(),
                            r.waivable_by_author,
                            r.reason_code.clone(),
                            r.actions.clone(),
                            r.destinations.clone(),
                        ),
                        (
                            r.schemes.iter().cloned().collect::<Vec<_>>(),
                            r.consent_scopes.iter().cloned().collect::<Vec<_>>(),
                            obligations,
                        ),
                    );
                    rules.insert(crate::model::rule_key(&r.agreement, r.version, &r.id), described);
                }
                let described = (
                    (v.effective_from, v.disclosed_at, v.published_at, v.authors_may_restrict_later),
                    (
                        sorted(&v.default_labels),
                        sorted(&v.label_floors),
                        v.frozen_schemes.iter().cloned().collect::<Vec<_>>(),
                        index,
                    ),
                );
                versions.insert(v.key(), described);
            }
        }
        let shape = (
            (p.revision.clone(), agreements, p.platform_wide.clone(), bindings),
            (schemes, p.consent_scopes_read.iter().cloned().collect::<Vec<_>>(), versions, rules),
        );
        Ok(shape.into_pyobject(py)?.into_any().unbind())
    }

    /// Every rule's key (`agreement@version/rule`) -> for each item of `request`: (held, why it failed,
    /// message, why the message failed), each item with its effective labels and their parameters.
    fn evaluate(
        &self,
        request: &Bound<'_, PyAny>,
        labels: Vec<BTreeMap<String, String>>,
        label_params: Vec<BTreeMap<String, BTreeMap<String, String>>>,
        requested_at: Instant,
    ) -> PyResult<BTreeMap<String, Vec<(Option<bool>, Option<String>, Option<String>, Option<String>)>>> {
        let request = request_from_python(request)?;
        let mut results = BTreeMap::new();
        for (agreement, versions) in &self.policy.versions {
            for (number, version) in versions {
                let mut seen: Vec<*const crate::compiled::CompiledRule> = Vec::new();
                for rule in version.index.values().flatten() {
                    let address = std::sync::Arc::as_ptr(rule);
                    if seen.contains(&address) {
                        continue;
                    }
                    seen.push(address);
                    let mut outcomes = Vec::new();
                    for (i, item) in request.items.iter().enumerate() {
                        let (Some(label), Some(label_param)) = (labels.get(i), label_params.get(i)) else {
                            return Err(PyValueError::new_err("a label and its parameters for each item"));
                        };
                        let acting_person =
                            if request.actor.kind == "service" { "" } else { request.actor.id.as_str() };
                        let mut scope = crate::compiled::Scope {
                            request: &request,
                            item,
                            requested_at,
                            label,
                            label_param,
                            vars: Vec::new(),
                            acting_person,
                            actor_is_author: !item.author.id.is_empty() && item.author.id == acting_person,
                        };
                        let (held, failure) = match rule.condition.holds(&mut scope) {
                            Ok(held) => (Some(held), None),
                            Err(failure) => (None, Some(failure.0)),
                        };
                        let (message, message_failure) = match crate::conditions::render_message(&rule.message, &scope)
                        {
                            Ok(message) => (Some(message), None),
                            Err(failure) => (None, Some(failure.0)),
                        };
                        outcomes.push((held, failure, message, message_failure));
                    }
                    results.insert(crate::model::rule_key(agreement, *number, &rule.id), outcomes);
                }
            }
        }
        Ok(results)
    }
}

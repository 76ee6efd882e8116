//! The Python module `discretion_native`: a thin adapter over the engine.
//!
//! `Engine` is what the server uses; the functions below it are hooks the
//! differential tests (tests/native/) call to hold one module of this engine
//! to its Python twin. Each module's hooks sit in its own section.
use pyo3::prelude::*;

#[pymodule]
fn discretion_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // ---- engine (python.rs) ----
    // ---- wire ----
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
    // ---- decide ----
    let _ = m;
    Ok(())
}

// ---- identify ----
// Hooks holding identify.rs and names.rs to identify.py, names.py and compiled.scheme_key
// (tests/native/test_identify.py). A person is (id, display name, organization, handles,
// aliases, organization aliases); a span (start, end, reveals, field, item id).

type PersonFields = (String, String, String, Vec<String>, Vec<String>, Vec<String>);
type SpanFields = (i64, i64, String, String, String);

fn identify_person((id, display_name, organization, handles, aliases, organization_aliases): PersonFields)
    -> crate::model::Person {
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
fn identify_spans(text: &str, people: Vec<PersonFields>, except_person: &str, excused: Vec<String>, counts: u32)
    -> PyResult<Vec<SpanFields>> {
    let excused: Vec<&str> = excused.iter().map(String::as_str).collect();
    let found = crate::identify::identifying_spans(text, people.into_iter().map(identify_person), except_person,
                                                   &excused, counts).map_err(identify_too_large)?;
    Ok(found.into_iter().map(identify_span_fields).collect())
}

/// One `identify.Matcher` asked about several texts in turn, each (text, excused, counts): its
/// spans and "", or no spans and the RosterTooLarge message.
#[pyfunction]
fn identify_matcher_spans(people: Vec<PersonFields>, asked: Vec<(String, Vec<String>, u32)>)
    -> Vec<(Vec<SpanFields>, String)> {
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

//! Conditions, facts and messages of the compiled form as evaluated here:
//! service/discretion/engine/build.py (the predicates) and facts.py (the
//! getters) in Rust, with the same semantics to the letter (the differential
//! tests compare the two).
//!
//! TODO(conditions): everything below is a placeholder to be written.

use crate::compiled::{Failure, Scope};

/// A value a fact path reads: borrowed from the request where it can be.
/// (Its variants are this module's to choose; the rest of the engine uses
/// only the methods below.)
#[derive(Clone, Debug)]
pub enum Value<'a> {
    Placeholder(std::marker::PhantomData<&'a ()>),
}

impl<'a> Value<'a> {
    /// Python's `value is None`.
    pub fn is_none(&self) -> bool {
        unimplemented!("conditions: Value::is_none")
    }
    /// The text, when the value is a text.
    pub fn as_text(&self) -> Option<&str> {
        unimplemented!("conditions: Value::as_text")
    }
    /// The instant, when the value is one.
    pub fn as_instant(&self) -> Option<crate::model::Instant> {
        unimplemented!("conditions: Value::as_instant")
    }
    /// Python's `str(value)` of the value the reference evaluator reads, as
    /// a message or a parameter shows it.
    pub fn python_str(&self) -> String {
        unimplemented!("conditions: Value::python_str")
    }
}

/// A fact path resolved once, at build time, into a reader over the scope.
#[derive(Clone, Debug)]
pub struct Getter {}

impl Getter {
    pub fn read<'a>(&self, _scope: &Scope<'a>) -> Result<Value<'a>, Failure> {
        unimplemented!("conditions: Getter::read")
    }
}

/// A rule's condition: every entry must hold; with none it always holds.
#[derive(Debug)]
pub struct Condition {}

impl Condition {
    pub fn holds(&self, _scope: &mut Scope<'_>) -> Result<bool, Failure> {
        unimplemented!("conditions: Condition::holds")
    }
}

#[derive(Clone, Debug)]
pub enum MessagePiece {
    Text(String),
    Fact(Getter),
}

/// A reason's message with its facts filled in, as build.py's `message` renders it.
pub fn render_message(_pieces: &[MessagePiece], _scope: &Scope<'_>) -> Result<String, Failure> {
    unimplemented!("conditions: render_message")
}

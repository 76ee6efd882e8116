//! One request, one decision: service/discretion/engine/decide.py in Rust.
//! Pure: the clock is a parameter.
//!
//! TODO(decide): to be written.

use crate::compiled::CompiledPolicy;
use crate::model::{Decision, Instant, Request};

pub fn decide(_policy: &CompiledPolicy, _request: &Request, _now: Instant) -> Decision {
    unimplemented!("decide")
}

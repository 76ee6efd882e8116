//! The compiled form (discretion.ir.v1.Policy bytes) -> CompiledPolicy:
//! service/discretion/engine/build.py in Rust. Refuses anything a compiler
//! never writes (an unknown IR version, an unspecified enum, a rule indexed
//! under nothing, an obligation of no known type, …) rather than skip it.
//!
//! TODO(conditions): to be written.

use crate::compiled::CompiledPolicy;

pub fn build_policy(_ir: &[u8]) -> Result<CompiledPolicy, String> {
    Err("the native engine cannot build a policy yet".into())
}

//! Whether a person's consent holds at the time of the request: service/discretion/engine/consent.py in Rust.
//!
//! TODO(decide): to be written.

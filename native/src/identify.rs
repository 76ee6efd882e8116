//! Finding text that identifies a participant: service/discretion/engine/identify.py
//! (and names.py, the folding of characters) in Rust, with the same spans to the letter.
//!
//! TODO(identify): to be written.

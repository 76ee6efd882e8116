//! Folding names as people read them: service/discretion/engine/names.py in Rust.
//!
//! STAND-IN on branch h-decide only, so that decide compiles before the
//! identify branch lands: drop it for identify's names.rs when merging.
//! It folds case, compatibility forms and accents, not look-alikes.

use unicode_normalization::UnicodeNormalization;

/// Only letters and digits count: spaces, punctuation and marks do not.
pub fn fold(name: &str) -> String {
    name.to_lowercase().nfkd().filter(|c| c.is_alphanumeric()).collect()
}

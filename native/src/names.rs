//! Folding names as people read them: service/discretion/engine/names.py in Rust.
//!
//! STAND-IN on branch h-decide only, so that decide compiles before the
//! identify branch lands: drop it for identify's names.rs when merging (the
//! same signatures). Exact for ASCII; it does not fold look-alikes, and reads
//! other characters by Rust's Unicode tables, not Python's.

/// `str.isspace()`.
pub fn is_space(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// `str.strip()`.
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// `str.lower()`.
pub fn lower(text: &str) -> String {
    text.to_lowercase()
}

/// Only letters and digits count: spaces, punctuation and marks do not.
pub fn fold(name: &str) -> String {
    name.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A label scheme's name as it is looked up (compiled.py): blanks and invisible characters gone, no case.
pub fn scheme_key(name: &str) -> String {
    name.chars().filter(|&c| !is_space(c) && !c.is_control() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{feff}'))
        .collect::<String>()
        .to_lowercase()
}

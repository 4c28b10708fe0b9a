//! `pattern` of CRD schemas: compiled once per distinct expression.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

/// Compiled patterns; CRDs are few, so the cache stays small.
static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();

/// Whether `s` matches `pattern` (unanchored, as JSON Schema defines it).
/// A pattern that does not compile matches nothing; CRD validation refuses
/// such patterns before objects are checked against them.
pub(crate) fn matches(pattern: &str, s: &str) -> bool {
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|r| r.is_match(s))
}

/// The compile error of a pattern, if it has one.
pub(crate) fn compile_error(pattern: &str) -> Option<String> {
    Regex::new(pattern).err().map(|e| e.to_string())
}

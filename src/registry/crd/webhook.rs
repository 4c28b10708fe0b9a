//! Conversion of custom objects through a CRD's conversion webhook.
//!
//! Object conversion runs deep inside decoding and presentation, where no
//! store is at hand; the webhook client needs one only to find the
//! endpoints of a `clientConfig.service`. The registry leaves a handle to
//! its store here when it is created, and conversions read it (a cheap
//! clone, no lock held while the webhook is called).

use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::admission::{Lookup, conversion};
use crate::registry::error::{ApiError, Result};
use crate::store::Store;

static STORE: RwLock<Option<Store>> = RwLock::new(None);

/// Makes `store` the one Service endpoints are looked up in.
pub(crate) fn set_store(store: &Store) {
    if let Ok(mut slot) = STORE.write() {
        *slot = Some(store.clone());
    }
}

/// Stands in for the store before a registry exists: no Services.
struct Nothing;

impl Lookup for Nothing {
    fn get(&self, _: &str) -> Option<Arc<Value>> {
        None
    }
    fn list(&self, _: &str) -> Vec<Arc<Value>> {
        Vec::new()
    }
}

/// Converts `objects` to `desired` (`group/version`) with one
/// ConversionReview sent to the webhook `config`. A failure is upstream's
/// 500 naming the kind and version of what was converted.
pub(super) fn convert(config: &Value, objects: Vec<Value>, desired: &str) -> Result<Vec<Value>> {
    let store = STORE.read().ok().and_then(|s| s.clone());
    let lookup: &dyn Lookup = match &store {
        Some(s) => s,
        None => &Nothing,
    };
    conversion::convert_blocking(lookup, config, objects, desired).map_err(ApiError::internal)
}

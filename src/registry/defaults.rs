use super::resources::ResourceDef;
use serde_json::Value;
pub(crate) fn apply(_def: &ResourceDef, _obj: &mut Value) {}

use super::resources::ResourceDef;
use serde_json::Value;
pub(crate) enum ErrorType { Required, Invalid, NotSupported, Duplicate, TooLong, TooMany, Forbidden }
pub(crate) struct FieldError { pub(crate) field: String, pub(crate) kind: ErrorType, pub(crate) value: Option<String>, pub(crate) detail: String }
impl FieldError {
    pub(crate) fn reason(&self) -> &'static str { "FieldValueInvalid" }
    pub(crate) fn message(&self) -> String { self.detail.clone() }
}
pub(crate) fn invalid_message(kind: &str, name: &str, errs: &[FieldError]) -> String { format!("{kind} \"{name}\" is invalid: {}", errs.len()) }
pub(crate) fn validate(_def: &ResourceDef, _obj: &Value, _old: Option<&Value>) -> Vec<FieldError> { vec![] }

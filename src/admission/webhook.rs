//! Mutating and validating webhooks: which ones a request calls, the
//! AdmissionReview exchange, and how answers and failures become results
//! or `Status` errors, worded as upstream words them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::{Attributes, Lookup, Operation, client, configurations, matching};
use crate::registry::ApiError;

/// Default and ceiling of `timeoutSeconds`.
const DEFAULT_TIMEOUT: u64 = 10;
const MAX_TIMEOUT: u64 = 30;

/// One webhook of a configuration.
struct Hook {
    config: Arc<Value>,
    index: usize,
}

impl Hook {
    fn spec(&self) -> &Value {
        &self.config["webhooks"][self.index]
    }

    fn name(&self) -> &str {
        self.spec()
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn str_field(&self, field: &str) -> Option<&str> {
        self.spec().get(field).and_then(Value::as_str)
    }

    fn fails_open(&self) -> bool {
        self.str_field("failurePolicy") == Some("Ignore")
    }

    fn timeout(&self) -> Duration {
        let secs = self
            .spec()
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TIMEOUT)
            .clamp(1, MAX_TIMEOUT);
        Duration::from_secs(secs)
    }
}

fn hooks(lookup: &dyn Lookup, plural: &str) -> Vec<Hook> {
    configurations(lookup, plural)
        .into_iter()
        .flat_map(|config| {
            let n = config
                .get("webhooks")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            (0..n).map(move |index| Hook {
                config: config.clone(),
                index,
            })
        })
        .collect()
}

/// Why a call did not produce an answer, or the answer refused.
enum CallError {
    /// The webhook could not be asked or answered nonsense; subject to
    /// `failurePolicy`.
    Calling(String),
    /// A refusal or an error no failure policy excuses.
    Refused(ApiError),
}

/// Whether `hook` applies to the request (rules, selectors, conditions).
fn should_call(lookup: &dyn Lookup, hook: &Hook, attrs: &Attributes<'_>) -> Result<bool, ApiError> {
    let spec = hook.spec();
    let ns_match =
        matching::namespace_selector_matches(lookup, spec.get("namespaceSelector"), attrs);
    if matches!(ns_match, Ok(false)) {
        return Ok(false);
    }
    if !matching::object_selector_matches(spec.get("objectSelector"), attrs) {
        return Ok(false);
    }
    let rules_match = super::items(spec, "rules").any(|r| matching::rule_matches(r, attrs));
    if !rules_match {
        return Ok(false);
    }
    ns_match?;
    if let Some(conditions) = spec.get("matchConditions").and_then(Value::as_array)
        && !conditions.is_empty()
    {
        return super::conditions::matches(conditions, attrs, hook.fails_open());
    }
    Ok(true)
}

/// The `AdmissionReview` a webhook receives.
fn review(attrs: &Attributes<'_>, uid: &str, version: &str) -> Value {
    let mut request = attrs.request();
    request["uid"] = json!(uid);
    request["object"] = attrs.object.cloned().unwrap_or(Value::Null);
    request["oldObject"] = attrs.old_object.cloned().unwrap_or(Value::Null);
    json!({
        "kind": "AdmissionReview",
        "apiVersion": format!("admission.k8s.io/{version}"),
        "request": request,
    })
}

/// What a webhook answered, checked.
struct Answer {
    allowed: bool,
    status: Option<Value>,
    patch: Option<Vec<u8>>,
    warnings: Vec<String>,
}

/// Upstream's checks of an AdmissionReview response.
fn verify(body: &[u8], uid: &str, version: &str, mutating: bool) -> Result<Answer, String> {
    let review: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let response = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("webhook response was absent")?;
    let mut patch_type = response.get("patchType").and_then(Value::as_str);
    let patch = response
        .get("patch")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    if version == "v1" {
        let got_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got_uid != uid {
            return Err(format!("expected response.uid={uid:?}, got {got_uid:?}"));
        }
        let api_version = review
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = review.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
            let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            return Err(format!(
                "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {g}/{v}, Kind={kind}"
            ));
        }
        if mutating {
            if patch.is_some() && patch_type.is_none() {
                return Err("webhook returned response.patch but not response.patchType".into());
            }
            if patch.is_none() && patch_type.is_some() {
                return Err("webhook returned response.patchType but not response.patch".into());
            }
            if patch_type == Some("") {
                return Err("webhook returned invalid response.patchType of \"\"".into());
            }
        } else {
            if patch.is_some() {
                return Err("validating webhook may not return response.patch".into());
            }
            if response.get("patchType").is_some_and(|p| !p.is_null()) {
                return Err("validating webhook may not return response.patchType".into());
            }
        }
    } else if patch.is_some() {
        patch_type = Some("JSONPatch");
    }
    let patch = match (mutating, patch) {
        (true, Some(p)) => {
            if patch_type != Some("JSONPatch") {
                return Err(format!(
                    "unsupported patch type {:?}",
                    patch_type.unwrap_or("")
                ));
            }
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(p)
                    .map_err(|e| e.to_string())?,
            )
        }
        _ => None,
    };
    Ok(Answer {
        allowed: response
            .get("allowed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        status: response.get("status").filter(|s| s.is_object()).cloned(),
        patch,
        warnings: super::items(response, "warnings")
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
    })
}

/// Upstream's `ToStatusErr`: the webhook's Status, its code raised to at
/// least 400, its message prefixed with the webhook's name.
fn refusal(name: &str, status: Option<&Value>) -> ApiError {
    let status = status.cloned().unwrap_or(Value::Null);
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| (400..600).contains(c))
        .unwrap_or(400) as u16;
    let reason = status.get("reason").and_then(Value::as_str).unwrap_or("");
    let message = status.get("message").and_then(Value::as_str).unwrap_or("");
    let denied = format!("admission webhook {name:?} denied the request");
    let message = if !message.is_empty() {
        format!("{denied}: {message}")
    } else if !reason.is_empty() {
        format!("{denied}: {reason}")
    } else {
        format!("{denied} without explanation")
    };
    ApiError {
        details: status.get("details").filter(|d| d.is_object()).cloned(),
        ..ApiError::new(code, super::status_reason(reason), message)
    }
}

/// Asks one webhook about the request.
async fn call(
    lookup: &dyn Lookup,
    hook: &Hook,
    attrs: &Attributes<'_>,
    mutating: bool,
) -> Result<Answer, CallError> {
    let name = hook.name();
    if attrs.dry_run {
        match hook.str_field("sideEffects") {
            None => return Err(CallError::Calling("Webhook SideEffects is nil".into())),
            Some("None" | "NoneOnDryRun") => {}
            Some(_) => {
                return Err(CallError::Refused(ApiError::bad_request(format!(
                    "admission webhook {name:?} does not support dry run"
                ))));
            }
        }
    }
    let versions: Vec<&str> = hook
        .spec()
        .get("admissionReviewVersions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(version) = versions.into_iter().find(|v| *v == "v1" || *v == "v1beta1") else {
        return Err(CallError::Calling(
            "could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)".into(),
        ));
    };
    let uid = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&review(attrs, &uid, version)).unwrap_or_default();
    let timeout = hook.timeout();
    let client_config = hook.spec().get("clientConfig").unwrap_or(&Value::Null);
    let endpoint = client::resolve(lookup, client_config, timeout)
        .map_err(|e| CallError::Calling(format!("failed to call webhook: {e}")))?;
    let answer = client::post(&endpoint, body, timeout)
        .await
        .map_err(|e| CallError::Calling(format!("failed to call webhook: {e}")))?;
    verify(&answer, &uid, version, mutating)
        .map_err(|e| CallError::Calling(format!("received invalid webhook response: {e}")))
}

/// Turns a failed call into the request's error, or `None` when the
/// webhook's failure policy ignores it.
fn failure(hook: &Hook, e: CallError) -> Option<ApiError> {
    match e {
        CallError::Refused(e) => Some(e),
        CallError::Calling(_) if hook.fails_open() => None,
        CallError::Calling(reason) => {
            let message = format!("failed calling webhook {:?}: {reason}", hook.name());
            Some(ApiError {
                details: Some(json!({ "causes": [{ "message": message }] })),
                ..ApiError::internal(message.clone())
            })
        }
    }
}

/// Runs the mutating webhooks in order, then once more those with
/// `reinvocationPolicy: IfNeeded` that ran before a later webhook changed
/// the object.
pub(super) async fn mutate(
    lookup: &dyn Lookup,
    attrs: &Attributes<'_>,
    object: &mut Value,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let hooks = hooks(lookup, "mutatingwebhookconfigurations");
    if hooks.is_empty() {
        return Ok(());
    }
    let mut reinvocable = Vec::new();
    let mut reinvoke = HashSet::new();
    let mut any_change = false;
    for (i, hook) in hooks.iter().enumerate() {
        let changed = mutate_one(lookup, hook, attrs, object, warnings).await?;
        let Some(changed) = changed else { continue };
        if changed {
            any_change = true;
            reinvoke.extend(reinvocable.drain(..));
        }
        if hook.str_field("reinvocationPolicy") == Some("IfNeeded") {
            reinvocable.push(i);
        }
    }
    if !any_change {
        return Ok(());
    }
    for (i, hook) in hooks.iter().enumerate() {
        if reinvoke.contains(&i) {
            mutate_one(lookup, hook, attrs, object, warnings).await?;
        }
    }
    Ok(())
}

/// Calls one mutating webhook if it applies: `None` when it was not
/// called, else whether it changed the object.
async fn mutate_one(
    lookup: &dyn Lookup,
    hook: &Hook,
    attrs: &Attributes<'_>,
    object: &mut Value,
    warnings: &mut Vec<String>,
) -> Result<Option<bool>, ApiError> {
    let has_object = attrs.operation != Operation::Delete;
    let current = attrs.with_objects(has_object.then_some(&*object), attrs.old_object);
    if !should_call(lookup, hook, &current)? {
        return Ok(None);
    }
    let answer = match call(lookup, hook, &current, true).await {
        Ok(a) => a,
        Err(e) => {
            return match failure(hook, e) {
                Some(err) => Err(err),
                None => Ok(Some(false)),
            };
        }
    };
    warnings.extend(answer.warnings.iter().cloned());
    if !answer.allowed {
        return Err(refusal(hook.name(), answer.status.as_ref()));
    }
    let Some(patch) = answer.patch else {
        return Ok(Some(false));
    };
    let patch: json_patch::Patch = match serde_json::from_slice(&patch) {
        Ok(p) => p,
        Err(e) => {
            let reason = format!("received undecodable patch in webhook response: {e}");
            return match failure(hook, CallError::Calling(reason)) {
                Some(err) => Err(err),
                None => Ok(Some(false)),
            };
        }
    };
    if patch.0.is_empty() {
        return Ok(Some(false));
    }
    if !has_object {
        return Err(ApiError::internal(format!(
            "admission webhook {:?} attempted to modify the object, which is not supported for this operation",
            hook.name()
        )));
    }
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &patch).map_err(|e| ApiError::internal(e.to_string()))?;
    // The patched JSON is decoded into the kind's type again, as upstream
    // does: fields outside the schema are dropped.
    if let Ok(decoded) = crate::registry::typed::decode(attrs.def, &patched) {
        patched = decoded.value;
    }
    let changed = patched != *object;
    *object = patched;
    Ok(Some(changed))
}

/// Runs the validating webhooks that apply, concurrently; the first
/// refusal in configuration order is the request's error.
pub(super) async fn validate(
    lookup: &dyn Lookup,
    attrs: &Attributes<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let hooks = hooks(lookup, "validatingwebhookconfigurations");
    let mut relevant = Vec::new();
    for hook in &hooks {
        if should_call(lookup, hook, attrs)? {
            relevant.push(hook);
        }
    }
    let answers = futures_util::future::join_all(
        relevant
            .iter()
            .map(|hook| async move { (*hook, call(lookup, hook, attrs, false).await) }),
    )
    .await;
    let mut first_error = None;
    for (hook, result) in answers {
        let err = match result {
            Ok(answer) => {
                warnings.extend(answer.warnings);
                if answer.allowed {
                    continue;
                }
                refusal(hook.name(), answer.status.as_ref())
            }
            Err(e) => match failure(hook, e) {
                Some(err) => err,
                None => continue,
            },
        };
        first_error.get_or_insert(err);
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_worded_as_upstream() {
        let e = refusal("deny.example.com", None);
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "admission webhook \"deny.example.com\" denied the request without explanation"
        );
        let e = refusal(
            "deny.example.com",
            Some(&json!({"code": 403, "reason": "Forbidden", "message": "no"})),
        );
        assert_eq!((e.code, e.reason), (403, "Forbidden"));
        assert_eq!(
            e.message,
            "admission webhook \"deny.example.com\" denied the request: no"
        );
        let e = refusal("w", Some(&json!({"code": 200, "reason": "NotAllowed"})));
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "admission webhook \"w\" denied the request: NotAllowed"
        );
    }

    #[test]
    fn responses_are_checked_as_upstream() {
        let ok = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u1", "allowed": true}});
        let body = serde_json::to_vec(&ok).unwrap();
        assert!(verify(&body, "u1", "v1", false).unwrap().allowed);
        assert_eq!(
            verify(&body, "u2", "v1", false).err().unwrap(),
            "expected response.uid=\"u2\", got \"u1\""
        );
        let patched = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u1", "allowed": true, "patch": "W10="}});
        let body = serde_json::to_vec(&patched).unwrap();
        assert_eq!(
            verify(&body, "u1", "v1", true).err().unwrap(),
            "webhook returned response.patch but not response.patchType"
        );
        assert_eq!(
            verify(&body, "u1", "v1", false).err().unwrap(),
            "validating webhook may not return response.patch"
        );
        let missing = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
        let body = serde_json::to_vec(&missing).unwrap();
        assert_eq!(
            verify(&body, "u1", "v1", false).err().unwrap(),
            "webhook response was absent"
        );
    }
}

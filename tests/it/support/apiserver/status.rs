//! Failed calls as kube-apiserver reports them: an HTTP code and a `Status` object whose
//! reason, message and details follow apimachinery's `errors.go` constructors.

use serde_json::{Map, Value, json};

/// A refused request: the HTTP code, the `Status` body and an optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// The `Status` object sent as the body.
    pub body: Value,
    /// Seconds for the `Retry-After` header, when the server asks the client to come back.
    pub retry_after: Option<u32>,
}

/// `plural` or `plural.group`, the way apimachinery prints a `GroupResource`.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// `details` naming one object, with the group only when it is not the core group.
fn object_details(group: &str, plural: &str, name: &str) -> Value {
    let mut details = Map::new();
    if !name.is_empty() {
        details.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    details.insert("kind".into(), json!(plural));
    Value::Object(details)
}

impl ApiError {
    /// A `Status` with the field order of `metav1.Status`.
    pub fn new(code: u16, reason: &str, message: &str, details: Option<Value>) -> Self {
        let mut body = Map::new();
        body.insert("kind".into(), json!("Status"));
        body.insert("apiVersion".into(), json!("v1"));
        body.insert("metadata".into(), json!({}));
        body.insert("status".into(), json!("Failure"));
        body.insert("message".into(), json!(message));
        body.insert("reason".into(), json!(reason));
        if let Some(details) = details {
            body.insert("details".into(), details);
        }
        body.insert("code".into(), json!(code));
        ApiError {
            code,
            body: Value::Object(body),
            retry_after: None,
        }
    }

    /// `NewNotFound`: `deployments.apps "web" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let msg = format!("{} {name:?} not found", qualified(group, plural));
        Self::new(
            404,
            "NotFound",
            &msg,
            Some(object_details(group, plural, name)),
        )
    }

    /// The answer for a path no installed API serves (unknown group, version or resource).
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        )
    }

    /// `NewAlreadyExists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let msg = format!("{} {name:?} already exists", qualified(group, plural));
        Self::new(
            409,
            "AlreadyExists",
            &msg,
            Some(object_details(group, plural, name)),
        )
    }

    /// `NewConflict` for a stale `resourceVersion`.
    pub fn stale(group: &str, plural: &str, name: &str) -> Self {
        let msg = format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            qualified(group, plural)
        );
        Self::new(
            409,
            "Conflict",
            &msg,
            Some(object_details(group, plural, name)),
        )
    }

    /// `NewBadRequest`.
    pub fn bad_request(message: &str) -> Self {
        Self::new(400, "BadRequest", message, None)
    }

    /// `NewInvalid` with one cause: `Kind.group "name" is invalid: field: Reason: detail`.
    pub fn invalid(group: &str, kind: &str, name: &str, field: &str, cause: (&str, &str)) -> Self {
        let (cause_reason, cause_message) = cause;
        let msg = format!(
            "{} {name:?} is invalid: {field}: {cause_message}",
            qualified(group, kind)
        );
        let mut details = object_details(group, kind, name);
        if let Some(map) = details.as_object_mut() {
            map.insert(
                "causes".into(),
                json!([{"reason": cause_reason, "message": cause_message, "field": field}]),
            );
        }
        Self::new(422, "Invalid", &msg, Some(details))
    }

    /// `NewForbidden`: `configmaps "x" is forbidden: why`.
    pub fn forbidden(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let msg = format!("{} {name:?} is forbidden: {why}", qualified(group, plural));
        Self::new(
            403,
            "Forbidden",
            &msg,
            Some(object_details(group, plural, name)),
        )
    }

    /// `NewInternalError`: `Internal error occurred: cause`, the cause repeated in `details`.
    pub fn internal(cause: &str) -> Self {
        let msg = format!("Internal error occurred: {cause}");
        Self::new(
            500,
            "InternalError",
            &msg,
            Some(json!({"causes": [{"message": cause}]})),
        )
    }

    /// `NewServiceUnavailable`.
    pub fn unavailable(message: &str) -> Self {
        Self::new(503, "ServiceUnavailable", message, None)
    }

    /// `NewTooManyRequests` with `Retry-After`.
    pub fn too_many_requests(retry_after: u32) -> Self {
        let mut err = Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
            Some(json!({"retryAfterSeconds": retry_after})),
        );
        err.retry_after = Some(retry_after);
        err
    }

    /// `NewMethodNotSupported`.
    pub fn method_not_supported(group: &str, plural: &str, verb: &str) -> Self {
        let msg = format!(
            "{verb} is not supported on resources of kind {:?}",
            qualified(group, plural)
        );
        Self::new(
            405,
            "MethodNotAllowed",
            &msg,
            Some(object_details(group, plural, "")),
        )
    }

    /// `NewApplyConflict` with one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: &str, causes: Vec<Value>) -> Self {
        Self::new(409, "Conflict", message, Some(json!({"causes": causes})))
    }
}

/// The success `Status` a DELETE answers with once the object is gone.
pub fn deleted(group: &str, plural: &str, name: &str, uid: &str) -> Value {
    let mut details = object_details(group, plural, name);
    if let Some(map) = details.as_object_mut() {
        map.insert("uid".into(), json!(uid));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

//! Faults a test queues: each fires `times` times on requests it matches, then is gone.

use std::time::Duration;

use super::status::ApiError;

/// A fault to inject into matching requests.
#[derive(Clone, Debug)]
pub struct Fault {
    /// HTTP method to match (case-insensitive); None matches every method.
    pub method: Option<String>,
    /// Substring the request path must contain ("" matches every path).
    pub path_contains: String,
    /// How many matching requests the fault fires on.
    pub times: usize,
    /// What happens to them.
    pub kind: FaultKind,
}

/// What a fault does to a request.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer with this code and the `Status` body the real server sends for it: 500
    /// InternalError, 503 ServiceUnavailable, 409 Conflict, 429 TooManyRequests (with
    /// `Retry-After: 1`); other codes get a generic Status with that code.
    Status(u16),
    /// Wait, then handle the request normally.
    Latency(Duration),
    /// Never answer; the connection stays open until the client gives up.
    Hang,
    /// Refuse as a write whose validating webhook has no endpoints is refused.
    WebhookDown,
}

/// A matching fault's kind, consuming one of its `times`.
pub fn take(faults: &mut Vec<Fault>, method: &str, path: &str) -> Option<FaultKind> {
    let index = faults.iter().position(|f| {
        f.times > 0
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&f.path_contains)
    })?;
    let fault = &mut faults[index];
    fault.times -= 1;
    let kind = fault.kind.clone();
    if fault.times == 0 {
        faults.remove(index);
    }
    Some(kind)
}

/// The error a `Status` fault answers with; `resource`/`name` name the target for 409.
pub fn status_error(code: u16, group: &str, resource: &str, name: &str) -> ApiError {
    match code {
        500 => ApiError::internal("injected fault"),
        503 => ApiError::unavailable("the server is currently unable to handle the request"),
        409 => ApiError::stale(group, resource, name),
        429 => ApiError::too_many_requests(1),
        other => ApiError::new(
            other,
            "Unknown",
            &format!("injected fault with code {other}"),
            None,
        ),
    }
}

/// The error of a validating webhook whose service has no endpoints.
pub fn webhook_down() -> ApiError {
    super::admission::call_failed(
        "fault.double.example.com",
        "Post \"https://webhook.double.svc:443/validate?timeout=10s\": no endpoints available for service \"webhook\"",
    )
}

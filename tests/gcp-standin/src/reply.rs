//! Answers in Google's shapes: the API error body `{"error": {code, message, status}}` that
//! Secret Manager and IAM Credentials use, and JSON success bodies.

use serde_json::{Value, json};

use crate::state::FaultError;

/// One HTTP answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json; charset=UTF-8".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub(crate) fn ok(body: &Value) -> Reply {
        Reply::json(200, body)
    }

    /// Google's API error, e.g. `(404, "NOT_FOUND", "Secret [...] not found …")`.
    pub(crate) fn google(code: u16, status: &str, message: &str) -> Reply {
        Reply::json(
            code,
            &json!({"error": {"code": code, "message": message, "status": status}}),
        )
    }

    pub(crate) fn unauthenticated() -> Reply {
        Reply::google(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential. See \
             https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
    }

    pub(crate) fn not_route() -> Reply {
        Reply::google(
            404,
            "NOT_FOUND",
            "The requested URL was not found on this server.",
        )
    }

    /// An injected fault, in the words of the service.
    pub(crate) fn fault(error: FaultError, resource: &str) -> Reply {
        match error {
            FaultError::NotFound => Reply::google(
                404,
                "NOT_FOUND",
                &format!("Secret [{resource}] not found or has no versions."),
            ),
            FaultError::PermissionDenied => Reply::google(
                403,
                "PERMISSION_DENIED",
                &format!(
                    "Permission 'secretmanager.versions.access' denied for resource '{resource}' \
                     (or it may not exist)."
                ),
            ),
            FaultError::ResourceExhausted { retry_after } => {
                let mut reply = Reply::google(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Access requests' and limit 'Access \
                     requests per minute per project' of service 'secretmanager.googleapis.com'.",
                );
                if let Some(seconds) = retry_after {
                    reply.headers.push(("retry-after", seconds.to_string()));
                }
                reply
            }
            FaultError::Unavailable => {
                Reply::google(503, "UNAVAILABLE", "The service is currently unavailable.")
            }
        }
    }
}

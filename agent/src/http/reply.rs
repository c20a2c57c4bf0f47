//! Reading request bodies and writing answers for the API.
//!
//! Data flow: [`read_sealed_secret`] bounds the body in size ([`MAX_BODY`]) and time, checks it
//! is text and parses exactly one SealedSecret of either group; anything wrong becomes a
//! [`Refusal`] (status and a short message naming the cause, never a value), which
//! [`refuse`] turns into a plain-text answer like every other helper here.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use secrets_core::api::sealed_secret::{AnySealedSecret, parse_sealed_secrets};

use super::MAX_BODY;
use super::server::Reply;

/// Time a client has to send the whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A refusal: status and a short message for the client (never a value).
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// Read the body (bounded in size and time) and parse exactly one SealedSecret from it.
pub(super) async fn read_sealed_secret(
    request: Request<Incoming>,
) -> Result<AnySealedSecret, Refusal> {
    let bytes = read_bounded(request, MAX_BODY).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "the request body is not utf-8 text",
        )
    })?;
    let mut documents = parse_sealed_secrets(text)
        .map_err(|err| Refusal::new(StatusCode::BAD_REQUEST, err.to_string()))?;
    match (documents.pop(), documents.len()) {
        (Some(sealed), 0) => Ok(sealed),
        (_, more) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("expected one sealed secret, found {} documents", more + 1),
        )),
    }
}

/// Read the whole body, at most `max` bytes, within [`BODY_TIMEOUT`].
pub(super) async fn read_bounded(request: Request<Incoming>, max: usize) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    let body = Limited::new(request.into_body(), max);
    match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "timed out reading the request body",
        )),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "could not read the request body",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

pub(super) fn respond(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply
}

pub(super) fn with_type(mut reply: Reply, content_type: &'static str) -> Reply {
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

pub(super) fn text(status: StatusCode, message: &str) -> Reply {
    with_type(
        respond(status, format!("{message}\n")),
        "text/plain; charset=utf-8",
    )
}

pub(super) fn refuse(refusal: Refusal) -> Reply {
    text(refusal.status, &refusal.message)
}

pub(super) fn method_not_allowed(allow: &'static str) -> Reply {
    let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    reply
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    reply
}

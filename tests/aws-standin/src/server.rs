//! Serving: every connection on the stand-in's port goes through [`handle`]. Pod Identity
//! requests are answered here; everything else is parsed into a [`Call`], admitted by
//! [`Control::admit`], then forwarded to moto unchanged (same path, headers and body), or
//! answered with the injected error, or dropped. STS answers that pass through teach the
//! control which access key belongs to which assumed role.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::StandinError;
use crate::control::{Control, Decision};
use crate::pod_identity;
use crate::wire::{
    self, ASSUME_ROLE_FOR_POD_IDENTITY, ASSUME_ROLE_WITH_WEB_IDENTITY, Call, Outcome, Protocol,
    xml_text,
};

/// Larger than any Secrets Manager request (values ≤ 64 KiB, 20-id batches).
const BODY_LIMIT: usize = 8 << 20;

pub(crate) struct State {
    pub(crate) control: Arc<Control>,
    /// `http://127.0.0.1:PORT` of moto.
    pub(crate) upstream: String,
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
}

impl State {
    pub(crate) fn new(control: Arc<Control>, upstream: &str) -> State {
        State {
            control,
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

type Answer = Result<Response<Full<Bytes>>, StandinError>;

pub(crate) async fn handle(state: Arc<State>, request: Request<Incoming>) -> Answer {
    if request.method() == Method::GET && request.uri().path() == pod_identity::PATH {
        return pod_identity(&state, request).await;
    }
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, BODY_LIMIT)
        .collect()
        .await
        .map_err(|err| StandinError::Serve(format!("reading a request body: {err}")))?
        .to_bytes();
    let (mut call, protocol) = Call::parse(&parts.headers, parts.uri.query(), &body);
    let is_sts = call.action.starts_with("sts:");
    let identity = if call.action == ASSUME_ROLE_WITH_WEB_IDENTITY {
        web_identity(&state.control, &body)
    } else {
        None
    };
    if let Some(Ok(subject)) = &identity {
        call.web_identity = Some(format!("{}/{}", subject.namespace, subject.service_account));
    }
    let (mut decision, index) = state.control.admit(call, protocol);
    if let (Decision::Forward, Some(Err(rejection))) = (&decision, &identity) {
        // AWS answers a token it cannot accept with InvalidIdentityToken (HTTP 400).
        state.control.finish(index, Outcome::Denied);
        decision = Decision::Answer(wire::query_error(
            400,
            "InvalidIdentityToken",
            &rejection.to_string(),
        ));
    }
    match decision {
        Decision::Drop => Err(StandinError::Outage),
        Decision::Answer(answer) => Ok(error_response(&answer)),
        Decision::Forward => {
            let path = parts
                .uri
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str);
            let uri: Uri = format!("{}{path}", state.upstream)
                .parse()
                .map_err(|err| StandinError::Serve(format!("building the moto URL: {err}")))?;
            let mut out = Request::builder().method(parts.method).uri(uri);
            for (name, value) in &parts.headers {
                if name != header::CONNECTION {
                    out = out.header(name, value);
                }
            }
            let out = out
                .body(Full::new(body))
                .map_err(|err| StandinError::Serve(format!("building the request: {err}")))?;
            let (status, headers, bytes) = send(&state, out).await?;
            if is_sts && status.is_success() {
                learn_key(&state.control, &bytes);
            }
            state
                .control
                .finish(index, Outcome::Forwarded(status.as_u16()));
            let mut response = Response::builder().status(status);
            for (name, value) in &headers {
                if name != header::CONNECTION && name != header::TRANSFER_ENCODING {
                    response = response.header(name, value);
                }
            }
            response
                .body(Full::new(bytes))
                .map_err(|err| StandinError::Serve(format!("building the answer: {err}")))
        }
    }
}

async fn send(
    state: &State,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, http::HeaderMap, Bytes), StandinError> {
    let response = state
        .client
        .request(request)
        .await
        .map_err(|err| StandinError::Serve(format!("calling moto: {err}")))?;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|err| StandinError::Serve(format!("reading moto's answer: {err}")))?
        .to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

/// With a trusted issuer, the web identity token of an `AssumeRoleWithWebIdentity` form must
/// be one of its tokens for `sts.amazonaws.com` (moto accepts any). `None`: no trust set.
fn web_identity(
    control: &Control,
    body: &[u8],
) -> Option<Result<pod_identity::TokenSubject, pod_identity::Rejection>> {
    let (issuer, key) = control.trust()?;
    let form = wire::parse_form(&String::from_utf8_lossy(body));
    let token = form
        .get("WebIdentityToken")
        .map(String::as_str)
        .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Some(pod_identity::verify(
        token,
        &issuer,
        &key,
        pod_identity::STS_AUDIENCE,
        now,
    ))
}

/// STS answers carry the new key and, for role sessions, the assumed-role ARN.
fn learn_key(control: &Control, xml: &[u8]) {
    let xml = String::from_utf8_lossy(xml);
    if let (Some(key), Some(user)) = (
        xml_text(&xml, "AccessKeyId"),
        xml_text(&xml, "AssumedRoleUser"),
    ) && let Some(arn) = xml_text(user, "Arn")
    {
        control.issued(key.trim(), arn.trim());
    }
}

fn error_response(answer: &wire::ErrorAnswer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body.clone())));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(answer.content_type),
    );
    response
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /v1/credentials`: token → service account → associated role → moto `AssumeRole`.
async fn pod_identity(state: &State, request: Request<Incoming>) -> Answer {
    let call = Call {
        action: ASSUME_ROLE_FOR_POD_IDENTITY.to_owned(),
        ..Call::default()
    };
    let (decision, index) = state.control.admit(call, Protocol::PodIdentity);
    match decision {
        Decision::Drop => return Err(StandinError::Outage),
        Decision::Answer(answer) => return Ok(error_response(&answer)),
        Decision::Forward => {}
    }
    let refuse = |status: StatusCode, code: &str, message: String| {
        state
            .control
            .finish(index, Outcome::Answered(status.as_u16()));
        Ok(json_response(
            status,
            pod_identity::error_body(code, &message),
        ))
    };
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = match state.control.trust() {
        None => Err(pod_identity::Rejection::NoTrust),
        Some(_) if token.is_empty() => Err(pod_identity::Rejection::Missing),
        Some((issuer, key)) => {
            pod_identity::verify(token, &issuer, &key, pod_identity::AUDIENCE, now)
        }
    };
    let subject = match verified {
        Ok(subject) => subject,
        Err(rejection) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "InvalidTokenException",
                rejection.to_string(),
            );
        }
    };
    let Some(role) = state
        .control
        .association(&subject.namespace, &subject.service_account)
    else {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!(
                "no pod identity association for service account {}/{}",
                subject.namespace, subject.service_account
            ),
        );
    };
    let session = format!(
        "eks-standin-{}-{}",
        subject.namespace, subject.service_account
    );
    let form = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName={}",
        wire::form_encode(&role),
        wire::form_encode(&session)
    );
    let out = Request::builder()
        .method(Method::POST)
        .uri(format!("{}/", state.upstream))
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=eks-standin/20260101/us-east-1/sts/aws4_request, \
             SignedHeaders=host, Signature=00",
        )
        .body(Full::new(Bytes::from(form)))
        .map_err(|err| StandinError::Serve(format!("building the STS request: {err}")))?;
    let (status, _, bytes) = send(state, out).await?;
    let xml = String::from_utf8_lossy(&bytes);
    let fields = (
        xml_text(&xml, "AccessKeyId"),
        xml_text(&xml, "SecretAccessKey"),
        xml_text(&xml, "SessionToken"),
        xml_text(&xml, "Expiration"),
    );
    let (Some(key), Some(secret), Some(session_token), Some(expiration)) = fields else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            format!("moto's AssumeRole of {role} answered HTTP {status} without credentials"),
        );
    };
    learn_key(&state.control, &bytes);
    state.control.finish(index, Outcome::Answered(200));
    let body = pod_identity::credentials_answer(
        key.trim(),
        secret.trim(),
        session_token.trim(),
        pod_identity::account_of(&role).unwrap_or_default(),
        expiration.trim(),
    );
    Ok(json_response(StatusCode::OK, body))
}

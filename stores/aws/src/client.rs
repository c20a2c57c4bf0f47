//! One AWS call on the shared HTTPS client: build the request (awsJson1.1 for Secrets
//! Manager, a form for STS, a GET for the Pod Identity agent), sign it when keys are given,
//! wait out a `Retry-After` the service asked for, send it under the store's timeout, report
//! `(aws, op, outcome)` to the observer and the counters, and turn an error answer into an
//! [`AwsError`] with [`classify`].

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderName, HeaderValue};
use secrets_core::store::CallObserver;
use secrets_store_http::{HttpClient, HttpError, Request, Response, retry_after};
use zeroize::Zeroizing;

use crate::error::{AwsError, CallContext, ErrorAnswer, classify};
use crate::keys::AwsKeys;
use crate::observe::{Counters, Op, outcome_label};
use crate::sign::{Unsigned, signature_headers};
use crate::{STORE_TYPE, sm, sts};

/// How long to hold off after a throttled answer that named no `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

/// What to send.
pub(crate) enum Body {
    /// A Secrets Manager op's JSON.
    Json(Vec<u8>),
    /// An STS form.
    Form(Zeroizing<Vec<u8>>),
    /// A GET with an `Authorization` header (the Pod Identity agent).
    Get { authorization: Zeroizing<String> },
}

/// The transport, observer and counters of one store.
pub(crate) struct Client {
    pub(crate) http: HttpClient,
    pub(crate) region: String,
    pub(crate) observer: Option<CallObserver>,
    pub(crate) counters: Counters,
    /// No calls before this instant (a `Retry-After` honoured).
    not_before: Mutex<Option<Instant>>,
}

impl Client {
    pub(crate) fn new(http: HttpClient, region: String, observer: Option<CallObserver>) -> Self {
        Client {
            http,
            region,
            observer,
            counters: Counters::default(),
            not_before: Mutex::new(None),
        }
    }

    fn gate(&self) -> Option<Instant> {
        match self.not_before.lock() {
            Ok(guard) => *guard,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn hold_off(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut guard = match self.not_before.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }

    /// Send `body` for `op` to `url`, signed with `keys` when given; the body of a success.
    pub(crate) async fn call(
        &self,
        op: Op,
        url: &str,
        body: Body,
        keys: Option<&AwsKeys>,
        ctx: CallContext<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, AwsError> {
        if let Some(until) = self.gate() {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                if wait > self.http.timeout() {
                    return Err(AwsError::Throttled {
                        action: op.action().to_owned(),
                        retry_after: Some(wait),
                        detail: "aws asked us to wait before calling again".to_owned(),
                    });
                }
                tokio::time::sleep(wait).await;
            }
        }
        let result = self.send(op, url, body, keys, ctx).await;
        self.counters.record(op);
        if let Some(observer) = &self.observer {
            observer(STORE_TYPE, op.as_str(), outcome_label(&result));
        }
        if let Err(AwsError::Throttled { retry_after, .. }) = &result {
            self.hold_off(retry_after.unwrap_or(DEFAULT_BACKOFF));
        }
        result
    }

    async fn send(
        &self,
        op: Op,
        url: &str,
        body: Body,
        keys: Option<&AwsKeys>,
        ctx: CallContext<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, AwsError> {
        let (request, service) = match body {
            Body::Json(json) => {
                let target = op.target().unwrap_or_default();
                let request =
                    Request::post(url, "application/x-amz-json-1.1", Zeroizing::new(json)).header(
                        HeaderName::from_static("x-amz-target"),
                        HeaderValue::from_static(target),
                        false,
                    );
                (request, "secretsmanager")
            }
            Body::Form(form) => (Request::post(url, sts::FORM, form), "sts"),
            Body::Get { authorization } => {
                let value = HeaderValue::from_str(authorization.trim()).map_err(|_| {
                    AwsError::invalid_config("the pod's token cannot be sent as a header")
                })?;
                (
                    Request::get(url).header(http::header::AUTHORIZATION, value, true),
                    "",
                )
            }
        };
        let request = match keys {
            Some(keys) => sign_request(request, keys, &self.region, service)?,
            None => request,
        };
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| transport(e, url, op))?;
        answer(op, response, ctx)
    }
}

fn sign_request(
    request: Request,
    keys: &AwsKeys,
    region: &str,
    service: &str,
) -> Result<Request, AwsError> {
    let named: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let headers: Vec<(&str, &str)> = named
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let added = signature_headers(
        keys,
        region,
        service,
        Unsigned {
            method: request.method().as_str(),
            url: request.url(),
            headers: &headers,
            body: request.body(),
        },
        SystemTime::now(),
    )?;
    let mut request = request;
    for (name, value) in added {
        let name = HeaderName::from_static(name);
        let value = HeaderValue::from_str(&value)
            .map_err(|_| AwsError::invalid_config("a signature header is not a header value"))?;
        let sensitive =
            name == http::header::AUTHORIZATION || name.as_str() == "x-amz-security-token";
        request = request.header(name, value, sensitive);
    }
    Ok(request)
}

fn transport(err: HttpError, url: &str, op: Op) -> AwsError {
    match err {
        HttpError::Timeout(_) => AwsError::Timeout {
            endpoint: url.to_owned(),
            action: op.action().to_owned(),
        },
        HttpError::Invalid(reason) => AwsError::invalid_config(reason),
        other => AwsError::Unavailable {
            endpoint: url.to_owned(),
            action: op.action().to_owned(),
            cause: other.to_string(),
        },
    }
}

fn answer(
    op: Op,
    response: Response,
    ctx: CallContext<'_>,
) -> Result<Zeroizing<Vec<u8>>, AwsError> {
    if response.status.is_success() {
        return Ok(response.body);
    }
    let status = response.status.as_u16();
    let after = retry_after(&response.headers);
    let parsed: ErrorAnswer = match op {
        Op::AssumeRole | Op::AssumeRoleWithWebIdentity | Op::GetCallerIdentity => {
            sts::error_answer(status, after, &response.body)
        }
        _ => {
            let header = response
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok());
            sm::error_answer(status, header, after, &response.body)
        }
    };
    Err(classify(ctx, parsed))
}

//! Secrets Manager's awsJson1.1 wire shapes: request bodies for the four ops we call and the
//! answers parsed into [`SecretEntry`] (a value), [`BatchAnswer`] (values and per-id errors),
//! [`Described`] (tags, deletion state) and [`ListPage`] (names).
//!
//! Every call is `POST /` with `Content-Type: application/x-amz-json-1.1` and
//! `X-Amz-Target: secretsmanager.<Op>`; an error answer is `{"__type": code, "message"}`
//! (read by [`error_answer`]). Secret values are deserialised straight into zeroizing strings;
//! binary values are decoded from base64 into a zeroizing buffer sized up front.

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::error::{AwsError, ErrorAnswer, bare_code, detail};
use crate::keys::json_problem;

/// The most ids one `BatchGetSecretValue` may name.
pub const BATCH_LIMIT: usize = 20;

/// The stage read when no version is given.
pub const CURRENT_STAGE: &str = "AWSCURRENT";

/// Which version of a secret to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionSel {
    /// `AWSCURRENT` (no version, or that stage named): may be batched.
    Current,
    /// `uuid/<id>` → `VersionId`.
    Id(String),
    /// Any other text → `VersionStage` (`AWSPREVIOUS`, a custom label).
    Stage(String),
}

impl VersionSel {
    /// ESO's reading of `remoteRef.version`.
    pub fn parse(version: Option<&str>) -> Result<Self, String> {
        match version.map(str::trim) {
            None | Some("") => Ok(VersionSel::Current),
            Some(CURRENT_STAGE) => Ok(VersionSel::Current),
            Some(v) => match v.strip_prefix("uuid/") {
                Some("") => Err("is \"uuid/\" without a version id".into()),
                Some(id) => Ok(VersionSel::Id(id.to_owned())),
                None if v.len() > 256 => Err("is longer than a version stage may be".into()),
                None => Ok(VersionSel::Stage(v.to_owned())),
            },
        }
    }

    /// The version as reported on the value: the id read, else the stage.
    fn label(&self) -> Option<String> {
        match self {
            VersionSel::Current => None,
            VersionSel::Id(id) => Some(format!("uuid/{id}")),
            VersionSel::Stage(stage) => Some(stage.clone()),
        }
    }
}

/// `GetSecretValue` for `id` at `version`.
pub(crate) fn get_secret_value_body(id: &str, version: &VersionSel) -> Vec<u8> {
    let body = match version {
        VersionSel::Current => json!({"SecretId": id}),
        VersionSel::Id(v) => json!({"SecretId": id, "VersionId": v}),
        VersionSel::Stage(s) => json!({"SecretId": id, "VersionStage": s}),
    };
    body.to_string().into_bytes()
}

/// `BatchGetSecretValue` for up to [`BATCH_LIMIT`] ids (current versions).
pub(crate) fn batch_body(ids: &[String], next_token: Option<&str>) -> Vec<u8> {
    let mut body = json!({"SecretIdList": ids});
    if let (Some(token), Some(map)) = (next_token, body.as_object_mut()) {
        map.insert("NextToken".into(), Value::String(token.to_owned()));
    }
    body.to_string().into_bytes()
}

/// `DescribeSecret` for `id`.
pub(crate) fn describe_body(id: &str) -> Vec<u8> {
    json!({"SecretId": id}).to_string().into_bytes()
}

/// One page of `ListSecrets` for names starting with `prefix` (all names when empty).
pub(crate) fn list_body(prefix: &str, next_token: Option<&str>) -> Vec<u8> {
    let mut body = json!({"MaxResults": 100});
    if let Some(map) = body.as_object_mut() {
        // The server's name filter takes a restricted alphabet (and reads a leading `!` as
        // negation); a prefix outside it is filtered here only.
        let filterable = !prefix.is_empty()
            && !prefix.starts_with('!')
            && prefix.len() <= 512
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " :_@/+=.-".contains(c));
        if filterable {
            map.insert(
                "Filters".into(),
                json!([{"Key": "name", "Values": [prefix]}]),
            );
        }
        if let Some(token) = next_token {
            map.insert("NextToken".into(), Value::String(token.to_owned()));
        }
    }
    body.to_string().into_bytes()
}

/// A secret's value as Secrets Manager returns it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct SecretEntry {
    #[serde(rename = "ARN")]
    pub(crate) arn: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) version_id: Option<String>,
    secret_string: Option<Zeroizing<String>>,
    secret_binary: Option<Zeroizing<String>>,
}

/// The payload of a secret.
#[derive(Clone)]
pub(crate) enum Payload {
    /// `SecretString`.
    Text(Zeroizing<String>),
    /// `SecretBinary`, decoded.
    Binary(Zeroizing<Vec<u8>>),
}

impl SecretEntry {
    /// Whether this entry answers a request for `id` (a name, a full ARN, or an ARN without
    /// the six random characters AWS appends).
    pub(crate) fn answers(&self, id: &str) -> bool {
        if self.name.as_deref() == Some(id) || self.arn.as_deref() == Some(id) {
            return true;
        }
        match &self.arn {
            Some(arn) if id.starts_with("arn:") => arn
                .strip_prefix(id)
                .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-')),
            _ => false,
        }
    }

    /// The version as reported on the value: the id AWS says it returned, else what was asked.
    pub(crate) fn version_label(&self, asked: &VersionSel) -> Option<String> {
        match &self.version_id {
            Some(id) => Some(format!("uuid/{id}")),
            None => asked.label(),
        }
    }

    /// The payload, moved out (binary decoded from base64).
    pub(crate) fn take_payload(&mut self, action: &str) -> Result<Payload, AwsError> {
        if let Some(text) = self.secret_string.take() {
            return Ok(Payload::Text(text));
        }
        let Some(encoded) = self.secret_binary.take() else {
            return Err(AwsError::bad_response(
                action,
                "the secret has neither SecretString nor SecretBinary",
            ));
        };
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut bytes = Zeroizing::new(Vec::with_capacity(encoded.len() / 4 * 3 + 3));
        engine
            .decode_vec(encoded.trim().as_bytes(), &mut bytes)
            .map_err(|_| AwsError::bad_response(action, "SecretBinary is not base64"))?;
        Ok(Payload::Binary(bytes))
    }
}

/// Parse a success body as `T`, saying only what kind of problem a bad one has.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    action: &str,
) -> Result<T, AwsError> {
    serde_json::from_slice(body).map_err(|e| {
        AwsError::bad_response(
            action,
            format!("not the expected JSON ({})", json_problem(&e)),
        )
    })
}

/// One id's error in a batch answer.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct BatchError {
    pub(crate) secret_id: String,
    pub(crate) error_code: String,
    pub(crate) message: String,
}

/// A `BatchGetSecretValue` answer.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct BatchAnswer {
    pub(crate) secret_values: Vec<SecretEntry>,
    pub(crate) errors: Vec<BatchError>,
    pub(crate) next_token: Option<String>,
}

/// One tag.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Tag {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// A `DescribeSecret` answer (the parts we use).
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Described {
    #[serde(rename = "ARN")]
    pub(crate) arn: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) tags: Vec<Tag>,
    /// Set when the secret is scheduled for deletion.
    pub(crate) deleted_date: Option<Value>,
}

/// One listed secret.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) deleted_date: Option<Value>,
}

/// A `ListSecrets` page.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListPage {
    pub(crate) secret_list: Vec<Listed>,
    pub(crate) next_token: Option<String>,
}

/// An awsJson1.1 error answer: the code from `__type` (or the `x-amzn-ErrorType` header),
/// the message from `message` / `Message`.
pub(crate) fn error_answer(
    status: u16,
    error_type_header: Option<&str>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ErrorAnswer {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |key: &str| json.get(key).and_then(Value::as_str);
    let code = text("__type")
        .or(text("code"))
        .or(error_type_header)
        .map(bare_code)
        .unwrap_or_default();
    let message = text("message").or(text("Message")).unwrap_or_default();
    ErrorAnswer {
        status,
        code,
        message: detail(message),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn versions_follow_eso() {
        assert_eq!(VersionSel::parse(None), Ok(VersionSel::Current));
        assert_eq!(
            VersionSel::parse(Some("AWSCURRENT")),
            Ok(VersionSel::Current)
        );
        assert_eq!(
            VersionSel::parse(Some("uuid/0a1b")),
            Ok(VersionSel::Id("0a1b".into()))
        );
        assert_eq!(
            VersionSel::parse(Some("AWSPREVIOUS")),
            Ok(VersionSel::Stage("AWSPREVIOUS".into()))
        );
        assert!(VersionSel::parse(Some("uuid/")).is_err());
    }

    #[test]
    fn request_bodies() {
        assert_eq!(
            body_json(&get_secret_value_body("a", &VersionSel::Current)),
            json!({"SecretId": "a"})
        );
        assert_eq!(
            body_json(&get_secret_value_body("a", &VersionSel::Id("v1".into()))),
            json!({"SecretId": "a", "VersionId": "v1"})
        );
        assert_eq!(
            body_json(&get_secret_value_body(
                "a",
                &VersionSel::Stage("AWSPREVIOUS".into())
            )),
            json!({"SecretId": "a", "VersionStage": "AWSPREVIOUS"})
        );
        let ids = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            body_json(&batch_body(&ids, None)),
            json!({"SecretIdList": ["a", "b"]})
        );
        assert_eq!(
            body_json(&batch_body(&ids, Some("t"))),
            json!({"SecretIdList": ["a", "b"], "NextToken": "t"})
        );
        assert_eq!(body_json(&describe_body("a")), json!({"SecretId": "a"}));
        assert_eq!(
            body_json(&list_body("app/", Some("n"))),
            json!({"MaxResults": 100, "Filters": [{"Key": "name", "Values": ["app/"]}], "NextToken": "n"})
        );
        assert_eq!(body_json(&list_body("", None)), json!({"MaxResults": 100}));
        // A prefix the server filter cannot take is left to the client.
        assert_eq!(
            body_json(&list_body("!x", None)),
            json!({"MaxResults": 100})
        );
        assert_eq!(
            body_json(&list_body("a#b", None)),
            json!({"MaxResults": 100})
        );
    }

    #[test]
    fn values_text_and_binary() {
        let mut entry: SecretEntry = parse(
            br#"{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf","Name":"app","VersionId":"v1","SecretString":"{\"a\":1}","VersionStages":["AWSCURRENT"],"CreatedDate":1.7e9}"#,
            "a",
        )
        .unwrap();
        assert!(entry.answers("app"));
        assert!(entry.answers("arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf"));
        assert!(entry.answers("arn:aws:secretsmanager:us-east-1:1:secret:app"));
        assert!(!entry.answers("arn:aws:secretsmanager:us-east-1:1:secret:ap"));
        assert!(!entry.answers("other"));
        assert_eq!(
            entry.version_label(&VersionSel::Current).as_deref(),
            Some("uuid/v1")
        );
        match entry.take_payload("a").unwrap() {
            Payload::Text(t) => assert_eq!(t.as_str(), r#"{"a":1}"#),
            Payload::Binary(_) => panic!("text expected"),
        }
        let mut binary: SecretEntry =
            parse(br#"{"Name":"bin","SecretBinary":"AAEC/w=="}"#, "a").unwrap();
        match binary.take_payload("a").unwrap() {
            Payload::Binary(b) => assert_eq!(b.as_slice(), &[0, 1, 2, 255]),
            Payload::Text(_) => panic!("binary expected"),
        }
        let mut neither: SecretEntry = parse(br#"{"Name":"x"}"#, "a").unwrap();
        assert!(neither.take_payload("a").is_err());
        let mut bad: SecretEntry = parse(br#"{"Name":"x","SecretBinary":"***"}"#, "a").unwrap();
        assert!(bad.take_payload("a").is_err());
    }

    #[test]
    fn a_bad_body_names_no_content() {
        let err = parse::<SecretEntry>(
            br#"{"SecretString": hunter2}"#,
            "secretsmanager:GetSecretValue",
        )
        .err()
        .unwrap();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn batch_answers_and_errors() {
        let answer: BatchAnswer = parse(
            br#"{"SecretValues":[{"Name":"a","SecretString":"x"}],"Errors":[{"SecretId":"b","ErrorCode":"ResourceNotFoundException","Message":"gone"}]}"#,
            "a",
        )
        .unwrap();
        assert_eq!(answer.secret_values.len(), 1);
        assert_eq!(answer.errors[0].secret_id, "b");
        assert!(answer.next_token.is_none());
    }

    #[test]
    fn described_and_listed() {
        let d: Described = parse(
            br#"{"Name":"a","Tags":[{"Key":"team","Value":"x"}],"DeletedDate":1.7e9}"#,
            "a",
        )
        .unwrap();
        assert_eq!(
            d.tags,
            vec![Tag {
                key: "team".into(),
                value: "x".into()
            }]
        );
        assert!(d.deleted_date.is_some());
        let page: ListPage = parse(
            br#"{"SecretList":[{"Name":"a"},{"Name":"b"}],"NextToken":"n"}"#,
            "a",
        )
        .unwrap();
        assert_eq!(page.secret_list.len(), 2);
        assert_eq!(page.next_token.as_deref(), Some("n"));
    }

    #[test]
    fn error_answers() {
        let e = error_answer(
            400,
            None,
            None,
            br#"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"can't find"}"#,
        );
        assert_eq!(e.code, "ResourceNotFoundException");
        assert_eq!(e.message, "can't find");
        let e = error_answer(
            400,
            Some("ThrottlingException:http://x"),
            Some(Duration::from_secs(2)),
            b"",
        );
        assert_eq!(e.code, "ThrottlingException");
        assert_eq!(e.message, "no detail");
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        let e = error_answer(
            400,
            None,
            None,
            br#"{"__type":"AccessDeniedException","Message":"M"}"#,
        );
        assert_eq!(e.message, "M");
    }
}

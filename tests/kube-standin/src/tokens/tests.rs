use super::claims::Claims;
use super::verify::Rejection;
use super::*;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use std::collections::HashMap;
use std::sync::OnceLock;
use time::Duration;

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const UID: &str = "5b3c8a8e-0000-4000-8000-000000000001";

/// RSA key generation is the slow part; one signer serves every test.
fn signer() -> &'static TokenSigner {
    static SIGNER: OnceLock<TokenSigner> = OnceLock::new();
    SIGNER.get_or_init(|| TokenSigner::new(ISSUER).unwrap())
}

fn subject() -> Subject {
    Subject {
        namespace: "apps".to_owned(),
        name: "builder".to_owned(),
        uid: UID.to_owned(),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
}

/// The service account store as the review sees it: only apps/builder exists.
fn world() -> World {
    World::default().with_account("apps", "builder", UID)
}

/// Objects as a review sees them, keyed by (namespace, name).
#[derive(Default, Clone)]
struct World {
    accounts: HashMap<(String, String), ObjectState>,
    pods: HashMap<(String, String), ObjectState>,
    secrets: HashMap<(String, String), ObjectState>,
}

fn state(uid: &str) -> ObjectState {
    ObjectState {
        uid: uid.to_owned(),
        deletion_timestamp: None,
    }
}

impl World {
    fn with_account(mut self, ns: &str, name: &str, uid: &str) -> Self {
        self.accounts.insert((ns.into(), name.into()), state(uid));
        self
    }
    fn with_pod(mut self, ns: &str, name: &str, pod: ObjectState) -> Self {
        self.pods.insert((ns.into(), name.into()), pod);
        self
    }
    fn with_secret(mut self, ns: &str, name: &str, secret: ObjectState) -> Self {
        self.secrets.insert((ns.into(), name.into()), secret);
        self
    }
}

impl Objects for World {
    fn service_account(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.accounts.get(&(namespace.into(), name.into())).cloned()
    }
    fn pod(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.pods.get(&(namespace.into(), name.into())).cloned()
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.secrets.get(&(namespace.into(), name.into())).cloned()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn decode_part(token: &str, index: usize) -> serde_json::Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn rejection(token: &str, audiences: &[String], at: OffsetDateTime) -> Rejection {
    signer().verify(token, audiences, at, &world()).unwrap_err()
}

#[test]
fn issued_token_has_kubernetes_claims_and_header() {
    let token = signer()
        .issue(&subject(), &strings(&["vault"]), 3600, now())
        .unwrap();
    let header = decode_part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], signer().kid.as_str());
    let claims = decode_part(&token, 1);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "system:serviceaccount:apps:builder");
    assert_eq!(claims["aud"], serde_json::json!(["vault"]));
    assert_eq!(claims["iat"], 1_750_000_000);
    assert_eq!(claims["nbf"], 1_750_000_000);
    assert_eq!(claims["exp"], 1_750_003_600);
    assert_uuid_v4(claims["jti"].as_str().unwrap());
    assert_eq!(
        claims["kubernetes.io"],
        serde_json::json!({"namespace": "apps", "serviceaccount": {"name": "builder", "uid": UID}})
    );
    // base64url without padding in every part.
    assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
}

#[test]
fn empty_audiences_mean_the_default_audience() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    assert_eq!(
        decode_part(&token, 1)["aud"],
        serde_json::json!([DEFAULT_AUDIENCE])
    );
    let status = signer().review(&token, &[], now(), &world());
    assert!(status.authenticated, "{status:?}");
    assert_eq!(status.audiences, strings(&[DEFAULT_AUDIENCE]));
}

#[test]
fn valid_token_is_authenticated_with_kubernetes_json() {
    let token = signer()
        .issue(&subject(), &strings(&["vault", "other"]), 3600, now())
        .unwrap();
    let status = signer().review(
        &token,
        &strings(&["nope", "vault"]),
        now() + Duration::minutes(30),
        &world(),
    );
    let jti = decode_part(&token, 1)["jti"].as_str().unwrap().to_owned();
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        serde_json::json!({
            "authenticated": true,
            "user": {
                "username": "system:serviceaccount:apps:builder",
                "uid": UID,
                "groups": ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
                "extra": {CREDENTIAL_ID_KEY: [format!("JTI={jti}")]},
            },
            "audiences": ["vault"],
        })
    );
}

#[test]
fn rejected_review_serialises_without_user_or_audiences() {
    let status = signer().review("garbage", &[], now(), &world());
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["authenticated"], false);
    assert!(json.get("user").is_none() && json.get("audiences").is_none());
    assert!(json["error"].as_str().unwrap().contains("malformed"));
}

#[test]
fn audience_must_intersect() {
    let token = signer()
        .issue(&subject(), &strings(&["vault"]), 3600, now())
        .unwrap();
    assert_eq!(
        rejection(&token, &strings(&["other"]), now()),
        Rejection::Audience
    );
    // Without requested audiences, the default one is required and "vault" is not it.
    assert_eq!(rejection(&token, &[], now()), Rejection::Audience);
}

#[test]
fn expiry_and_not_before_bound_the_validity_window() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let ok = |at| signer().verify(&token, &[], at, &world()).is_ok();
    assert!(ok(now()));
    assert!(ok(now() + Duration::seconds(599)));
    // exp <= now is expired: the last valid second is exp - 1.
    assert_eq!(
        rejection(&token, &[], now() + Duration::seconds(600)),
        Rejection::Expired
    );
    assert_eq!(
        rejection(&token, &[], now() + Duration::days(1)),
        Rejection::Expired
    );
    assert_eq!(
        rejection(&token, &[], now() - Duration::seconds(1)),
        Rejection::NotYetValid
    );
}

#[test]
fn deleted_or_recreated_account_is_not_authenticated() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let deleted = signer()
        .verify(&token, &[], now(), &World::default())
        .unwrap_err();
    assert_eq!(
        deleted,
        Rejection::AccountMissing {
            namespace: "apps".to_owned(),
            name: "builder".to_owned()
        }
    );
    let recreated = signer()
        .verify(
            &token,
            &[],
            now(),
            &World::default().with_account("apps", "builder", "another-uid"),
        )
        .unwrap_err();
    assert!(matches!(recreated, Rejection::UidMismatch { .. }));

    let other = Subject {
        name: "ghost".to_owned(),
        ..subject()
    };
    let token = signer().issue(&other, &[], 600, now()).unwrap();
    assert!(matches!(
        rejection(&token, &[], now()),
        Rejection::AccountMissing { .. }
    ));
}

#[test]
fn tampered_payload_fails_signature() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let mut claims = decode_part(&token, 1);
    // Claim to be another account that exists and a much later expiry.
    claims["kubernetes.io"]["serviceaccount"]["name"] = "admin".into();
    claims["exp"] = (1_750_000_000_i64 + 86_400 * 365).into();
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let status = signer().review(
        &forged,
        &[],
        now(),
        &world().with_account("apps", "admin", UID),
    );
    assert!(!status.authenticated);
    assert_eq!(
        status.error.as_deref(),
        Some("invalid bearer token: signature verification failed")
    );
    assert!(!status.error.unwrap().contains(parts[2]));
}

#[test]
fn token_from_another_key_fails_signature() {
    let impostor = TokenSigner::new(ISSUER).unwrap();
    assert_ne!(impostor.kid, signer().kid);
    let token = impostor.issue(&subject(), &[], 600, now()).unwrap();
    assert_eq!(rejection(&token, &[], now()), Rejection::Signature);
    // Changing one character inside our own signature fails too. (Not the last one: its
    // low bits are padding, which the base64 decoder rejects before any crypto happens.)
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let at = token.len() - 10;
    let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
    let token = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
    assert_eq!(rejection(&token, &[], now()), Rejection::Signature);
}

#[test]
fn wrong_issuer_is_rejected() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let mut claims = decode_part(&token, 1);
    claims["iss"] = "https://elsewhere.example".into();
    let parts: Vec<&str> = token.split('.').collect();
    let token = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert_eq!(rejection(&token, &[], now()), Rejection::Issuer);
}

#[test]
fn malformed_tokens_are_rejected_without_echo() {
    let good = signer().issue(&subject(), &[], 600, now()).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let cases = [
        ("", "empty"),
        ("a.b", "two parts"),
        (&format!("{good}.extra"), "four parts"),
        (
            &format!("!!.{}.{}", parts[1], parts[2]),
            "header not base64",
        ),
        (&format!("{}.e30.{}", parts[0], parts[2]), "claims missing"),
        (
            &format!("{}.{}.***", parts[0], parts[1]),
            "signature not base64",
        ),
    ];
    for (token, why) in cases {
        let err = rejection(token, &[], now());
        assert!(matches!(err, Rejection::Malformed(_)), "{why}: {err:?}");
        let status = signer().review(token, &[], now(), &world());
        assert!(!status.authenticated, "{why}");
        let message = status.error.unwrap();
        assert!(
            token.is_empty() || !message.contains(token),
            "{why}: echoed"
        );
    }
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_eq!(rejection(&unsigned, &[], now()), Rejection::Algorithm);
}

#[test]
fn single_string_audience_is_accepted() {
    // Another issuer may write "aud" as a plain string (RFC 7519); the parser accepts it.
    let claims: Claims = serde_json::from_value(serde_json::json!({
        "iss": ISSUER, "sub": "s", "aud": "vault", "exp": 1,
        "kubernetes.io": {"namespace": "n", "serviceaccount": {"name": "a", "uid": "u"}},
    }))
    .unwrap();
    assert!(claims.aud.contains("vault"));
    assert!(!claims.aud.contains("vaul"));
}

#[test]
fn invalid_inputs_to_issue_and_new_fail() {
    assert!(matches!(
        signer().issue(&subject(), &[], 0, now()),
        Err(TokenError::InvalidExpiration(0))
    ));
    assert!(matches!(
        signer().issue(&subject(), &[], i64::MAX, now()),
        Err(TokenError::InvalidExpiration(_))
    ));
    assert!(matches!(TokenSigner::new(""), Err(TokenError::EmptyIssuer)));
}

#[test]
fn public_key_pem_verifies_issued_tokens() {
    let pem = signer().public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(!pem.contains('\r'));
    let spki = pem::parse(&pem).unwrap().into_contents();
    // An outside verifier with only the PEM (as OpenBao's pem_keys) accepts our signature.
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki)
        .verify(signed.as_bytes(), &signature)
        .unwrap();
    assert_eq!(signer().issuer(), ISSUER);
    assert!(!format!("{:?}", signer()).contains("PRIVATE"));
}

#[test]
fn signer_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenSigner>();
}

fn assert_uuid_v4(id: &str) {
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    assert!(
        id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(groups[2].starts_with('4'), "version 4: {id}");
}

const POD_UID: &str = "7d1c0b7e-0000-4000-8000-0000000000aa";

fn pod_binding() -> Binding {
    Binding::Pod {
        name: "web-0".to_owned(),
        uid: POD_UID.to_owned(),
    }
}

fn pod_token() -> String {
    signer()
        .issue_bound(
            &subject(),
            Some(&pod_binding()),
            &strings(&["vault"]),
            3600,
            now(),
        )
        .unwrap()
}

fn with_pod(pod: ObjectState) -> World {
    world().with_pod("apps", "web-0", pod)
}

#[test]
fn pod_bound_token_carries_the_pod_and_reviews_report_it_in_extra() {
    let token = pod_token();
    let claims = decode_part(&token, 1);
    assert_eq!(
        claims["kubernetes.io"],
        serde_json::json!({
            "namespace": "apps",
            "pod": {"name": "web-0", "uid": POD_UID},
            "serviceaccount": {"name": "builder", "uid": UID},
        })
    );
    let jti = claims["jti"].as_str().unwrap();
    let status = signer().review(
        &token,
        &strings(&["vault"]),
        now(),
        &with_pod(state(POD_UID)),
    );
    assert!(status.authenticated, "{status:?}");
    let user = serde_json::to_value(status.user.unwrap()).unwrap();
    assert_eq!(
        user["extra"],
        serde_json::json!({
            "authentication.kubernetes.io/credential-id": [format!("JTI={jti}")],
            "authentication.kubernetes.io/pod-name": ["web-0"],
            "authentication.kubernetes.io/pod-uid": [POD_UID],
        })
    );
    assert_eq!(user["username"], "system:serviceaccount:apps:builder");
    // Every token gets its own id.
    assert_ne!(decode_part(&pod_token(), 1)["jti"], claims["jti"]);
}

#[test]
fn pod_bound_token_dies_with_its_pod() {
    let token = pod_token();
    let audiences = strings(&["vault"]);
    // Deleted: gone from the store.
    let status = signer().review(&token, &audiences, now(), &world());
    assert!(!status.authenticated);
    assert_eq!(
        status.error.as_deref(),
        Some("[invalid bearer token, service account token has been invalidated]")
    );
    // Re-created under the same name: another uid.
    let status = signer().review(&token, &audiences, now(), &with_pod(state("new-uid")));
    assert!(!status.authenticated);
    assert_eq!(
        status.error.as_deref(),
        Some(&*format!(
            "[invalid bearer token, pod UID (new-uid) does not match service account pod ref claim ({POD_UID})]"
        ))
    );
    // A pod of that name elsewhere does not keep it alive.
    let elsewhere = world().with_pod("other", "web-0", state(POD_UID));
    assert_eq!(
        signer()
            .verify(&token, &audiences, now(), &elsewhere)
            .unwrap_err(),
        Rejection::Invalidated
    );
}

#[test]
fn pod_awaiting_removal_vouches_for_a_minute_only() {
    let token = pod_token();
    let audiences = strings(&["vault"]);
    let deleting = |seconds_ago: i64| {
        with_pod(ObjectState {
            uid: POD_UID.to_owned(),
            deletion_timestamp: Some(now() - Duration::seconds(seconds_ago)),
        })
    };
    assert!(
        signer()
            .verify(&token, &audiences, now(), &deleting(60))
            .is_ok()
    );
    assert_eq!(
        signer()
            .verify(&token, &audiences, now(), &deleting(61))
            .unwrap_err(),
        Rejection::Invalidated
    );
}

#[test]
fn pod_binding_does_not_outlive_the_account() {
    let token = pod_token();
    let objects = World::default().with_pod("apps", "web-0", state(POD_UID));
    assert!(matches!(
        signer()
            .verify(&token, &strings(&["vault"]), now(), &objects)
            .unwrap_err(),
        Rejection::AccountMissing { .. }
    ));
}

#[test]
fn secret_bound_token_dies_with_its_secret() {
    let binding = Binding::Secret {
        name: "creds".to_owned(),
        uid: "s-1".to_owned(),
    };
    let token = signer()
        .issue_bound(&subject(), Some(&binding), &[], 600, now())
        .unwrap();
    assert_eq!(
        decode_part(&token, 1)["kubernetes.io"]["secret"],
        serde_json::json!({"name": "creds", "uid": "s-1"})
    );
    let alive = world().with_secret("apps", "creds", state("s-1"));
    let status = signer().review(&token, &[], now(), &alive);
    assert!(status.authenticated, "{status:?}");
    // Secret bindings put nothing but the credential id in extra, as kube-apiserver.
    let extra = status.user.unwrap().extra;
    assert_eq!(extra.keys().collect::<Vec<_>>(), [CREDENTIAL_ID_KEY]);
    assert_eq!(
        signer().verify(&token, &[], now(), &world()).unwrap_err(),
        Rejection::Invalidated
    );
    let recreated = world().with_secret("apps", "creds", state("s-2"));
    assert_eq!(
        signer()
            .review(&token, &[], now(), &recreated)
            .error
            .as_deref(),
        Some(
            "[invalid bearer token, secret UID (s-2) does not match service account secret ref claim (s-1)]"
        )
    );
}

#[test]
fn recreated_account_message_names_both_uids() {
    let token = signer().issue(&subject(), &[], 600, now()).unwrap();
    let recreated = World::default().with_account("apps", "builder", "another-uid");
    assert_eq!(
        signer()
            .review(&token, &[], now(), &recreated)
            .error
            .as_deref(),
        Some(&*format!(
            "[invalid bearer token, service account UID (another-uid) does not match claim ({UID})]"
        ))
    );
}

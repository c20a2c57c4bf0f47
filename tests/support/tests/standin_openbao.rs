//! A real OpenBao's kubernetes auth against kube-standin's TokenReview: tokens the stand-in
//! issues through TokenRequest log in for the bound service account, and nothing else does.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

use serde_json::json;
use test_support::Cluster;

#[test]
fn kubernetes_auth_logs_in_the_bound_service_account_only() {
    let cluster = Cluster::start();
    let bao = cluster.openbao();
    cluster.create_service_accounts("platform", &["secret-agent", "intruder"]);

    bao.kv2_put("secret", "myapp/db", json!({"password": "s3cr3t"}));
    bao.write_policy(
        "myapp",
        "path \"secret/data/myapp/*\" { capabilities = [\"read\"] }",
    );
    bao.create_role(
        "agent",
        &["secret-agent"],
        &["platform"],
        &["myapp"],
        Some("vault"),
    );

    // The bound account, with the audience the role wants: logged in, and the policy works.
    let good = cluster.token_request("platform", "secret-agent", &["vault"], 600);
    let client_token = bao
        .login_kubernetes("agent", &good)
        .expect("the bound service account logs in");
    let read = bao.request("GET", "secret/data/myapp/db", Some(&client_token), None);
    assert!(
        read.is_success(),
        "reading with the issued token: {}",
        read.error_text()
    );
    assert_eq!(read.body["data"]["data"]["password"], "s3cr3t");

    // Another account of the same namespace: reviewed as authentic, refused by the role.
    let other = cluster.token_request("platform", "intruder", &["vault"], 600);
    let err = bao.login_kubernetes("agent", &other).unwrap_err();
    assert!(err.contains("service account name not authorized"), "{err}");

    // The right account with the wrong audience: the review fails.
    let wrong_audience = cluster.token_request("platform", "secret-agent", &["not-vault"], 600);
    assert!(bao.login_kubernetes("agent", &wrong_audience).is_err());

    // A forged token (signature altered) is refused.
    let mut forged = good.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(bao.login_kubernetes("agent", &forged).is_err());

    // Once the account is deleted, its tokens stop working.
    cluster.kubectl_ok(&["delete", "serviceaccount", "secret-agent", "-n", "platform"]);
    let err = bao.login_kubernetes("agent", &good).unwrap_err();
    assert!(
        err.contains("permission denied") || err.contains("403"),
        "{err}"
    );
}

#[test]
fn kubernetes_auth_accepts_a_pod_bound_token_until_the_pod_goes() {
    let cluster = Cluster::start();
    let bao = cluster.openbao();
    cluster.create_service_accounts("team-a", &["web"]);
    cluster.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: team-a}\n\
         spec: {serviceAccountName: web, containers: [{name: app, image: 'app:1'}]}\n",
    );
    bao.kv2_put("secret", "team-a/db", json!({"password": "s3cr3t"}));
    bao.write_policy(
        "team-a",
        "path \"secret/data/team-a/*\" { capabilities = [\"read\"] }",
    );
    bao.create_role("web", &["web"], &["team-a"], &["team-a"], Some("vault"));

    let token = cluster.pod_token_request("team-a", "web", "web-0", &["vault"], 600);
    let client_token = bao
        .login_kubernetes("web", &token)
        .expect("the pod-bound token logs in");
    let read = bao.request("GET", "secret/data/team-a/db", Some(&client_token), None);
    assert!(read.is_success(), "{}", read.error_text());

    // The pod is deleted: bao's TokenReview now says the token is not authenticated.
    cluster.kubectl_ok(&["delete", "pod", "web-0", "-n", "team-a"]);
    let err = bao.login_kubernetes("web", &token).unwrap_err();
    assert!(
        err.contains("permission denied") || err.contains("403"),
        "{err}"
    );
    // A pod re-created under the name does not revive it.
    cluster.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: team-a}\n\
         spec: {serviceAccountName: web, containers: [{name: app, image: 'app:1'}]}\n",
    );
    assert!(bao.login_kubernetes("web", &token).is_err());
    // A token for the new pod works.
    let token = cluster.pod_token_request("team-a", "web", "web-0", &["vault"], 600);
    bao.login_kubernetes("web", &token)
        .expect("a token for the re-created pod logs in");
}

//! A stand-in for the secrets agent's HTTP API, until tests switch to the real agent: a tiny
//! HTTP/1.1 server on 127.0.0.1 (one thread per connection, `Connection: close`) serving
//! `GET /v1/cert.pem`, `GET /v1/keys` (the list a test sets in [`Behaviour::key_list`]),
//! `POST /v1/verify` and `POST /v1/rotate` with `secrets_core`, plus a
//! kube-standin Service `secrets-agent` (port `http`) and Endpoints pointing at it, so the
//! plugin reaches it through the API server's service proxy exactly as it will reach the
//! real one.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use secrets_core::api::sealed_secret::parse_sealed_secrets;
use secrets_core::seal;
use secrets_core::seal::keys::{GeneratedKey, KeyBits, PrivateKey};

pub const AGENT_NS: &str = "kubectl-secrets";
pub const AGENT_SVC: &str = "secrets-agent";

/// What the fake does, adjustable while it runs.
#[derive(Default)]
pub struct Behaviour {
    /// Answer this many requests to verify/rotate with 429 (`Retry-After: 1`) first.
    pub throttle: u32,
    /// Answer `/v1/cert.pem` with 503, as an agent without a key.
    pub no_key: bool,
    /// What `GET /v1/keys` answers (`None`: 404, as an agent older than that endpoint).
    pub key_list: Option<secrets_core::seal::keys::KeyList>,
    /// `METHOD PATH` of every request, in order.
    pub seen: Vec<String>,
}

pub struct FakeAgent {
    pub port: u16,
    /// The key it seals to (RSA-2048, fresh).
    pub newest: Arc<GeneratedKey>,
    pub behaviour: Arc<Mutex<Behaviour>>,
}

impl FakeAgent {
    /// Serve with a fresh newest key, also opening with `older` keys.
    pub fn start(older: Vec<PrivateKey>) -> FakeAgent {
        let now = time::OffsetDateTime::now_utc();
        let newest = Arc::new(
            secrets_core::seal::keys::generate(
                KeyBits::Rsa2048,
                "fake-agent",
                now,
                time::Duration::days(30),
            )
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let keys = Arc::new(older);
        let (n, b) = (newest.clone(), behaviour.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (n, b, k) = (n.clone(), b.clone(), keys.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &n, &k, &b);
                });
            }
        });
        FakeAgent {
            port,
            newest,
            behaviour,
        }
    }

    /// Create the agent namespace, the Service and its Endpoints in the stand-in.
    pub fn register(&self, cluster: &test_support::Cluster) {
        let store = cluster.standin().store();
        let namespaces = store.def("", "v1", "namespaces").unwrap();
        let _ = store.create(
            &namespaces,
            None,
            serde_json::json!({"metadata": {"name": AGENT_NS}}),
        );
        let services = store.def("", "v1", "services").unwrap();
        store
            .create(
                &services,
                Some(AGENT_NS),
                serde_json::json!({
                    "metadata": {"name": AGENT_SVC},
                    "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}
                }),
            )
            .unwrap();
        let endpoints = store.def("", "v1", "endpoints").unwrap();
        store
            .create(
                &endpoints,
                Some(AGENT_NS),
                serde_json::json!({
                    "metadata": {"name": AGENT_SVC},
                    "subsets": [{
                        "addresses": [{"ip": "127.0.0.1"}],
                        "ports": [{"name": "http", "port": self.port}]
                    }]
                }),
            )
            .unwrap();
    }

    pub fn seen(&self) -> Vec<String> {
        self.behaviour.lock().unwrap().seen.clone()
    }
}

fn serve(
    stream: TcpStream,
    newest: &GeneratedKey,
    older: &[PrivateKey],
    behaviour: &Mutex<Behaviour>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (status, headers, reply) = answer(&method, &path, &body, newest, older, behaviour);
    let mut stream = stream;
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.len()
    );
    for header in headers {
        head.push_str(&header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&reply)?;
    stream.flush()
}

fn answer(
    method: &str,
    path: &str,
    body: &[u8],
    newest: &GeneratedKey,
    older: &[PrivateKey],
    behaviour: &Mutex<Behaviour>,
) -> (&'static str, Vec<String>, Vec<u8>) {
    let mut state = behaviour.lock().unwrap();
    state.seen.push(format!("{method} {path}"));
    if method == "POST" && state.throttle > 0 {
        state.throttle -= 1;
        return (
            "429 Too Many Requests",
            vec!["Retry-After: 1".to_owned()],
            b"slow down\n".to_vec(),
        );
    }
    let no_key = state.no_key;
    let key_list = state.key_list.clone();
    drop(state);
    let text = |s: &str| s.as_bytes().to_vec();
    let mut keys: Vec<&PrivateKey> = vec![&newest.private];
    keys.extend(older.iter());
    match (method, path) {
        ("GET", "/v1/cert.pem") if no_key => {
            ("503 Service Unavailable", vec![], text("no key yet\n"))
        }
        ("GET", "/v1/cert.pem") => (
            "200 OK",
            vec!["Content-Type: application/x-pem-file".to_owned()],
            text(newest.certificate.pem()),
        ),
        ("GET", "/v1/keys") => match key_list {
            Some(list) => (
                "200 OK",
                vec!["Content-Type: application/json".to_owned()],
                serde_json::to_vec(&list).unwrap(),
            ),
            None => ("404 Not Found", vec![], text("not found\n")),
        },
        ("POST", "/v1/verify" | "/v1/rotate") => {
            let parsed = std::str::from_utf8(body)
                .ok()
                .and_then(|t| parse_sealed_secrets(t).ok())
                .filter(|items| items.len() == 1);
            let Some(mut items) = parsed else {
                return ("400 Bad Request", vec![], text("not one SealedSecret\n"));
            };
            let item = items.remove(0);
            if path == "/v1/verify" {
                match seal::verify(&item.object, &keys) {
                    Ok(()) => ("200 OK", vec![], text("ok\n")),
                    Err(err) => ("409 Conflict", vec![], text(&format!("{err}\n"))),
                }
            } else {
                match seal::rotate(&item.object, &keys, newest.certificate.public_key()) {
                    Ok(object) => {
                        let out = secrets_core::api::sealed_secret::AnySealedSecret {
                            object,
                            flavor: item.flavor,
                        };
                        (
                            "200 OK",
                            vec!["Content-Type: application/json".to_owned()],
                            serde_json::to_vec(&out.to_value(item.flavor)).unwrap(),
                        )
                    }
                    Err(err) => ("409 Conflict", vec![], text(&format!("{err}\n"))),
                }
            }
        }
        _ => ("404 Not Found", vec![], text("not found\n")),
    }
}

//! The `reference-server` binary: required secrets, start-up message, SIGTERM exits 0; client
//! tokens verified with a public key (`--jwt-public-key`); a server without the Control API
//! (`--control-api off`) serving conferences written straight into MongoDB and Redis.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lcr_client::{ClientConfig, ConnectError};
use lcr_protocol::event;
use lcr_protocol::token::{Claims, Signer, SigningAlgorithm};
use mongodb::bson::doc;
use reference_server::metrics::Histogram;
use reference_server::mongo::{CONFERENCES, MongoDb, QUESTIONS};
use serde_json::json;

use crate::harness::{JWT_SECRET, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

/// The variables the server reads that a test sets itself (none may leak in from the
/// environment the tests run in).
const SERVER_ENV: &[&str] = &[
    "JWT_SECRET",
    "ADMIN_TOKEN",
    "JWT_PUBLIC_KEY_FILE",
    "CONTROL_API",
    "REDIS_URL",
    "MONGO_URL",
    "BIND",
];

/// The binary, with none of [`SERVER_ENV`] inherited.
fn server_command() -> Command {
    let mut cmd = Command::new(BIN);
    for name in SERVER_ENV {
        cmd.env_remove(name);
    }
    cmd
}

/// An example key of `profiles/keys/`.
fn example_key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../profiles/keys")
        .join(name)
}

/// Runs a server that must refuse to start: its exit code and stderr (killed after 20 s, when
/// it started after all).
fn exit_of(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server process started from [`server_command`], its output in a log file; killed when
/// dropped.
struct Served {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

impl Served {
    /// Starts `cmd` on a free port and waits until `GET /ready` answers 200 (20 s).
    async fn start(mut cmd: Command) -> Served {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("lcr-bin-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .args(["--bind", &format!("127.0.0.1:{port}"), "--results-file"])
            .arg(log.with_extension("results.jsonl"))
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut served = Served {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(exit) = served.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited with {exit}: {}", served.log_text());
            }
            if std::net::TcpStream::connect(served.addr).is_ok()
                && served.get("/ready").await.0 == 200
            {
                return served;
            }
            assert!(
                Instant::now() < deadline,
                "not ready in 20 s: {}",
                served.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        crate::harness::http(self.addr, "GET", path, None, None).await
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; the exit code and the log once it exited (10 s).
    fn stop(mut self) -> (Option<i32>, String) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("no exit 10 s after SIGTERM: {}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (exit.code(), self.log_text())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.log.with_extension("results.jsonl"));
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

#[test]
fn refuses_to_start_without_secrets() {
    for (missing, env) in [
        ("JWT_SECRET", vec![("ADMIN_TOKEN", "a")]),
        ("ADMIN_TOKEN", vec![("JWT_SECRET", "s")]),
    ] {
        let mut cmd = server_command();
        cmd.envs(env);
        let (code, err) = exit_of(cmd);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(missing) && err.contains("not set"), "{err}");
    }
}

#[test]
fn an_unreachable_redis_is_a_clear_error() {
    let out = Command::new(BIN)
        .env("JWT_SECRET", "s")
        .env("ADMIN_TOKEN", "a")
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .args(["--redis-url", &format!("redis://127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runtime store"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn says_it_runs_in_memory_and_exits_zero_on_sigterm() {
    let port = free_port();
    let results = std::env::temp_dir().join(format!("lcr-bin-{port}.jsonl"));
    let mut child = Command::new(BIN)
        .env("JWT_SECRET", "s")
        .env("ADMIN_TOKEN", "a")
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .args(["--bind", &format!("127.0.0.1:{port}"), "--results-file"])
        .arg(&results)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Sockets in a conference with a live question when the signal comes: shutdown disconnects
    // them, their leave flows run while the namespace closes, and nothing may panic.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let spec = json!({"hostUserId": "hana", "status": "ACTIVE", "questions": [crate::harness::question("q1", "A")]});
    let (code, _) = crate::harness::http(
        addr,
        "PUT",
        "/admin/conferences/c1",
        Some("a"),
        Some(spec.to_string()),
    )
    .await;
    assert_eq!(code, 200);
    let mut held = Vec::new();
    let users: Vec<String> = std::iter::once("hana".to_owned())
        .chain((0..300).map(|i| format!("u{i}")))
        .collect();
    for user in &users {
        let token = lcr_protocol::token::mint("s", user, 60).unwrap();
        let (client, mut events) = lcr_client::connect(
            &lcr_client::ClientConfig::new(format!("http://{addr}")).auth(json!({"token": token})),
        )
        .await
        .unwrap();
        client
            .emit(
                lcr_protocol::event::CONFERENCE_JOIN,
                &json!({"conferenceId": "c1"}),
            )
            .unwrap();
        assert!(
            events
                .expect(
                    lcr_protocol::event::CONFERENCE_JOINED,
                    Duration::from_secs(10)
                )
                .await
                .is_some()
        );
        if user.as_str() == "hana" {
            client
                .emit(
                    lcr_protocol::event::QUESTION_PUSH_LIVE,
                    &json!({"conferenceId": "c1", "questionId": "q1"}),
                )
                .unwrap();
            assert!(
                events
                    .expect(lcr_protocol::event::QUESTION_LIVE, Duration::from_secs(10))
                    .await
                    .is_some()
            );
        }
        held.push((client, events));
    }
    // Half of them hang up as the signal arrives, so their leave flows race the shutdown.
    for (client, _) in held.drain(150..) {
        client.close();
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(exit.code(), Some(0), "{log}");
    assert!(log.contains("in-memory store"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    for (_, mut events) in held {
        assert!(
            events
                .drain_for(Duration::from_secs(2))
                .await
                .iter()
                .all(|r| r.name != "error")
        );
        assert!(
            events.closed_reason().is_some(),
            "socket still open after shutdown"
        );
    }
}

/// How a server that must not start is started, and what its error must say.
struct Misconfigured {
    what: &'static str,
    /// Environment besides `ADMIN_TOKEN=a`.
    env: Vec<(&'static str, String)>,
    /// `--jwt-public-key FILE`, when given.
    key_flag: Option<PathBuf>,
    /// What the error names.
    says: Vec<String>,
}

#[test]
fn jwt_public_key_misconfigurations_exit_2_and_name_the_problem() {
    let public = example_key("rs256-public.pem");
    let missing = std::env::temp_dir().join(format!("lcr-no-such-key-{}.pem", free_port()));
    let not_a_key = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let private = example_key("es256-private.pem");
    let shown = |p: &Path| p.display().to_string();
    let cases = [
        Misconfigured {
            what: "a file that does not exist",
            env: vec![],
            key_flag: Some(missing.clone()),
            says: vec![shown(&missing), "cannot read the file".into()],
        },
        Misconfigured {
            what: "a file that does not exist, by JWT_PUBLIC_KEY_FILE",
            env: vec![("JWT_PUBLIC_KEY_FILE", shown(&missing))],
            key_flag: None,
            says: vec![shown(&missing), "cannot read the file".into()],
        },
        Misconfigured {
            what: "a file that is no key",
            env: vec![],
            key_flag: Some(not_a_key.clone()),
            says: vec![shown(&not_a_key), "no RSA or EC P-256 public key".into()],
        },
        Misconfigured {
            what: "a private key",
            env: vec![],
            key_flag: Some(private.clone()),
            says: vec![shown(&private), "private key".into()],
        },
        Misconfigured {
            what: "both a secret and a key",
            env: vec![("JWT_SECRET", "s".into())],
            key_flag: Some(public.clone()),
            says: vec![
                "both JWT_SECRET and --jwt-public-key".into(),
                shown(&public),
                "unset JWT_SECRET".into(),
                "drop --jwt-public-key".into(),
            ],
        },
        Misconfigured {
            what: "neither a secret nor a key",
            env: vec![],
            key_flag: None,
            says: vec!["JWT_SECRET is not set".into(), "--jwt-public-key".into()],
        },
    ];
    for case in cases {
        let mut cmd = server_command();
        cmd.env("ADMIN_TOKEN", "a").envs(case.env);
        if let Some(key) = &case.key_flag {
            cmd.arg("--jwt-public-key").arg(key);
        }
        let (code, err) = exit_of(cmd);
        let what = case.what;
        assert_eq!(code, Some(2), "{what}: {err}");
        for part in case.says {
            assert!(err.contains(&part), "{what}: no `{part}` in {err}");
        }
        eprintln!("{what}: {}", err.trim());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_public_key_and_no_jwt_secret_serves() {
    let mut cmd = server_command();
    cmd.env("ADMIN_TOKEN", "a")
        .arg("--jwt-public-key")
        .arg(example_key("es256-public.pem"));
    let server = Served::start(cmd).await;
    let exp = (lcr_protocol::now_millis() / 1000 + 60) as u64;
    let claims = Claims {
        user_id: Some("alex".into()),
        sub: None,
        account_type: None,
        exp,
    };
    let pem = std::fs::read(example_key("es256-private.pem")).unwrap();
    let es256 = Signer::from_private_key_pem(SigningAlgorithm::Es256, &pem)
        .unwrap()
        .sign(&claims)
        .unwrap();
    let with_token =
        |token: String| ClientConfig::new(server.url()).auth(json!({ "token": token }));
    let (client, _events) = lcr_client::connect(&with_token(es256))
        .await
        .expect("an ES256 token is accepted");
    client.close();
    let hs256 = Signer::hs256("s").sign(&claims).unwrap();
    match lcr_client::connect(&with_token(hs256)).await {
        Err(ConnectError::Refused(v)) => assert_eq!(v["data"]["code"], "UNAUTHORIZED", "{v}"),
        Err(e) => panic!("expected connect_error, got {e}"),
        Ok(_) => panic!("an HS256 token was accepted by an ES256 server"),
    }
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("client tokens are verified with ES256 and the public key"),
        "{log}"
    );
    assert!(log.contains("tokens=ES256"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_control_api_off_conferences_written_elsewhere_are_served() {
    let redis = crate::harness::RedisProcess::start();
    let mongo = lcr_testkit::MongoProcess::start();
    let mut cmd = server_command();
    cmd.env("JWT_SECRET", JWT_SECRET)
        .args(["--control-api", "off", "--redis-url", &redis.url()])
        .args(["--mongo-url", &mongo.url()]);
    let server = Served::start(cmd).await;

    // No Control API: its paths are unknown, with the admin token or without; the probes stay.
    for (method, path) in [
        ("PUT", "/admin/conferences/x"),
        ("POST", "/admin/conferences/x/activate"),
        ("POST", "/admin/conferences/x/end"),
    ] {
        for token in [None, Some("a")] {
            let body = (method == "PUT").then(|| json!({"hostUserId": "hana"}).to_string());
            let (code, _) = crate::harness::http(server.addr, method, path, token, body).await;
            assert_eq!(code, 404, "{method} {path} with token {token:?}");
        }
    }
    for probe in ["/health", "/ready", "/metrics"] {
        assert_eq!(server.get(probe).await.0, 200, "{probe}");
    }

    // A conference another backend created: its documents in MongoDB (protocol §11), its host
    // and status in Redis.
    let db = MongoDb::connect(&mongo.url(), "livepoll", Arc::new(Histogram::default()))
        .await
        .unwrap();
    let (cid, qid) = ("elsewhere", "elsewhere-q1");
    db.collection(CONFERENCES)
        .insert_one(doc! {"_id": cid, "hostId": "hana", "status": "ACTIVE", "publicCode": "ELSE42", "title": "Made elsewhere"})
        .await
        .unwrap();
    db.collection(QUESTIONS)
        .insert_one(doc! {
            "_id": qid, "conferenceId": cid, "order": 0, "questionText": "Made where?",
            "options": [{"key": "A", "text": "Here"}, {"key": "B", "text": "Elsewhere"}],
            "correctOption": "B", "status": "IDLE", "isLive": false,
        })
        .await
        .unwrap();
    assert_eq!(
        redis
            .cli(&["SET", &format!("conference:{cid}:host"), "hana"])
            .trim(),
        "OK"
    );
    assert_eq!(
        redis
            .cli(&["SET", &format!("conference:{cid}:status"), "ACTIVE"])
            .trim(),
        "OK"
    );

    let mut hana = crate::harness::actor_at(&server.url(), "hana").await;
    assert_eq!(hana.join(cid).await["role"], "HOST");
    let mut ana = crate::harness::actor_at(&server.url(), "ana").await;
    let joined = ana.join(cid).await;
    assert_eq!(joined["role"], "AUDIENCE", "{joined}");
    assert_eq!(joined["conferenceStatus"], "ACTIVE", "{joined}");
    hana.push(cid, qid, Some(30));
    let live = ana.expect(event::QUESTION_LIVE).await;
    assert_eq!(live["questionText"], "Made where?", "{live}");
    ana.vote(cid, qid, "B");
    let accepted = ana.expect(event::VOTE_ACCEPTED).await;
    assert_eq!(accepted["isCorrect"], true, "{accepted}");
    hana.close_question(cid, qid);
    let result = ana.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(result["optionCounts"]["B"], 1, "{result}");

    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("Control API off"), "{log}");
    assert!(log.contains("control_api=\"off\""), "{log}");
    assert!(!log.contains("ADMIN_TOKEN is not set"), "{log}");
}

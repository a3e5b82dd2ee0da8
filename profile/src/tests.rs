//! Loading and checking profiles: the examples in `profiles/`, and every kind of mistake named
//! by its key.

use std::path::{Path, PathBuf};

use crate::{Carrier, FixtureSpec, Overrides, Part, Profile, ProfileError, TokenSource};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles")
}

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(text, &examples().join("test.toml"))
}

fn invalid_key(text: &str) -> String {
    match parse(text) {
        Err(ProfileError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

const MINIMAL: &str = r#"
[target]
nodes = ["http://127.0.0.1:3000/"]
[auth]
kind = "hs256"
secret = "s"
[fixtures]
kind = "control-api"
control_api = { admin_token = "a" }
"#;

#[test]
fn every_example_profile_loads() {
    // The examples read the stores' URLs from the environment.
    // SAFETY: tests of this crate do not read these variables concurrently elsewhere.
    unsafe {
        std::env::set_var("REDIS_URL", "redis://127.0.0.1:6379");
        std::env::set_var("MONGO_URL", "mongodb://127.0.0.1:27017");
        std::env::set_var("ADMIN_API_URL", "http://127.0.0.1:4000");
    }
    for name in [
        "reference",
        "reference-rs256",
        "reference-es256",
        "store",
        "command",
        "http",
    ] {
        let path = examples().join(format!("{name}.toml"));
        let p = Profile::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!p.name.is_empty(), "{name}");
    }
    let rs = Profile::load(&examples().join("reference-rs256.toml")).unwrap();
    assert!(matches!(rs.auth.source, TokenSource::Rs256 { .. }));
    assert_eq!(rs.servers.len(), 1);
    let store = Profile::load(&examples().join("store.toml")).unwrap();
    assert!(matches!(store.fixtures, FixtureSpec::Store { .. }));
    assert!(store.capabilities.has(Part::Mongo) && store.capabilities.has(Part::RedisKeys));
    assert!(!store.capabilities.has(Part::ControlApi));
    let http = Profile::load(&examples().join("http.toml")).unwrap();
    let FixtureSpec::Http(h) = &http.fixtures else {
        panic!("http fixture");
    };
    assert_eq!(
        (h.create.status, h.create.id.as_deref()),
        (Some(201), Some("/data/_id"))
    );
    assert!(h.add_question.is_some());
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let p = parse(MINIMAL).unwrap();
    assert_eq!(p.target.nodes, ["http://127.0.0.1:3000"]);
    assert_eq!(p.target.path, "/socket.io/");
    assert_eq!(p.auth.user_claims, ["userId", "sub"]);
    assert_eq!(p.auth.carriers, [Carrier::Auth, Carrier::Header]);
    assert!(p.capabilities.follows(1) && p.capabilities.follows(crate::LAST_DECISION));
    assert!(p.capabilities.has(Part::ControlApi) && p.capabilities.has(Part::Polling));
    assert!(!p.capabilities.has(Part::Cluster) && !p.capabilities.has(Part::RedisKeys));
    assert_eq!(p.name, "test");
}

#[test]
fn mistakes_are_named_by_their_key() {
    assert_eq!(invalid_key(&MINIMAL.replace("hs256", "hs512")), "auth.kind");
    assert_eq!(
        invalid_key(&MINIMAL.replace("secret = \"s\"", "")),
        "auth.secret"
    );
    assert_eq!(
        invalid_key(&MINIMAL.replace("http://127.0.0.1:3000/", "127.0.0.1:3000")),
        "target.nodes[0]"
    );
    assert_eq!(
        invalid_key(&MINIMAL.replace("control-api\"", "sql\"")),
        "fixtures.kind"
    );
    assert_eq!(
        invalid_key(&format!("{MINIMAL}[capabilities]\nexclude = [\"D99\"]\n")),
        "capabilities.exclude"
    );
    assert_eq!(
        invalid_key(&format!("{MINIMAL}[capabilities]\nparts = [\"redis\"]\n")),
        "capabilities.parts"
    );
    assert_eq!(
        invalid_key(&MINIMAL.replace(
            "kind = \"hs256\"\nsecret = \"s\"",
            "kind = \"rs256\"\nprivate_key = \"nowhere.pem\""
        )),
        "auth.private_key"
    );
    assert_eq!(
        invalid_key(&MINIMAL.replace(
            "kind = \"hs256\"\nsecret = \"s\"",
            "kind = \"es256\"\nprivate_key = \"keys/rs256-private.pem\""
        )),
        "auth.private_key",
        "an RSA key for ES256"
    );
    assert_eq!(
        invalid_key(&MINIMAL.replace("secret = \"s\"", "secret = \"${LCR_NOT_SET_ANYWHERE}\"")),
        "auth.secret"
    );
    // A typo in a key is refused with the parser's message, not ignored.
    match parse(&MINIMAL.replace("secret =", "secrt =")) {
        Err(ProfileError::Parse { message, .. }) => assert!(message.contains("secrt"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn flags_lay_over_the_profile() {
    let p = parse(MINIMAL).unwrap();
    let p = p
        .with(Overrides {
            nodes: vec!["http://a:1".into(), "http://b:1".into()],
            jwt_secret: Some("other".into()),
            admin_token: Some("admin2".into()),
            redis_url: Some("redis://r:6379".into()),
            ..Overrides::default()
        })
        .unwrap();
    assert_eq!(p.target.nodes.len(), 2);
    assert_eq!(
        p.auth.source,
        TokenSource::Hs256 {
            secret: "other".into()
        }
    );
    assert!(
        matches!(&p.fixtures, FixtureSpec::ControlApi { admin_token, .. } if admin_token == "admin2")
    );
    assert!(p.capabilities.has(Part::Cluster) && p.capabilities.has(Part::RedisKeys));
    let no_nodes = parse(&MINIMAL.replace("nodes = [\"http://127.0.0.1:3000/\"]", ""))
        .unwrap()
        .with(Overrides::default());
    assert!(matches!(no_nodes, Err(ProfileError::Invalid { key, .. }) if key == "target.nodes"));
}

#[tokio::test]
async fn an_embedded_configuration_a_run_cannot_drive_is_refused() {
    use reference_server::ServerConfig;
    let path = examples().join("keys/rs256-public.pem");
    let pem = std::fs::read(&path).unwrap();
    let verifier = reference_server::config::public_key_verifier(&path, &pem).unwrap();
    let by_key = ServerConfig::embedded("s", "a").with_verifier(verifier);
    let err = crate::ServerUnderTest::start(by_key).await.unwrap_err();
    assert!(err.to_string().contains("not RS256 tokens"), "{err}");
    let no_admin = ServerConfig::embedded("s", "a").without_control_api();
    let err = crate::ServerUnderTest::start(no_admin).await.unwrap_err();
    assert!(err.to_string().contains("Control API"), "{err}");
}

#[tokio::test]
async fn targets_without_a_profile_need_both_secrets_and_name_the_missing_one() {
    let logs = std::env::temp_dir();
    let nodes = vec!["http://a:3000".to_owned(), "http://b:3000".to_owned()];
    let with = |secret: Option<&str>, admin: Option<&str>| Overrides {
        nodes: nodes.clone(),
        jwt_secret: secret.map(str::to_owned),
        admin_token: admin.map(str::to_owned),
        ..Overrides::default()
    };
    let none = crate::ServerUnderTest::choose(None, with(None, None), &logs, || unreachable!());
    assert_eq!(
        none.await.unwrap_err().to_string(),
        "--jwt-secret (or JWT_SECRET) is required with --target"
    );
    let no_admin =
        crate::ServerUnderTest::choose(None, with(Some("s"), None), &logs, || unreachable!());
    assert_eq!(
        no_admin.await.unwrap_err().to_string(),
        "--admin-token (or ADMIN_TOKEN) is required with --target"
    );
    let given =
        crate::ServerUnderTest::choose(None, with(Some("s"), Some("a")), &logs, || unreachable!())
            .await
            .unwrap();
    assert_eq!(given.nodes(), nodes.as_slice());
    assert!(given.profile.capabilities.has(Part::Cluster), "two nodes");
    assert!(!given.is_embedded());
    assert!(
        !format!("{given:?}").contains("\"s\""),
        "no secret in Debug"
    );
    given.shutdown().await;
}

#[tokio::test]
async fn a_server_that_cannot_start_says_so_with_its_cause() {
    let mut config = reference_server::ServerConfig::embedded("s", "a");
    config.bind = "192.0.2.1:1".parse().unwrap();
    let err = crate::ServerUnderTest::start(config).await.unwrap_err();
    assert_eq!(err.to_string(), "starting the in-process reference server");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the server's error is its source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_starts_its_servers_and_stops_them() {
    let profile = Profile::load(&examples().join("reference.toml")).unwrap();
    let logs = std::env::temp_dir().join(format!("lcr-profile-launch-{}", std::process::id()));
    let server = crate::ServerUnderTest::choose(
        Some(profile),
        Overrides::default(),
        &logs,
        || unreachable!(),
    )
    .await
    .unwrap();
    let url = server.url().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let ready = reqwest::get(format!("{url}/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    server.shutdown().await;
    assert!(
        reqwest::get(format!("{url}/ready")).await.is_err(),
        "stopped"
    );
    let _ = std::fs::remove_dir_all(logs);
}

//! `MongoProcess` against the real `nx-27017` binary: it starts, answers, stops and restarts.

use std::net::TcpStream;
use std::path::Path;

use lcr_testkit::MongoProcess;

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn starts_answers_and_stops() {
    let mut mongo = MongoProcess::start();
    let port = mongo.port();
    let pid = mongo.pid().expect("a running server has a PID");
    assert!(
        accepts(port),
        "the server accepts TCP connections on {port}"
    );
    mongo.ping().expect("the server answers ping");
    assert_eq!(
        mongo.url(),
        format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=2000&connectTimeoutMS=1000")
    );

    mongo.stop();
    assert_eq!(mongo.pid(), None);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} is gone"
    );
    assert!(!accepts(port), "port {port} is closed after stop");
    assert!(mongo.ping().is_err());
    mongo.stop(); // stopping twice is harmless
}

#[test]
fn restarts_on_the_same_port() {
    let mut mongo = MongoProcess::start();
    let port = mongo.port();
    let first = mongo.pid().expect("running");

    mongo.restart();
    assert_eq!(mongo.port(), port);
    let second = mongo.pid().expect("running again");
    assert_ne!(first, second);
    assert!(
        !Path::new(&format!("/proc/{first}")).exists(),
        "the old process {first} is gone"
    );
    mongo.ping().expect("the restarted server answers ping");

    // Restarting a stopped server starts it again.
    mongo.stop();
    assert!(!accepts(port));
    mongo.restart();
    assert_eq!(mongo.port(), port);
    mongo.ping().expect("answers after stop + restart");
}

#[test]
fn drop_kills_the_process_and_removes_its_files() {
    let mongo = MongoProcess::start();
    let (port, pid) = (mongo.port(), mongo.pid().expect("running"));
    let log = mongo.log_path().to_path_buf();
    assert!(log.exists());
    drop(mongo);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} is gone"
    );
    assert!(!accepts(port), "port {port} is closed after drop");
    assert!(!log.exists(), "the log file of a passing test is removed");
}

#[test]
fn several_servers_run_side_by_side() {
    let servers: Vec<MongoProcess> = (0..3).map(|_| MongoProcess::start()).collect();
    let mut ports: Vec<u16> = servers.iter().map(MongoProcess::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3, "each server has a port of its own");
    for server in &servers {
        server.ping().expect("each server answers");
    }
}

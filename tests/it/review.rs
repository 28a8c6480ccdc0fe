//! The review screen: the server's access rules and durability, and the screen itself in
//! a real headless Chromium driven over WebDriver (chromedriver).

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sohoa review`, killed when dropped.
struct Server {
    child: Child,
    url: String,
    base: String,
    token: String,
    /// Each officer's address, for a team (`--users`).
    officers: Vec<(String, String)>,
    /// What it printed on stderr before its addresses.
    said: String,
    /// Where its stderr goes.
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(out: &Path, user: &str) -> Server {
        Server::start_with(out, &["--port", "0", "--user", user])
    }

    /// `sohoa review OUT ARGS…`; with `--users`, one address per officer.
    fn start_with(out: &Path, args: &[&str]) -> Server {
        let team = args.contains(&"--users");
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = sohoa()
            .arg("review")
            .args(args)
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("sohoa review starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut officers = Vec::new();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if team {
            let count = std::fs::read_to_string(args[args.iter().position(|a| *a == "--users").unwrap() + 1])
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .count();
            loop {
                let (name, url) = line.trim().split_once('\t').expect("name<TAB>address");
                officers.push((name.to_string(), url.to_string()));
                if officers.len() == count {
                    break;
                }
                line.clear();
                stdout.read_line(&mut line).unwrap();
            }
        }
        let url = if team {
            officers[0].1.clone()
        } else {
            line.trim().to_string()
        };
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "address printed: {url:?} ({})",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        let (base, token) = url.split_once("/?token=").expect("token in the address");
        Server {
            child,
            base: base.to_string(),
            token: token.to_string(),
            url,
            officers,
            said: std::fs::read_to_string(log.path()).unwrap_or_default(),
            log,
        }
    }

    /// An officer's token.
    fn token_of(&self, name: &str) -> String {
        let url = &self.officers.iter().find(|(n, _)| n == name).expect("officer").1;
        url.split_once("/?token=").unwrap().1.to_string()
    }

    /// Everything it has printed on stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn api(&self, path: &str, query: &str) -> String {
        format!("{}{path}?token={}&{query}", self.base, self.token)
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status code and body of a GET sent as raw bytes (path and Host exactly as given).
fn raw_get(port: u16, path: &str, host: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let resp = String::from_utf8_lossy(&bytes);
    let code = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn status_of(r: Result<ureq::Response, ureq::Error>) -> u16 {
    match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("request failed: {e}"),
    }
}

/// The sample book, processed into `dir/out`; returns (input, out).
fn processed_samples(dir: &Path) -> (PathBuf, PathBuf) {
    let input = dir.join("in");
    copy_dir(&samples().join("books"), &input);
    let out = dir.join("out");
    process_into(
        &input,
        &out,
        &["--no-record-pdfs"],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    (input, out)
}

/// A non-loopback address of this machine, if it has one.
fn outside_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The first record after `from` (page name, row) with a field an officer should look
/// at, in page order: (page name, row).
fn next_doubtful(pages: &Path, from: (&str, u64)) -> (String, u64) {
    let mut results: Vec<Value> = std::fs::read_dir(pages)
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .filter(|p| p["status"] == "ok")
        .collect();
    results.sort_by_key(|p| p["page"].as_u64());
    let mut past = false;
    for p in &results {
        for r in p["records"].as_array().unwrap() {
            let here = (p["name"].as_str().unwrap(), r["row"].as_u64().unwrap());
            if past {
                let doubtful =
                    r["fields"].as_object().unwrap().values().any(|f| {
                        f["flags"].as_array().unwrap().iter().any(|x| x != "empty") && f.get("review").is_none()
                    });
                if doubtful {
                    return (here.0.to_string(), here.1);
                }
            }
            past |= here == from;
        }
    }
    panic!("no doubtful record after {from:?}");
}

fn csv_rows(out: &Path) -> Vec<Vec<String>> {
    book_csv_rows(&out.join("ks-1983"))
}

/// The rows of a book's `records.csv`, header first (a value in quotes may hold commas).
fn book_csv_rows(book: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(book.join("records.csv")).unwrap();
    text.trim_start_matches('\u{feff}').lines().map(csv_cells).collect()
}

#[test]
fn review_server_refuses_strangers_stays_in_the_book_and_loses_nothing_when_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = processed_samples(tmp.path());
    let server = Server::start(&out, "lan");
    let port = server.port();

    // The token is required for every piece of data; the screen itself (no data, no
    // token in it) opens without one, so that links into it work.
    assert_eq!(status_of(ureq::get(&format!("{}/api/books", server.base)).call()), 401);
    assert_eq!(
        status_of(ureq::get(&format!("{}/api/books?token=0000", server.base)).call()),
        401
    );
    assert_eq!(
        status_of(ureq::get(&format!("{}/api/page?book=ks-1983&page=trang-1", server.base)).call()),
        401
    );
    assert_eq!(
        status_of(ureq::get(&format!("{}/api/image?book=ks-1983&page=trang-1", server.base)).call()),
        401
    );
    let bare = ureq::get(&format!("{}/", server.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(!bare.contains(&server.token) && bare.contains("app.js"));
    let index = ureq::get(&server.url).call().unwrap();
    assert_eq!(index.status(), 200);
    let csp = index.header("Content-Security-Policy").unwrap_or_default().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!index.into_string().unwrap().contains(&server.token));

    // Client paths never reach the file system.
    let t = &server.token;
    for path in [
        format!("/api/image?token={t}&book=ks-1983&page=../../../../etc/passwd"),
        format!("/api/image?token={t}&book=..&page=trang-1"),
        format!("/api/image?token={t}&book=ks-1983%2F..%2F..&page=trang-1"),
        format!("/../../../../etc/passwd?token={t}"),
        format!("/ks-1983/pages/trang-1.json?token={t}"),
    ] {
        let (code, body) = raw_get(port, &path, &format!("127.0.0.1:{port}"));
        assert_eq!(code, 404, "{path}: {body}");
        assert!(!body.contains("root:"), "{path}");
    }
    let (code, _) = raw_get(
        port,
        &format!("/api/image?token={t}&book=ks-1983&page=trang-1"),
        "localhost",
    );
    assert_eq!(code, 200);
    // A page elsewhere that rebinds its name to 127.0.0.1 is refused.
    let (code, _) = raw_get(port, &format!("/api/books?token={t}"), "evil.example:80");
    assert_eq!(code, 403);
    // A second server on the same folder refuses to start.
    let second = sohoa().args(["review", "--port", "0"]).arg(&out).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains(".sohoa-review.lock"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let (code, _) = raw_get(
        port,
        &format!("/api/books?token={t}"),
        &format!("127.0.0.1.evil.example:{port}"),
    );
    assert_eq!(code, 403, "a name that only starts like a loopback address");
    // Only loopback listens.
    if let Some(ip) = outside_address() {
        assert!(
            TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2)).is_err(),
            "the server answers on {ip}"
        );
    }

    // A correction typed as decomposed Unicode, then the server is killed at once.
    let nfd = "Đa\u{306}\u{323}ng Thi\u{323} Ma\u{300}i";
    let resp: Value = ureq::post(&server.api("/api/change", "book=ks-1983"))
        .send_json(json!({"page": "trang-1", "kind": "field", "row": 2, "field": "nksHoTen", "value": nfd}))
        .unwrap()
        .into_json()
        .unwrap();
    let ocr_value = resp["page"]["records"][1]["fields"]["nksHoTen"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    // Changes the page cannot take are refused with a reason, and not journaled.
    let bad = ureq::post(&server.api("/api/change", "book=ks-1983"))
        .send_json(json!({"page": "trang-1", "kind": "status", "status": "not_eligible", "reason": ""}));
    assert_eq!(status_of(bad), 422);
    let long = "x".repeat(40_000);
    let bad = ureq::post(&server.api("/api/change", "book=ks-1983"))
        .send_json(json!({"page": "trang-1", "kind": "field", "row": 2, "field": "nksHoTen", "value": long}));
    assert_eq!(status_of(bad), 422, "a value longer than any field");
    // A page of another site cannot post, token or not.
    let bad = ureq::post(&server.api("/api/change", "book=ks-1983"))
        .set("Origin", "http://evil.example")
        .send_json(json!({"page": "trang-1", "kind": "field", "row": 2, "field": "nksHoTen", "value": "Lê Văn X"}));
    assert_eq!(status_of(bad), 403);
    server.kill();

    let journal = std::fs::read_to_string(out.join("ks-1983/review.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    let server = Server::start(&out, "lan");
    let page: Value = ureq::get(&server.api("/api/page", "book=ks-1983&page=trang-1"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let f = &page["records"][1]["fields"]["nksHoTen"];
    assert_eq!(f["final_value"], "Đặng Thị Mài");
    assert_eq!(f["review"]["by"], "lan");
    assert_eq!(
        f["value"],
        ocr_value.as_str(),
        "the OCR's value is kept beside the correction"
    );
    let on_disk = read_json(&out.join("ks-1983/pages/trang-1.json"));
    assert_eq!(
        on_disk["records"][1]["fields"]["nksHoTen"]["review"]["value"],
        "Đặng Thị Mài"
    );
    server.kill();

    // Processing again reads no page but exports the reviewed value.
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let rows = csv_rows(&out);
    let col = rows[0].iter().position(|c| c == "nksHoTen").unwrap();
    assert_eq!(rows[2][col], "Đặng Thị Mài");
    assert_eq!(read_json(&out.join("report.json"))["pages_processed"], 0);
}

/// Sends raw bytes and reads the whole answer (the server closes after one).
fn raw_exchange(port: u16, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(request).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn post_change(server: &Server, token: &str, change: Value) -> (u16, Value) {
    let url = format!("{}/api/change?token={token}&book=ks-1983", server.base);
    match ureq::post(&url).send_json(change) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

const LAN: &str = "lan-0123456789abcdef";
const BINH: &str = "binh-0123456789abcdef";

#[test]
fn review_server_for_a_team_signs_each_change_detects_conflicts_and_no_client_stalls_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = processed_samples(tmp.path());
    let users = tmp.path().join("users.txt");
    std::fs::write(&users, format!("# the team\nLan: {LAN}\nBình: {BINH}\nChi\n")).unwrap();
    let users_arg = users.to_str().unwrap();
    let server = Server::start_with(&out, &["--port", "0", "--users", users_arg, "--request-timeout", "6"]);
    let port = server.port();
    assert_eq!(server.officers.len(), 3);
    assert_eq!(server.token_of("Lan"), LAN);
    assert_eq!(server.token_of("Chi").len(), 32, "a name alone gets a random token");

    // Each change is signed with the officer whose token sent it.
    let field = |value: &str, f: &str, base: u64| json!({"page": "trang-1", "kind": "field", "row": 1, "field": f, "value": value, "base": base});
    let (code, lan) = post_change(&server, LAN, field("Trần Thị Lan", "nksHoTen", 0));
    assert_eq!(code, 200);
    assert_eq!(lan["page"]["records"][0]["version"], 1);
    assert_eq!(lan["page"]["records"][0]["fields"]["nksHoTen"]["review"]["by"], "Lan");
    // Bình opened the record before Lan's change: the same field is a conflict, with
    // Lan's value; another field of the record goes through.
    let (code, conflict) = post_change(&server, BINH, field("Trần Thị Bình", "nksHoTen", 0));
    assert_eq!(code, 409, "{conflict}");
    assert_eq!(conflict["code"], "conflict");
    assert_eq!(conflict["conflict"]["by"], "Lan");
    assert_eq!(conflict["conflict"]["value"], "Trần Thị Lan");
    assert_eq!(
        conflict["page"]["records"][0]["fields"]["nksHoTen"]["final_value"],
        "Trần Thị Lan"
    );
    let (code, _) = post_change(&server, BINH, field("Huế", "nksNoiSinh", 0));
    assert_eq!(code, 200, "a change of another field is no conflict");
    // Confirming a record changed unseen is a conflict too; once seen, it goes through.
    let accept = |base: u64| json!({"page": "trang-1", "kind": "accept", "row": 1, "accepted": true, "base": base});
    assert_eq!(post_change(&server, LAN, accept(1)).0, 409, "Bình changed the record");
    assert_eq!(post_change(&server, LAN, accept(2)).0, 200);
    // Having seen Lan's value, Bình may overwrite it.
    let (code, _) = post_change(&server, BINH, field("Trần Thị Bình", "nksHoTen", 3));
    assert_eq!(code, 200);
    let journal: Vec<Value> = std::fs::read_to_string(out.join("ks-1983/review.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by: Vec<&str> = journal.iter().map(|e| e["by"].as_str().unwrap()).collect();
    assert_eq!(by, ["Lan", "Bình", "Lan", "Bình"], "refused changes are not journaled");

    // Who is where, and what each has done.
    let presence = |token: &str| -> Value {
        ureq::post(&format!("{}/api/presence?token={token}&book=ks-1983", server.base))
            .send_json(json!({"page": "trang-1", "row": 1}))
            .unwrap()
            .into_json()
            .unwrap()
    };
    presence(BINH);
    let seen = presence(LAN);
    assert_eq!(
        seen["others"],
        json!([{"by": "Bình", "book": "ks-1983", "page": "trang-1", "row": 1}])
    );
    assert_eq!(seen["versions"][0], json!({"row": 1, "version": 4}));
    let team: Value = ureq::get(&format!("{}/api/team?token={LAN}", server.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let officers = &team["books"][0]["officers"];
    assert_eq!(
        (officers["Lan"]["fields"].as_u64(), officers["Lan"]["accepted"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(officers["Bình"]["fields"], 2);
    assert_eq!(team["books"][0]["progress"]["accepted"], 1);

    // A client that promises a body and never sends it holds up nobody…
    let host = format!("127.0.0.1:{port}");
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stalled,
        "POST /api/change?token={LAN}&book=ks-1983 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 500\r\n\r\n{{"
    )
    .unwrap();
    let quick = ureq::AgentBuilder::new().timeout(Duration::from_millis(4500)).build();
    let answer = quick.get(&format!("{}/api/books?token={BINH}", server.base)).call();
    assert_eq!(status_of(answer), 200, "answered while another client stalls");
    // …and is dropped once its time is up (6 s here), with nothing applied.
    stalled.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = String::new();
    let _ = stalled.read_to_string(&mut got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    // Over-long heads and bodies are refused before they are read.
    let big = raw_exchange(
        port,
        format!(
            "POST /api/change?token={LAN}&book=ks-1983 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 10000000\r\n\r\n"
        )
        .as_bytes(),
        Duration::from_secs(5),
    );
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    server.kill();

    let server = Server::start_with(&out, &["--port", "0", "--users", users_arg, "--max-connections", "4"]);
    let (port, host) = (server.port(), format!("127.0.0.1:{}", server.port()));
    // With at most 4 connections (and 10 s to send a request), a flood of idle connections is answered "busy" past the limit, and the server
    // serves again once they go.
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let busy = raw_exchange(
        port,
        format!("GET /api/books?token={LAN} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        Duration::from_secs(5),
    );
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    drop(idle);
    let start = Instant::now();
    while status_of(ureq::get(&format!("{}/api/books?token={LAN}", server.base)).call()) != 200 {
        assert!(start.elapsed() < Duration::from_secs(10), "the server serves again");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();

    // Beyond loopback: officers and TLS are required.
    let open = sohoa()
        .args(["review", "--bind", "0.0.0.0", "--port", "0"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(open.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&open.stderr).contains("--users"));
    let bad_cert = sohoa()
        .args([
            "review",
            "--port",
            "0",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(bad_cert.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_cert.stderr).contains("/nonexistent/c.pem"));

    // TLS with a generated certificate: its fingerprint is printed, a client that trusts
    // it is served, and plain HTTP gets nothing.
    let server = Server::start_with(&out, &["--port", "0", "--users", users_arg, "--tls"]);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    let pem = std::fs::read(out.join(".sohoa-review-tls/cert.pem")).unwrap();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    let fingerprint: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    assert!(
        server.said.contains(&fingerprint),
        "fingerprint printed: {}",
        server.said
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let agent = ureq::AgentBuilder::new()
        .tls_config(std::sync::Arc::new(config))
        .build();
    let resp = agent
        .get(&format!("{}/api/books?token={BINH}", server.base))
        .call()
        .unwrap();
    assert!(resp.header("Strict-Transport-Security").is_some());
    let books: Value = resp.into_json().unwrap();
    assert_eq!(books["user"], "Bình");
    let plain = raw_exchange(
        server.port(),
        format!("GET /api/books?token={LAN} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        Duration::from_secs(5),
    );
    assert!(!plain.contains("200 OK") && !plain.contains("ks-1983"), "{plain}");
}

/// A chromedriver and one headless Chromium session, ended when dropped.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start() -> Browser {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is missing: `scripts/setup --test` installs chromium and chromium-driver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,900", "--lang=vi", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let resp: Value = ureq::post(&format!("{base}/session"))
            .send_json(caps)
            .map_err(|e| match e {
                ureq::Error::Status(_, r) => r.into_string().unwrap_or_default(),
                e => e.to_string(),
            })
            .expect("a Chromium session starts")
            .into_json()
            .unwrap();
        let session = resp["value"]["sessionId"].as_str().unwrap().to_string();
        Browser {
            driver,
            base,
            session,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = ureq::request(method, &url);
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "WebDriver {method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("{css}: {v}")).to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Types into the element that has the focus (keys as WebDriver key codes).
    fn keys(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    fn value(&self, css: &str) -> String {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/property/value"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `script` returns true.
    fn wait(&self, script: &str, what: &str) {
        let start = Instant::now();
        while self.js(script) != json!(true) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn resize(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const CTRL: &str = "\u{E009}";
const ENTER: &str = "\u{E007}";
const F2: &str = "\u{E032}";
const F4: &str = "\u{E034}";
const BACKSPACE_ALL: &str = "\u{E009}a\u{E000}\u{E003}"; // Ctrl+A, release, Backspace

#[test]
fn review_screen_in_chromium_corrects_accepts_flags_a_page_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = processed_samples(tmp.path());
    let server = Server::start(&out, "lan");
    let b = Browser::start();
    let shots = std::env::var_os("SOHOA_SCREENSHOTS").map(PathBuf::from);

    b.goto(&server.url);
    b.wait("return document.body.dataset.ready === 'yes'", "the screen to load");
    // The first page opens on its first record, the cursor in its first field.
    assert!(b.js("return location.hash").as_str().unwrap().ends_with("/trang-1/1"));
    assert_eq!(b.js("return document.activeElement.id"), "f-so");
    assert_eq!(b.js("return document.querySelectorAll('#boxes rect.row').length"), 10);
    assert_eq!(b.js("return document.querySelectorAll('#pages button').length"), 4);

    // Correct the name: Enter moves to the next field and saves.
    let name = "Hoàng Thu Hợp Đã Sửa";
    b.keys("#f-so", ENTER);
    assert_eq!(b.js("return document.activeElement.id"), "f-nksHoTen");
    b.keys("#f-nksHoTen", BACKSPACE_ALL);
    b.keys("#f-nksHoTen", name);
    b.keys("#f-nksHoTen", ENTER);
    assert_eq!(b.js("return document.activeElement.id"), "f-nksNgaySinh");
    b.wait(
        "return document.querySelector('.field[data-field=nksHoTen]').classList.contains('corrected')",
        "the correction to be saved",
    );
    if let Some(dir) = &shots {
        std::fs::create_dir_all(dir).unwrap();
        b.screenshot(&dir.join("review-correct.png"));
    }
    // Accept the record: the next one opens.
    b.keys("#f-nksNgaySinh", &format!("{CTRL}{ENTER}"));
    b.wait("return location.hash.endsWith('/trang-1/2')", "the next record");
    b.wait(
        "return document.getElementById('progress').dataset.accepted === '1'",
        "the progress count",
    );

    // F2: the next record that needs attention, wherever it is.
    let target = next_doubtful(&out.join("ks-1983/pages"), ("trang-1", 2));
    b.keys("#f-so", F2);
    b.wait(
        &format!("return location.hash.endsWith('/{}/{}')", target.0, target.1),
        "the next doubtful record",
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#fields .field.doubtful').length > 0"),
        json!(true)
    );
    if let Some(dir) = &shots {
        b.screenshot(&dir.join("review-doubtful.png"));
    }

    // Page 3 is not eligible (with a reason), from the keyboard.
    b.click("#pages button[data-page='trang-3']");
    b.wait("return location.hash.includes('/trang-3/')", "page 3");
    b.keys("#f-so", F4);
    b.wait(
        "return document.getElementById('reason-dialog').open",
        "the reason dialog",
    );
    b.keys("#reason", "Ố, bẩn che mất chữ");
    b.keys("#reason", ENTER);
    b.wait(
        "return document.querySelector('#page-info .status').classList.contains('not_eligible')",
        "page 3 to be not eligible",
    );

    // Reload page 1, record 1: everything is still there.
    b.goto(&format!("{}#ks-1983/trang-1/1", server.url));
    b.call("POST", "/refresh", Some(json!({})));
    b.wait("return document.body.dataset.ready === 'yes'", "the screen to reload");
    assert_eq!(b.value("#f-nksHoTen"), name);
    assert_eq!(
        b.js("return document.getElementById('record-head').dataset.accepted"),
        "yes"
    );
    assert_eq!(b.js("return document.getElementById('progress').dataset.accepted"), "1");
    assert_eq!(
        b.js("return document.querySelector(\"#pages button[data-page='trang-3']\").className"),
        "not_eligible"
    );

    // Export: the spreadsheet and CSV take the reviewed values; page 3's rows leave.
    let (rows, col) = export_from_screen(&b, &out);
    assert_eq!(rows[1][col], name);
    assert_eq!(rows.len(), 1 + 10 + 10, "header + pages 1 and 2");
    let xlsx = std::fs::read(out.join("ks-1983/records.xlsx")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_string(&mut strings)
        .unwrap();
    assert!(strings.contains(name) && strings.contains("đã duyệt") && strings.contains("lan"));
    // The manifest follows the rewritten files.
    let check = Command::new("sha256sum")
        .args(["-c", "--quiet", "manifest.sha256"])
        .current_dir(out.join("ks-1983"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    // Who did what, with the OCR's text kept.
    let p1 = read_json(&out.join("ks-1983/pages/trang-1.json"));
    assert_eq!(p1["records"][0]["accepted"]["by"], "lan");
    assert_eq!(p1["records"][0]["fields"]["nksHoTen"]["value"], "Hoàng Thu Hợp");
    let p3 = read_json(&out.join("ks-1983/pages/trang-3.json"));
    assert_eq!(p3["review"]["status"], "not_eligible");
    assert_eq!(p3["review"]["reason"], "Ố, bẩn che mất chữ");
    assert_eq!(p3["status"], "ok", "the pipeline's verdict is kept");
}

/// Clicks "Export" and waits for it; the CSV's rows and the name's column.
fn export_from_screen(b: &Browser, out: &Path) -> (Vec<Vec<String>>, usize) {
    export_book_from_screen(b, &out.join("ks-1983"), "nksHoTen")
}

/// Clicks "Export" and waits for it; the rows of `book`'s CSV and the index of `column`.
fn export_book_from_screen(b: &Browser, book: &Path, column: &str) -> (Vec<Vec<String>>, usize) {
    b.click("#export");
    b.wait(
        "return document.getElementById('save-state').textContent.startsWith('Đã xuất')",
        "the export",
    );
    let rows = book_csv_rows(book);
    let col = rows[0].iter().position(|c| c == column).unwrap();
    (rows, col)
}

/// Focuses each field of the open record in turn; the fields a click at their centre
/// would not reach (something lies over them).
const HIDDEN_FIELDS: &str = "const hidden = [];
for (const i of document.querySelectorAll('#fields input')) {
  i.focus();
  const r = i.getBoundingClientRect();
  if (document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) !== i) hidden.push(i.id);
}
return hidden;";

#[test]
fn review_screen_for_two_officers_shows_a_conflict_and_keeps_a_change_queued_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = processed_samples(tmp.path());
    let users = tmp.path().join("users.txt");
    std::fs::write(&users, format!("Lan: {LAN}\nBình: {BINH}\n")).unwrap();
    let server = Server::start_with(&out, &["--port", "0", "--users", users.to_str().unwrap()]);
    let port = server.port().to_string();
    let shots = std::env::var_os("SOHOA_SCREENSHOTS").map(PathBuf::from);
    let (a, b) = (Browser::start(), Browser::start());
    b.resize(1280, 640);
    a.goto(&server.officers[0].1);
    b.goto(&server.officers[1].1);
    for x in [&a, &b] {
        x.wait("return document.body.dataset.ready === 'yes'", "the screen to load");
        assert!(x.js("return location.hash").as_str().unwrap().ends_with("/trang-1/1"));
    }
    assert_eq!(
        b.js("return document.getElementById('user').textContent"),
        "Người duyệt: Bình"
    );
    // Each sees that the other has the same record open.
    a.wait(
        "return document.getElementById('record-head').dataset.others === 'Bình'",
        "Lan to see Bình",
    );
    b.wait(
        "return document.getElementById('record-head').dataset.others === 'Lan'",
        "Bình to see Lan",
    );
    // A coded field shows what its code means.
    let sex = b.js("return document.querySelector('.field[data-field=nksGioiTinh] .code-label').textContent");
    let sex = sex.as_str().unwrap();
    assert!(
        ["1 — Nam", "2 — Nữ"].contains(&sex),
        "sex shown with its label: {sex:?}"
    );
    // On a short window, no field is ever left under the buttons.
    assert_eq!(b.js(HIDDEN_FIELDS), json!([]), "fields hidden on a 1280×640 window");

    // The server stops; both officers correct the same name. Their changes wait.
    server.kill();
    for (x, name) in [(&a, "Lan Sửa"), (&b, "Bình Sửa")] {
        x.js("document.getElementById('f-nksHoTen').focus()");
        x.keys("#f-nksHoTen", BACKSPACE_ALL);
        x.keys("#f-nksHoTen", name);
        x.keys("#f-nksHoTen", ENTER);
        x.wait(
            "return document.getElementById('save-state').className === 'failed'",
            "the change to wait for the server",
        );
        assert_eq!(
            x.js("return JSON.parse(localStorage.getItem('sohoa-pending-' + location.host)).length"),
            1
        );
    }

    // It comes back on the same port, Bình with a new token: Lan's change lands by
    // itself; Bình's screen asks for the new address and keeps the change.
    const BINH2: &str = "binh-new-0123456789abcdef";
    std::fs::write(&users, format!("Lan: {LAN}\nBình: {BINH2}\n")).unwrap();
    let server = Server::start_with(&out, &["--port", &port, "--users", users.to_str().unwrap()]);
    a.wait(
        "return document.getElementById('save-state').textContent.startsWith('Đã lưu')",
        "Lan's change to land",
    );
    b.wait(
        "return document.getElementById('login-dialog').open",
        "the new address to be asked for",
    );
    assert_eq!(b.js("return document.getElementById('login-pending').textContent"), "1");
    b.keys("#login-url", &server.officers[1].1);
    b.keys("#login-url", ENTER);
    // Bình's change now meets Lan's: both values are shown, Bình keeps theirs.
    b.wait("return document.getElementById('conflict-dialog').open", "the conflict");
    assert_eq!(
        b.js("return document.getElementById('conflict-who').textContent"),
        "Lan"
    );
    assert_eq!(
        b.js("return document.getElementById('conflict-theirs').textContent"),
        "Lan Sửa"
    );
    assert_eq!(
        b.js("return document.getElementById('conflict-mine').textContent"),
        "Bình Sửa"
    );
    if let Some(dir) = &shots {
        std::fs::create_dir_all(dir).unwrap();
        b.screenshot(&dir.join("review-conflict.png"));
    }
    b.click("#conflict-keep");
    b.wait(
        "return document.getElementById('save-state').textContent.startsWith('Đã lưu')",
        "Bình's change to land",
    );
    assert!(b.js("return location.search").as_str().unwrap().contains(BINH2));
    // Lan's screen takes Bình's value when it next looks.
    a.wait(
        "return document.getElementById('f-nksHoTen').value === 'Bình Sửa'",
        "Lan to see Bình's value",
    );

    // Both edits are in the journal, signed; the export has the last.
    let journal = std::fs::read_to_string(out.join("ks-1983/review.jsonl")).unwrap();
    let entries: Vec<Value> = journal.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["by"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("Lan", "Lan Sửa"), ("Bình", "Bình Sửa")]);
    let (rows, col) = export_from_screen(&b, &out);
    assert_eq!(rows[1][col], "Bình Sửa");

    // The team lead's view: each officer's work.
    a.click("#team");
    a.wait("return document.getElementById('team-dialog').open", "the team view");
    let table = a.js("return document.getElementById('team-table').textContent");
    assert!(
        table.as_str().unwrap().contains("Bình") && table.as_str().unwrap().contains("Lan"),
        "{table}"
    );
    if let Some(dir) = &shots {
        a.screenshot(&dir.join("review-team.png"));
    }
    a.click("#team-close");

    // A page that is not eligible says why in Vietnamese, from its reason codes.
    let pages: Vec<Value> = std::fs::read_dir(out.join("ks-1983/pages"))
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .collect();
    let ne = pages
        .iter()
        .find(|p| p["status"] == "not_eligible")
        .expect("a not-eligible sample page");
    let vi = ne["reason_codes"][0]["vi"].as_str().unwrap().to_string();
    assert!(!ne["reason_codes"][0]["code"].as_str().unwrap().is_empty());
    a.click(&format!("#pages button[data-page='{}']", ne["name"].as_str().unwrap()));
    a.wait(
        "return !document.getElementById('page-message').hidden",
        "the page's message",
    );
    let msg = a.js("return document.getElementById('page-message').textContent");
    assert!(msg.as_str().unwrap().contains(&vi), "{msg} / {vi}");

    // A link of the book checks' report (no token in it) opens the record with what the
    // checks found on it.
    let checks = read_json(&out.join("ks-1983/checks.json"));
    let f = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["at"]["row"].is_u64())
        .expect("a finding on a record of the sample book");
    let (page, row) = (f["at"]["page"].as_str().unwrap(), f["at"]["row"].as_u64().unwrap());
    let html = std::fs::read_to_string(out.join("checks.html")).unwrap();
    assert!(html.contains(&format!("#ks-1983/{page}/{row}\"")));
    a.goto(&format!("{}/#ks-1983/{page}/{row}", server.base));
    a.call("POST", "/refresh", Some(json!({})));
    a.wait(
        "return document.body.dataset.ready === 'yes'",
        "the screen to open from the link",
    );
    let shown = a.js(
        "return Array.from(document.querySelectorAll('#record-head .finding')).map((e) => e.textContent).join('|')",
    );
    assert!(
        shown.as_str().unwrap().contains(f["vi"].as_str().unwrap()),
        "{shown} / {f}"
    );
    drop(server);
}

/// A form page of 2018 with its tick boxes: the registration type's field shows what its
/// code means, offers the codes as the officer types, warns of a code outside the list,
/// and the code typed is the one exported.
#[test]
fn review_screen_shows_and_offers_a_tick_fields_codes() {
    use sohoa::synth::{render_page, FormStyle, PageSpec};
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("ks-2018");
    std::fs::create_dir_all(&book).unwrap();
    let spec = PageSpec {
        form: Some(FormStyle::default()),
        year: 2018,
        ..PageSpec::ledger("form.png", 150.0, 62)
    };
    let (img, truth) = render_page(&spec).unwrap();
    std::fs::write(
        book.join("form.png"),
        sohoa::encode::page_file(&img, "form.png", Some(150.0)),
    )
    .unwrap();
    let ticked = truth.records[0]["loaiDangKy"].value.clone();
    assert!(!ticked.is_empty(), "the form has a box ticked");
    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &["--no-record-pdfs"], &[]);
    let page = read_json(&out.join("ks-2018/pages/form.json"));
    assert_eq!(page["records"][0]["fields"]["loaiDangKy"]["value"], ticked.as_str());

    let server = Server::start(&out, "lan");
    let b = Browser::start();
    b.goto(&server.url);
    b.wait("return document.body.dataset.ready === 'yes'", "the screen to load");
    let label = "return document.querySelector('.field[data-field=loaiDangKy] .code-label').textContent";
    let meaning = match ticked.as_str() {
        "1" => "Đăng ký đúng hạn",
        "2" => "Đăng ký lại",
        "4" => "Đăng ký quá hạn",
        other => panic!("a box of code {other}"),
    };
    assert_eq!(b.js(label), format!("{ticked} — {meaning}"));
    // The browser offers every code of the list with what it means.
    let offered = b.js(
        "return Array.from(document.getElementById('f-loaiDangKy').list.options).map((o) => o.value + ' ' + o.label)",
    );
    let offered: Vec<&str> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(offered.len(), 6, "{offered:?}");
    assert!(offered.contains(&"6 Không xác định"), "{offered:?}");
    // A code outside the list is pointed out as typed; a code of the list is saved and
    // exported.
    b.js("document.getElementById('f-loaiDangKy').focus()");
    b.keys("#f-loaiDangKy", BACKSPACE_ALL);
    b.keys("#f-loaiDangKy", "9");
    assert!(b.js(label).as_str().unwrap().starts_with("9 — mã không hợp lệ"));
    b.keys("#f-loaiDangKy", BACKSPACE_ALL);
    b.keys("#f-loaiDangKy", "2");
    assert_eq!(b.js(label), "2 — Đăng ký lại");
    b.keys("#f-loaiDangKy", ENTER);
    b.wait(
        "return document.querySelector('.field[data-field=loaiDangKy]').classList.contains('corrected')",
        "the code to be saved",
    );
    let (rows, col) = export_book_from_screen(&b, &out.join("ks-2018"), "loaiDangKy");
    assert_eq!(rows[1][col], "2");
}

/// A marriage book processed with no type given: the screen shows each spouse's fields
/// under their band's heading, in the book's order, and exports the marriage template.
#[test]
fn review_screen_groups_a_marriage_books_fields_by_spouse() {
    use sohoa::synth::{render_page, PageSpec, SynthBook};
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("kh-1990");
    std::fs::create_dir_all(&book).unwrap();
    let spec = PageSpec {
        book: SynthBook::Kh,
        records: 3,
        ..PageSpec::ledger("trang-1.png", 200.0, 81)
    };
    let (img, truth) = render_page(&spec).unwrap();
    std::fs::write(
        book.join("trang-1.png"),
        sohoa::encode::page_file(&img, "trang-1.png", Some(200.0)),
    )
    .unwrap();
    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &["--no-record-pdfs"], &[]);

    let server = Server::start(&out, "lan");
    let b = Browser::start();
    b.goto(&server.url);
    b.wait("return document.body.dataset.ready === 'yes'", "the screen to load");
    b.wait(
        "return document.querySelectorAll('.field-group').length > 0",
        "the fields",
    );
    // The headings and the first field under each.
    let groups = b.js(
        "return Array.from(document.querySelectorAll('.field-group')).map((g) => g.textContent + ' ' + g.nextElementSibling.dataset.field)",
    );
    assert_eq!(groups, serde_json::json!(["Bên chồng chongHoTen", "Bên vợ voHoTen"]));
    let label = b.js("return document.querySelector('.field[data-field=voHoTen] label').textContent");
    assert!(label.as_str().unwrap().starts_with("Họ và tên"), "{label}");
    let value = b.js("return document.getElementById('f-voHoTen').value");
    assert_eq!(value, truth.records[0]["voHoTen"].value.as_str());
    let (rows, col) = export_book_from_screen(&b, &out.join("kh-1990"), "voHoTen");
    let mut want = vec!["STT".to_string()];
    want.extend(
        sohoa::template::Vocabulary::builtin()
            .export_columns("kh")
            .unwrap()
            .iter()
            .cloned(),
    );
    assert_eq!(rows[0], want);
    assert_eq!(rows[1][col], truth.records[0]["voHoTen"].value);
    // The team's view counts the books and records of each type.
    b.click("#team");
    b.wait("return document.getElementById('team-dialog').open", "the team view");
    let by_type = b.js(
        "return Array.from(document.querySelectorAll('#team-table tr.book-type')).map((r) => r.cells[0].textContent + ' ' + r.cells[3].textContent)",
    );
    assert_eq!(
        by_type,
        serde_json::json!([format!("Sổ kết hôn: 1 sổ 0/{}", truth.records.len())])
    );
}

/// A synthetic book of two 150-dpi pages in `dir/in/b` and another scan of its first page
/// (`dir/alt.tif`), processed into `dir/out`; returns (input book folder, out).
fn small_book(dir: &Path) -> (PathBuf, PathBuf) {
    for (name, seed) in [("in", "3"), ("other", "4")] {
        run_ok(
            sohoa()
                .args([
                    "synth", "--book", "b", "--set", "varied", "--pages", "2", "--dpi", "150", "--seed", seed,
                ])
                .arg("--out")
                .arg(dir.join(name)),
        );
    }
    std::fs::copy(dir.join("other/books/b/trang-1.tif"), dir.join("alt.tif")).unwrap();
    let out = dir.join("out");
    process_into(&dir.join("in/books"), &out, &["--no-record-pdfs", "--jobs", "2"], &[]);
    (dir.join("in/books/b"), out)
}

/// POSTs `body` to the API `path` for book `b`: status and answer.
fn post_api(server: &Server, path: &str, body: Value) -> (u16, Value) {
    match ureq::post(&server.api(path, "book=b")).send_json(body) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

/// The page as the review screen gets it.
fn api_page(server: &Server, page: &str) -> Value {
    ureq::get(&server.api("/api/page", &format!("book=b&page={page}")))
        .call()
        .unwrap()
        .into_json()
        .unwrap()
}

/// An officer's correction of the first record's name on `page` as seen (`seen`).
fn name_change(seen: &Value, value: &str, with_sha: bool) -> Value {
    let rec = &seen["records"][0];
    let mut c = json!({ "page": seen["name"], "kind": "field", "row": rec["row"], "field": "nksHoTen", "value": value, "base": rec["version"] });
    if with_sha {
        c["sha256"] = seen["sha256"].clone();
    }
    c
}

/// The scan file `path`'s SHA-256, as page results name their source.
fn file_sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Swaps the book's first scan with the other one kept beside it.
fn swap_first_scan(book: &Path, dir: &Path) {
    let (scan, alt, tmp) = (book.join("trang-1.tif"), dir.join("alt.tif"), dir.join("swap.tif"));
    std::fs::rename(&scan, &tmp).unwrap();
    std::fs::rename(&alt, &scan).unwrap();
    std::fs::rename(&tmp, &alt).unwrap();
}

/// `records.csv` of book `b`, as bytes.
fn csv_bytes(out: &Path) -> Vec<u8> {
    std::fs::read(out.join("b/records.csv")).unwrap()
}

#[test]
fn a_change_on_a_page_read_again_while_review_serves_is_refused_and_no_stale_page_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (book, out) = small_book(tmp.path());
    let server = Server::start(&out, "lan");
    let (a, b) = (api_page(&server, "trang-1"), api_page(&server, "trang-2"));
    // A scan replaced and read again while the server holds the page as it was.
    swap_first_scan(&book, tmp.path());
    process_into(book.parent().unwrap(), &out, &["--no-record-pdfs", "--jobs", "2"], &[]);
    let new_sha = file_sha256(&book.join("trang-1.tif"));
    assert_ne!(a["sha256"], new_sha);
    // A change made on the page as it was: refused, with the page as it is now, whether
    // the screen says which scan it saw or not.
    for with_sha in [false, true] {
        let (code, answer) = post_api(&server, "/api/change", name_change(&a, "Lê Văn Cũ", with_sha));
        assert_eq!(code, 409, "{}", answer["code"]);
        assert_eq!(answer["code"], "page_reread");
        assert_eq!(answer["page"]["sha256"], new_sha.as_str());
    }
    let on_disk = read_json(&out.join("b/pages/trang-1.json"));
    assert_eq!(
        on_disk["sha256"],
        new_sha.as_str(),
        "the server wrote back the page as it was"
    );
    assert!(!std::fs::read_to_string(out.join("b/review.jsonl"))
        .unwrap_or_default()
        .contains("Lê Văn Cũ"));
    // A change on a page not read again is saved, and Export gives what process gives.
    let (code, answer) = post_api(&server, "/api/change", name_change(&b, "Trần Thị Mới", true));
    assert_eq!(code, 200, "{}", answer["code"]);
    // A value is what its field can hold, in the export's form.
    let b = api_page(&server, "trang-2");
    let mut date = name_change(&b, "=1+1", true);
    date["field"] = json!("nksNgaySinh");
    let (code, answer) = post_api(&server, "/api/change", date.clone());
    assert_eq!((code, answer["code"].as_str()), (422, Some("bad_value")));
    assert!(answer["vi"].as_str().unwrap().contains("ngày"), "{answer}");
    date["value"] = json!("4/2/1983");
    let (code, answer) = post_api(&server, "/api/change", date);
    assert_eq!(code, 200, "{}", answer["code"]);
    assert_eq!(
        answer["page"]["records"][0]["fields"]["nksNgaySinh"]["final_value"],
        "04.02.1983"
    );
    // Wrong tokens are logged and answered ever later.
    let wrong = format!("{}/api/books?token=0123456789abcdefXYZ", server.base);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let t = Instant::now();
        assert_eq!(status_of(ureq::get(&wrong).call()), 401);
        waits.push(t.elapsed());
    }
    assert!(
        waits[3] >= Duration::from_millis(1900) && waits[3] > waits[0],
        "{waits:?}"
    );
    assert!(
        server
            .stderr()
            .contains("refused a wrong token from 127.0.0.1 (4 in a row"),
        "{}",
        server.stderr()
    );
    // The right token still gets in at once, and starts the count again.
    let t = Instant::now();
    assert_eq!(status_of(ureq::get(&server.api("/api/books", "")).call()), 200);
    assert!(t.elapsed() < Duration::from_millis(1500));
    let (code, answer) = post_api(&server, "/api/export", json!({}));
    assert_eq!(code, 200, "{}", answer["code"]);
    let exported = csv_bytes(&out);
    process_into(book.parent().unwrap(), &out, &["--no-record-pdfs", "--jobs", "2"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&csv_bytes(&out)),
        String::from_utf8_lossy(&exported)
    );
    assert!(String::from_utf8_lossy(&exported).contains("Trần Thị Mới"));
    let rows = String::from_utf8_lossy(&exported).lines().count() - 1;
    let records: usize = ["trang-1", "trang-2"]
        .iter()
        .map(|p| {
            read_json(&out.join(format!("b/pages/{p}.json")))["records"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(rows, records);
    // A journal line cut short by a crash is said, not dropped without a word.
    drop(server);
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("b/review.jsonl"))
        .unwrap();
    journal
        .write_all(br#"{"at":"2026-12-07T00:00:00Z","by":"lan","pa"#)
        .unwrap();
    let run = sohoa()
        .args(["process", "--no-progress", "--no-record-pdfs", "--out"])
        .arg(&out)
        .arg(book.parent().unwrap())
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("1 line of its review journal"));
    assert_eq!(read_json(&out.join("report.json"))["review_lines_unreadable"]["b"], 1);
    let server = Server::start(&out, "lan");
    assert!(server.said.contains("cannot be read"), "{}", server.said);
}

/// A scan changed and read again, an officer's save and an Export, interleaved twenty
/// ways: every change answered 200 is in the page file and in every later export, or the
/// next `process` says it no longer applies (made on the scan the page was before); no
/// stale page is written back; the screen's export equals `process`'s.
#[test]
fn process_and_review_interleaved_twenty_ways_lose_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (book, out) = small_book(tmp.path());
    let input = book.parent().unwrap().to_path_buf();
    let server = Server::start(&out, "lan");
    let mut superseded = 0;
    let mut refused = 0;
    for i in 0..20u64 {
        let (a, b) = (api_page(&server, "trang-1"), api_page(&server, "trang-2"));
        swap_first_scan(&book, tmp.path());
        let run = {
            let (input, out) = (input.clone(), out.clone());
            std::thread::spawn(move || {
                process_into(&input, &out, &["--no-record-pdfs", "--jobs", "2"], &[]);
                read_json(&out.join("report.json"))
            })
        };
        // The save and the export land before the page is read again (even rounds, at
        // various times), or once `process` has rewritten it (odd rounds).
        if i % 2 == 0 {
            std::thread::sleep(Duration::from_millis(i * 150));
        } else {
            let started = Instant::now();
            while read_json(&out.join("b/pages/trang-1.json"))["sha256"] == a["sha256"] {
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "round {i}: the page was not read again"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let (value_a, value_b) = (format!("Lê Văn A{i}"), format!("Trần Thị B{i}"));
        let (code_a, answer) = post_api(&server, "/api/change", name_change(&a, &value_a, true));
        assert!(
            code_a == 200 || (code_a == 409 && answer["code"] == "page_reread"),
            "{code_a} {answer}"
        );
        refused += usize::from(code_a == 409);
        let (code_b, answer) = post_api(&server, "/api/change", name_change(&b, &value_b, true));
        assert_eq!(code_b, 200, "{}", answer["code"]);
        let (code, answer) = post_api(&server, "/api/export", json!({}));
        assert_eq!(code, 200, "{}", answer["code"]);
        let report = run.join().unwrap();
        // No stale page on disk: the first page is the scan it holds now.
        let scan_sha = file_sha256(&book.join("trang-1.tif"));
        assert_eq!(
            read_json(&out.join("b/pages/trang-1.json"))["sha256"],
            scan_sha.as_str(),
            "round {i}"
        );
        // The screen's export is what `process` exports.
        let (code, answer) = post_api(&server, "/api/export", json!({}));
        assert_eq!(code, 200, "{}", answer["code"]);
        let exported = csv_bytes(&out);
        process_into(&input, &out, &["--no-record-pdfs", "--jobs", "2"], &[]);
        let csv = String::from_utf8_lossy(&csv_bytes(&out)).into_owned();
        assert_eq!(csv, String::from_utf8_lossy(&exported), "round {i}");
        // Each change answered 200 is exported, or said to apply no more.
        assert!(csv.contains(&value_b), "round {i}: {value_b} lost");
        if code_a == 200 {
            let said = read_json(&out.join("report.json"))["review_superseded"]["b"]
                .as_u64()
                .unwrap_or(0)
                + report["review_superseded"]["b"].as_u64().unwrap_or(0);
            assert!(
                csv.contains(&value_a) || said > 0,
                "round {i}: {value_a} lost without a word"
            );
            superseded += usize::from(!csv.contains(&value_a));
        }
    }
    eprintln!("20 rounds: {refused} changes refused as made on a page read again, {superseded} saved before it was");
    assert!(refused >= 10, "{refused} refused");
}

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
}

impl Server {
    fn start(out: &Path, user: &str) -> Server {
        let mut child = sohoa()
            .args(["review", "--port", "0", "--user", user])
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sohoa review starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "address printed: {url:?}");
        let (base, token) = url.split_once("/?token=").expect("token in the address");
        Server {
            child,
            base: base.to_string(),
            token: token.to_string(),
            url,
        }
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
    let text = std::fs::read_to_string(out.join("ks-1983/records.csv")).unwrap();
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn review_server_refuses_strangers_stays_in_the_book_and_loses_nothing_when_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = processed_samples(tmp.path());
    let server = Server::start(&out, "lan");
    let port = server.port();

    // The token is required everywhere.
    assert_eq!(status_of(ureq::get(&format!("{}/", server.base)).call()), 401);
    assert_eq!(
        status_of(ureq::get(&format!("{}/?token=0000", server.base)).call()),
        401
    );
    assert_eq!(status_of(ureq::get(&format!("{}/app.js", server.base)).call()), 401);
    assert_eq!(status_of(ureq::get(&format!("{}/api/books", server.base)).call()), 401);
    let index = ureq::get(&server.url).call().unwrap();
    assert_eq!(index.status(), 200);
    let csp = index.header("Content-Security-Policy").unwrap_or_default().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(index.into_string().unwrap().contains("app.js?token="));

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
    b.click("#export");
    b.wait(
        "return document.getElementById('save-state').textContent.startsWith('Đã xuất')",
        "the export",
    );
    let rows = csv_rows(&out);
    let col = rows[0].iter().position(|c| c == "nksHoTen").unwrap();
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

//! The local web server behind `sohoa review`.
//!
//! One thread answers the requests in turn, so changes are applied in the order they
//! arrive and never race. Every request must carry the session's random token
//! (`?token=…`, printed in the address); without it the answer is 401. Clients name books
//! and pages, never files: a book is looked up among the folders found at start and a
//! page among that book's results, and only then is a path built from our own data. On a
//! loopback address the `Host` header must be a loopback name too, so that a web page
//! elsewhere cannot reach the server through DNS rebinding. Scripts and styles are
//! compiled into the binary; the Content-Security-Policy forbids any other origin.

use super::{Change, Entry, ReviewError};
use crate::model::{PageResult, PageStatus};
use crate::store::BookDir;
use crate::template::{Template, Vocabulary};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use tiny_http::{Header, Method, Request, Response, Server};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Largest request body accepted (a change is a few hundred bytes).
const MAX_BODY: u64 = 64 * 1024;

/// Settings of a review session.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The output folder of `sohoa process`.
    pub out: PathBuf,
    /// Address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Name recorded with every change.
    pub user: String,
    /// The access token (random when `None`).
    pub token: Option<String>,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No book with page results in the folder.
    #[error("no processed book in {0} (a book folder holds pages/*.json: run `sohoa process` first)")]
    NoBooks(PathBuf),
    /// A book's files cannot be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {reason} (choose another with --port, 0 for any free port)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        reason: String,
    },
    /// The book template is unknown.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// Replaying the journal found pages it could not rewrite.
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// Another review server serves the folder.
    #[error(transparent)]
    Busy(#[from] crate::store::LockError),
}

/// One book under review: its folder and page results (journal applied), in page order.
struct Book {
    name: String,
    dir: PathBuf,
    pages: Vec<PageResult>,
}

/// A running review session.
pub struct Session {
    server: Server,
    addr: SocketAddr,
    token: String,
    user: String,
    books: Vec<Book>,
    book_type: String,
    labels: Vec<(String, String)>,
    kinds: Vec<(String, crate::template::FieldKind)>,
    export_columns: Vec<String>,
    /// One server per output folder: a second one's changes would miss the first's.
    _lock: crate::store::OutLock,
}

impl Session {
    /// Loads the processed books, replays their journals and binds the address.
    pub fn start(opts: &ServeOptions) -> Result<Session, ServeError> {
        let book_type = super::book_type_of(&opts.out);
        let template = Template::for_book_type(&book_type)?;
        let export_columns = Vocabulary::builtin()
            .export_columns(&book_type)
            .cloned()
            .unwrap_or_else(|| template.columns.iter().map(|c| c.field.clone()).collect());
        // Field names and kinds from every layout of the book type (ledger first).
        let fields = crate::template::book_fields(&book_type)?;
        let labels = fields.iter().map(|f| (f.field.clone(), f.heading.clone())).collect();
        let kinds = fields.iter().map(|f| (f.field.clone(), f.kind)).collect();
        let lock = crate::store::OutLock::take_named(&opts.out, ".sohoa-review.lock")?;
        let books = load_books(&opts.out)?;
        if books.is_empty() {
            return Err(ServeError::NoBooks(opts.out.clone()));
        }
        let addr = SocketAddr::new(opts.bind, opts.port);
        let server = Server::http(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let addr = server.server_addr().to_ip().unwrap_or(addr);
        let token = opts.token.clone().unwrap_or_else(random_token);
        Ok(Session {
            server,
            addr,
            token,
            user: opts.user.clone(),
            books,
            book_type,
            labels,
            kinds,
            export_columns,
            _lock: lock,
        })
    }

    /// The address to open, token included.
    pub fn url(&self) -> String {
        let host = match self.addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        format!("http://{host}:{}/?token={}", self.addr.port(), self.token)
    }

    /// The books under review: name and page count.
    pub fn books(&self) -> Vec<(String, usize)> {
        self.books.iter().map(|b| (b.name.clone(), b.pages.len())).collect()
    }

    /// Answers requests until the process ends.
    pub fn run(mut self) {
        while let Ok(mut req) = self.server.recv() {
            let (status, body, kind) = self.answer(&mut req);
            let mut resp = Response::from_data(body).with_status_code(status);
            for (k, v) in [
                ("Content-Type", kind),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
                ("X-Frame-Options", "DENY"),
                (
                    "Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ),
            ] {
                resp.add_header(Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header"));
            }
            let _ = req.respond(resp);
        }
    }

    fn answer(&mut self, req: &mut Request) -> (u16, Vec<u8>, &'static str) {
        const TEXT: &str = "text/plain; charset=utf-8";
        const JSON: &str = "application/json";
        let (path, query) = split_url(req.url());
        if !self.host_ok(req) {
            return (403, b"unexpected Host header".to_vec(), TEXT);
        }
        if !query
            .iter()
            .any(|(k, v)| k == "token" && constant_time_eq(v.as_bytes(), self.token.as_bytes()))
        {
            return (
                401,
                b"missing or wrong token: open the address that `sohoa review` printed".to_vec(),
                TEXT,
            );
        }
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let method = req.method().clone();
        if method != Method::Get && !self.origin_ok(req) {
            return (403, b"request from another site refused".to_vec(), TEXT);
        }
        let result: Result<(Vec<u8>, &'static str), (u16, String)> = match (&method, path.as_str()) {
            (Method::Get, "/") => Ok((
                INDEX_HTML.replace("__TOKEN__", &self.token).into_bytes(),
                "text/html; charset=utf-8",
            )),
            (Method::Get, "/app.js") => Ok((APP_JS.as_bytes().to_vec(), "text/javascript; charset=utf-8")),
            (Method::Get, "/app.css") => Ok((APP_CSS.as_bytes().to_vec(), "text/css; charset=utf-8")),
            (Method::Get, "/api/books") => Ok((to_json(&self.books_view()), JSON)),
            (Method::Get, "/api/page") => self
                .page(q("book"), q("page"))
                .map(|(_, p)| (to_json(&page_view(p)), JSON)),
            (Method::Get, "/api/image") => self.image(q("book"), q("page")).map(|b| (b, "image/jpeg")),
            (Method::Post, "/api/change") => read_body(req)
                .and_then(|body| self.change(q("book"), &body))
                .map(|v| (to_json(&v), JSON)),
            (Method::Post, "/api/export") => self.export(q("book")).map(|v| (to_json(&v), JSON)),
            (_, "/" | "/app.js" | "/app.css" | "/api/books" | "/api/page" | "/api/image") => {
                Err((405, "method not allowed".into()))
            }
            (_, "/api/change" | "/api/export") => Err((405, "method not allowed".into())),
            _ => Err((404, "not found".into())),
        };
        match result {
            Ok((body, kind)) => (200, body, kind),
            Err((code, msg)) => (code, to_json(&json!({ "error": msg })), JSON),
        }
    }

    /// On a loopback address, only loopback host names (DNS rebinding).
    fn host_ok(&self, req: &Request) -> bool {
        if !self.addr.ip().is_loopback() {
            return true;
        }
        let host = header(req, "Host").unwrap_or_default();
        host_allowed(&host, self.addr.port())
    }

    /// A state-changing request from a page of another site is refused: browsers name
    /// the page's origin, and it must be this server's own.
    fn origin_ok(&self, req: &Request) -> bool {
        match header(req, "Origin") {
            None => true,
            Some(origin) if !self.addr.ip().is_loopback() => origin
                .strip_prefix("http://")
                .is_some_and(|h| h == header(req, "Host").unwrap_or_default()),
            Some(origin) => origin
                .strip_prefix("http://")
                .is_some_and(|h| host_allowed(h, self.addr.port())),
        }
    }

    fn book_index(&self, book: Option<&str>) -> Result<usize, (u16, String)> {
        let book = book.ok_or((400, "`book` is missing".to_string()))?;
        self.books
            .iter()
            .position(|b| b.name == book)
            .ok_or((404, format!("no book {book:?}")))
    }

    /// The book's index and the page.
    fn page(&self, book: Option<&str>, page: Option<&str>) -> Result<(usize, &PageResult), (u16, String)> {
        let bi = self.book_index(book)?;
        let b = &self.books[bi];
        let page = page.ok_or((400, "`page` is missing".to_string()))?;
        b.pages
            .iter()
            .find(|p| p.name == page)
            .map(|p| (bi, p))
            .ok_or((404, format!("no page {page:?} in book {:?}", b.name)))
    }

    fn image(&self, book: Option<&str>, page: Option<&str>) -> Result<Vec<u8>, (u16, String)> {
        let (bi, p) = self.page(book, page)?;
        let b = &self.books[bi];
        let rel = p.image.as_deref().ok_or((404, "this page has no image".to_string()))?;
        let path = inside(&b.dir, rel).ok_or((404, "image path leaves the book folder".to_string()))?;
        std::fs::read(&path).map_err(|e| (404, format!("cannot read the page image: {e}")))
    }

    fn books_view(&self) -> Value {
        json!({
            "user": self.user,
            "book_type": self.book_type,
            "labels": self.labels,
            "kinds": self.kinds,
            "flag_labels": crate::model::Flag::ALL
                .iter()
                .map(|f| (f.as_str(), f.label_vi()))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "books": self.books.iter().map(|b| json!({
                "name": b.name,
                "progress": super::progress(&b.pages),
                "pages": b.pages.iter().map(|p| {
                    let prog = super::progress(std::slice::from_ref(p));
                    json!({
                        "name": p.name,
                        "page": p.page,
                        "status": p.final_status(),
                        "records": p.records.len(),
                        "accepted": prog.accepted,
                        "doubtful": prog.doubtful,
                    })
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    fn change(&mut self, book: Option<&str>, body: &[u8]) -> Result<Value, (u16, String)> {
        #[derive(Deserialize)]
        struct Req {
            page: String,
            #[serde(flatten)]
            change: Change,
        }
        let bi = self.book_index(book)?;
        let req: Req = serde_json::from_slice(body).map_err(|e| (400, format!("bad change: {e}")))?;
        let b = &mut self.books[bi];
        let pi = b
            .pages
            .iter()
            .position(|p| p.name == req.page)
            .ok_or((404, format!("no page {:?}", req.page)))?;
        let entry = Entry {
            at: super::now_rfc3339(),
            by: self.user.clone(),
            page: req.page,
            sha256: b.pages[pi].sha256.clone(),
            change: req.change,
        };
        let mut page = b.pages[pi].clone();
        super::apply(&mut page, &entry).map_err(|e| (422, e.to_string()))?;
        // Durable first, then visible.
        super::append_journal(&b.dir, &entry).map_err(|e| (500, e.to_string()))?;
        write_page(&b.dir, &page).map_err(|e| (500, e.to_string()))?;
        b.pages[pi] = page;
        Ok(json!({
            "page": page_view(&b.pages[pi]),
            "progress": super::progress(&b.pages),
            "saved_at": entry.at,
        }))
    }

    fn export(&mut self, book: Option<&str>) -> Result<Value, (u16, String)> {
        let b = &self.books[self.book_index(book)?];
        let rows = crate::export::rows_for_book(&b.pages, &self.export_columns, &self.book_type);
        let xlsx = crate::export::write_xlsx(&rows, &self.export_columns, crate::store::created_time())
            .map_err(|e| (500, e.to_string()))?;
        let csv = crate::export::write_csv(&rows, &self.export_columns);
        let write = |name: &str, bytes: &[u8]| BookDir::at(&b.dir).write(name, bytes).map_err(|e| (500, e.to_string()));
        write("records.xlsx", &xlsx)?;
        write("records.csv", &csv)?;
        // Keep the manifest true for the files it lists.
        let manifest_path = b.dir.join(crate::verify::MANIFEST);
        let listed: Vec<PathBuf> = crate::verify::read_manifest(&manifest_path)
            .into_keys()
            .filter_map(|p| p.strip_prefix(&b.dir).ok().map(Path::to_path_buf))
            .collect();
        if !listed.is_empty() {
            let text = crate::verify::manifest_text(&b.dir, &listed).map_err(|e| (500, e.to_string()))?;
            write(crate::verify::MANIFEST, text.as_bytes())?;
        }
        let confirmed = rows.iter().filter(|r| r.confirmed.is_some()).count();
        Ok(json!({
            "rows": rows.len(),
            "confirmed": confirmed,
            "files": ["records.xlsx", "records.csv"],
        }))
    }
}

/// The processed books under `out`, journals replayed; page files the journal changed
/// are rewritten.
fn load_books(out: &Path) -> Result<Vec<Book>, ServeError> {
    let mut books = Vec::new();
    for b in super::read_books(out)? {
        for &i in &b.changed {
            write_page(&b.dir, &b.pages[i])?;
        }
        books.push(Book {
            name: b.name,
            dir: b.dir,
            pages: b.pages,
        });
    }
    Ok(books)
}

fn write_page(book_dir: &Path, page: &PageResult) -> Result<(), ReviewError> {
    Ok(BookDir::at(book_dir).write_page(page)?)
}

/// What the screen needs of a page: the result without its word list, and for each field
/// whether it is doubtful.
fn page_view(p: &PageResult) -> Value {
    let mut v = serde_json::to_value(p).expect("page serializes");
    if let Some(o) = v.as_object_mut() {
        o.remove("words");
        o.insert("final_status".into(), json!(p.final_status()));
        o.insert("editable".into(), json!(p.status != PageStatus::Error));
    }
    if let Some(recs) = v.get_mut("records").and_then(Value::as_array_mut) {
        for (rv, r) in recs.iter_mut().zip(&p.records) {
            if let Some(fields) = rv.get_mut("fields").and_then(Value::as_object_mut) {
                for (k, f) in &r.fields {
                    if let Some(o) = fields.get_mut(k).and_then(Value::as_object_mut) {
                        o.insert("doubtful".into(), json!(f.doubtful()));
                        o.insert("final_value".into(), json!(f.final_value()));
                    }
                }
            }
        }
    }
    v
}

/// `dir/rel` when `rel` is a plain relative path (no `..`, no root) that exists below
/// `dir` after symlinks are resolved.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = dir.join(rel).canonicalize().ok()?;
    full.starts_with(dir.canonicalize().ok()?).then_some(full)
}

fn read_body(req: &mut Request) -> Result<Vec<u8>, (u16, String)> {
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| (400, format!("cannot read the request: {e}")))?;
    if body.len() as u64 > MAX_BODY {
        return Err((413, "request too large".into()));
    }
    Ok(body)
}

/// A header's value, if the request has it.
fn header(req: &Request, name: &'static str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

/// A Host header naming this loopback server exactly: a loopback address or
/// `localhost`, and the server's port when one is given (`127.0.0.1.evil.example` is not
/// loopback).
fn host_allowed(host: &str, port: u16) -> bool {
    let (name, given) = match host.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && !p.contains(']') => (n, p.parse::<u16>().ok()),
        _ => (host, Some(port)),
    };
    let loopback = name == "localhost"
        || name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name)
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback && given == Some(port)
}

fn to_json(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("serializes")
}

/// Path and decoded query pairs of a request URL.
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (percent_decode(path), pairs)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_decode() {
        let (path, q) = split_url("/api/page?book=s%E1%BB%95+1&page=trang-01&token=ab");
        assert_eq!(path, "/api/page");
        assert_eq!(q[0], ("book".to_string(), "sổ 1".to_string()));
        assert_eq!(q[2].1, "ab");
        assert_eq!(percent_decode("%2e%2E%2f"), "../");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn only_this_loopback_server_is_an_allowed_host() {
        for ok in [
            "127.0.0.1:8377",
            "localhost:8377",
            "[::1]:8377",
            "127.1.2.3:8377",
            "localhost",
            "[::1]",
        ] {
            assert!(host_allowed(ok, 8377), "{ok}");
        }
        for bad in [
            "127.0.0.1.evil.example:8377",
            "127.0.0.1.evil.example",
            "evil.example:8377",
            "127.0.0.1:8378",
            "",
            "localhost.:8377",
            "localhost:x",
        ] {
            assert!(!host_allowed(bad, 8377), "{bad}");
        }
    }

    #[test]
    fn paths_stay_inside_the_book() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("images")).unwrap();
        std::fs::write(dir.path().join("images/p.jpg"), b"x").unwrap();
        assert!(inside(dir.path(), "images/p.jpg").is_some());
        assert!(inside(dir.path(), "../etc/passwd").is_none());
        assert!(inside(dir.path(), "/etc/passwd").is_none());
        assert!(inside(dir.path(), "images/../../x").is_none());
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[..31]));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}

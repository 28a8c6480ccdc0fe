//! The review server's HTTP/1.1 transport: one short-lived connection per request, each
//! on its own thread, so that no client can hold up another.
//!
//! A request (TLS handshake, head and body) must arrive whole within
//! [`Limits::request_timeout`]; a client that stalls is answered 408 and dropped. At most
//! [`Limits::max_connections`] connections are served at once; the next is answered 503
//! at once. Heads over [`Limits::max_head`] bytes are refused (431), bodies over
//! [`Limits::max_body`] (413) before they are read, chunked bodies (411). The handler sees
//! a request only once it has been read whole, so it never waits on a client.

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a client may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time for a whole request to arrive, TLS handshake included.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Largest request line and headers, bytes.
    pub max_head: usize,
    /// Largest body, bytes.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(10),
            max_connections: 64,
            max_head: 16 * 1024,
            max_body: 64 * 1024,
        }
    }
}

/// A request, read whole.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The address the request came from.
    pub peer: Option<std::net::IpAddr>,
}

impl Request {
    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers besides Content-Length and Connection.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long the connection waits before it answers (a client that keeps guessing
    /// tokens is slowed; the wait holds its own connection only).
    pub delay: Duration,
}

impl Response {
    /// An answer with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
            delay: Duration::ZERO,
        }
    }

    fn text(status: u16, text: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", text.as_bytes().to_vec())
    }
}

/// Serves `handler` on `listener` until the process ends. With `tls`, every connection
/// is TLS.
pub fn serve<H>(listener: TcpListener, tls: Option<Arc<ServerConfig>>, limits: Limits, handler: H)
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
            active.fetch_sub(1, Ordering::SeqCst);
            // Said at once and without reading: a flood costs no thread.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            if tls.is_none() {
                let _ = write_response(
                    &mut &stream,
                    &Response::text(503, "the server is busy: too many connections; try again"),
                );
            }
            continue;
        }
        let (handler, done, tls) = (Arc::clone(&handler), Arc::clone(&active), tls.clone());
        let spawned = std::thread::Builder::new()
            .name("review-connection".into())
            .spawn(move || {
                let _slot = Slot(done);
                let _ = connection(stream, tls, limits, &*handler);
            });
        if spawned.is_err() {
            // No thread: the connection was dropped with the closure.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A connection's place in the count, given back however its thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One connection: one request read within the deadline, one answer.
fn connection<H>(stream: TcpStream, tls: Option<Arc<ServerConfig>>, limits: Limits, handler: &H) -> io::Result<()>
where
    H: Fn(&Request) -> Response,
{
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(limits.request_timeout))?;
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let io = Deadline {
        stream,
        until: Instant::now() + limits.request_timeout,
    };
    match tls {
        None => exchange(io, limits, handler, peer),
        Some(config) => {
            let conn = ServerConnection::new(config).map_err(io::Error::other)?;
            exchange(StreamOwned::new(conn, io), limits, handler, peer)
        }
    }
}

fn exchange<S: Read + Write, H: Fn(&Request) -> Response>(
    mut s: S,
    limits: Limits,
    handler: &H,
    peer: Option<std::net::IpAddr>,
) -> io::Result<()> {
    let response = match read_request(&mut s, &limits) {
        Ok(mut req) => {
            req.peer = peer;
            handler(&req)
        }
        Err(Refusal::Io(e)) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock => {
            Response::text(408, "the request did not arrive in time")
        }
        Err(Refusal::Io(e)) => return Err(e),
        Err(Refusal::Status(code, why)) => Response::text(code, why),
    };
    std::thread::sleep(response.delay);
    write_response(&mut s, &response)?;
    s.flush()
}

enum Refusal {
    Io(io::Error),
    Status(u16, &'static str),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// Reads one request: the head up to its blank line, then exactly Content-Length bytes.
fn read_request<S: Read>(s: &mut S, limits: &Limits) -> Result<Request, Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > limits.max_head {
            return Err(Refusal::Status(431, "request headers too large"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(Refusal::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > limits.max_head {
        return Err(Refusal::Status(431, "request headers too large"));
    }
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| Refusal::Status(400, "malformed request"))?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) = (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(Refusal::Status(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(Refusal::Status(400, "malformed request line"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(Refusal::Status(400, "malformed header"))?;
        if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
            return Err(Refusal::Status(400, "malformed header"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = split_url(target);
    let mut req = Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body: Vec::new(),
        peer: None,
    };
    if req.header("transfer-encoding").is_some() {
        return Err(Refusal::Status(411, "send the body with a Content-Length"));
    }
    let length = match req.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| Refusal::Status(400, "malformed Content-Length"))?,
    };
    if length > limits.max_body {
        return Err(Refusal::Status(413, "request too large"));
    }
    let mut body = buf.split_off(head_end + 4);
    if body.len() > length {
        body.truncate(length);
    }
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = s.read(&mut chunk[..want])?;
        if n == 0 {
            return Err(Refusal::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    req.body = body;
    Ok(req)
}

fn write_response<W: Write>(w: &mut W, r: &Response) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason_phrase(r.status));
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        r.body.len()
    ));
    w.write_all(head.as_bytes())?;
    w.write_all(&r.body)
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A socket whose every read must finish before one instant: the time left is the read
/// timeout, so a client sending a byte now and then cannot stretch the request.
struct Deadline {
    stream: TcpStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Path and decoded query pairs of a request target.
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Request, u16> {
        read_request(&mut &raw[..], &Limits::default()).map_err(|e| match e {
            Refusal::Status(c, _) => c,
            Refusal::Io(_) => 0,
        })
    }

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
    fn requests_are_read_whole_and_bad_ones_refused() {
        let r = parse(b"POST /api/change?book=a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/change"));
        assert_eq!(r.query("book"), Some("a"));
        assert_eq!(r.header("HOST"), Some("x"));
        assert_eq!(r.body, b"hello");
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n").unwrap_err(),
            413
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap_err(),
            411
        );
        assert_eq!(parse(b"GET /\r\n\r\n").unwrap_err(), 400);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n").unwrap_err(), 400);
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        assert_eq!(parse(big.as_bytes()).unwrap_err(), 431);
        // A body promised and not sent: the connection ends, nothing is handled.
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").unwrap_err(),
            0
        );
    }
}

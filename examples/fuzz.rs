//! A mutational fuzzer on stable Rust for what reads untrusted bytes (`scripts/fuzz` runs
//! every target for a given time):
//!   cargo run --release --example fuzz -- decode SECONDS SEED_FILE...
//!   cargo run --release --example fuzz -- review SECONDS OUT
//!   cargo run --release --example fuzz -- seeds DIR    (small seed files of every kind)
//!
//! Inputs are made from the seeds by 1–8 mutations each (bit flips, bytes set to
//! boundary values, runs inserted, deleted, repeated, cut, spliced from another seed),
//! from a random generator whose seed is printed (`FUZZ_SEED` replays a run).
//! - `decode`: `ingest::probe` and `ingest::decode_each` (PNG, JPEG, TIFF, PDF) on each
//!   input; a panic, or an input taking over 10 s, is a finding.
//! - `review`: a real review server on a copy of OUT (its pages are changed) gets each
//!   input as a raw HTTP request over TCP (the seeds: the screen's own requests, token
//!   included); after each, a plain request must still be answered. A server that stops
//!   answering is a finding.
//!
//! Findings are written to `fuzz-findings/<target>-<n>.bin`; the exit code is 1 when there
//! are any. With `FUZZ_LAST=FILE` each input is written there before it is tried, so an
//! input that aborts the process (out of memory) is kept.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let n = v.len();
        match rng.below(8) {
            0 if n > 0 => {
                let i = rng.below(n);
                v[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                v[i] = [0, 1, 0x7F, 0x80, 0xFF, b'0', b'9', b'%'][rng.below(8)];
            }
            2 => {
                let i = rng.below(n + 1);
                let run: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                v.splice(i..i, run);
            }
            3 if n > 1 => {
                let i = rng.below(n);
                let end = (i + 1 + rng.below(64)).min(n);
                v.drain(i..end);
            }
            4 if n > 1 => {
                let i = rng.below(n);
                let end = (i + 1 + rng.below(32)).min(n);
                let run = v[i..end].to_vec();
                let at = rng.below(n + 1);
                v.splice(at..at, run);
            }
            5 if n > 1 => v.truncate(1 + rng.below(n - 1)),
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() && n > 0 {
                    let (i, j) = (rng.below(n), rng.below(other.len()));
                    let len = rng.below(256).min(n - i).min(other.len() - j);
                    v[i..i + len].copy_from_slice(&other[j..j + len]);
                }
            }
            _ if n > 3 => {
                // A 16- or 32-bit field set to a large value (sizes, lengths, offsets).
                let i = rng.below(n - 3);
                let big = [0xFFFF_FFFFu32, 0x7FFF_FFFF, 0x0001_0000, 0xFFFF][rng.below(4)];
                if rng.below(2) == 0 {
                    v[i..i + 2].copy_from_slice(&(big as u16).to_be_bytes());
                } else {
                    v[i..i + 4].copy_from_slice(&big.to_le_bytes());
                }
            }
            _ => {}
        }
    }
    v
}

struct Findings {
    target: String,
    count: usize,
}

impl Findings {
    fn keep(&mut self, input: &[u8], what: &str) {
        self.count += 1;
        std::fs::create_dir_all("fuzz-findings").expect("findings folder");
        let path = format!("fuzz-findings/{}-{}.bin", self.target, self.count);
        std::fs::write(&path, input).expect("write finding");
        println!("FINDING {path}: {what}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("seeds") {
        write_seeds(Path::new(args.get(1).expect("seeds DIR")));
        return;
    }
    let (Some(target), Some(secs)) = (args.first(), args.get(1).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("usage: fuzz decode SECONDS SEED_FILE... | fuzz review SECONDS OUT");
        std::process::exit(2);
    };
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("{target}: {secs} s, FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let mut findings = Findings {
        target: target.clone(),
        count: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let runs = match target.as_str() {
        "decode" => fuzz_decode(&args[2..], &mut rng, &mut findings, deadline),
        "review" => fuzz_review(Path::new(&args[2]), &mut rng, &mut findings, deadline),
        other => {
            eprintln!("unknown target {other}");
            std::process::exit(2);
        }
    };
    println!("{target}: {runs} inputs, {} findings", findings.count);
    std::process::exit(i32::from(findings.count > 0));
}

fn fuzz_decode(seed_files: &[String], rng: &mut Rng, findings: &mut Findings, deadline: Instant) -> usize {
    let seeds: Vec<Vec<u8>> = seed_files
        .iter()
        .map(|f| std::fs::read(f).expect("seed file"))
        .collect();
    assert!(!seeds.is_empty(), "give seed files");
    // Panics are findings, not the end of the run; their message is kept.
    let message = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let m = message.clone();
    std::panic::set_hook(Box::new(move |info| *m.lock().unwrap() = info.to_string()));
    let (mut runs, mut slowest) = (0, Duration::ZERO);
    // Where the input being tried is kept: an abort (out of memory) ends the process.
    let last = std::env::var_os("FUZZ_LAST");
    while Instant::now() < deadline {
        let input = mutate(rng, &seeds);
        if let Some(last) = &last {
            std::fs::write(last, &input).expect("write the input being tried");
        }
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| {
            // A bounded pixel limit keeps the fuzzer's own memory small.
            if sohoa::ingest::probe(&input, 20_000_000).is_ok() {
                let _ = sohoa::ingest::decode_each(&input, 20_000_000, |_| Ok::<(), sohoa::ingest::DecodeError>(()));
            }
        });
        let took = started.elapsed();
        slowest = slowest.max(took);
        if result.is_err() {
            findings.keep(&input, &format!("panic: {}", message.lock().unwrap()));
        } else if took > Duration::from_secs(10) {
            findings.keep(&input, &format!("took {took:?}"));
        }
        runs += 1;
    }
    println!("decode: slowest input {slowest:?}");
    runs
}

fn fuzz_review(out: &Path, rng: &mut Rng, findings: &mut Findings, deadline: Instant) -> usize {
    // The server changes pages: it works on a copy.
    let work = std::env::temp_dir().join(format!("sohoa-fuzz-review-{}", std::process::id()));
    copy_dir(out, &work);
    let token = "fuzztoken0123456789abcdef".to_string();
    let session = sohoa::review::server::Session::start(&sohoa::review::server::ServeOptions {
        out: work.clone(),
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        officers: vec![sohoa::review::server::Officer::new("fuzz", Some(token.clone()))],
        tls: None,
        limits: Default::default(),
    })
    .expect("review server starts");
    let addr = session.urls().remove(0).1;
    let port: u16 = addr
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (book, pages) = session.books().into_iter().next().expect("a book");
    assert!(pages > 0);
    let page = first_page(&work.join(&book));
    std::thread::spawn(move || session.run());
    let host = format!("127.0.0.1:{port}");
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes();
    let post = |path: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let t = &token;
    let seeds = vec![
        get(&format!("/?token={t}")),
        get(&format!("/api/books?token={t}")),
        get(&format!("/api/page?token={t}&book={book}&page={page}")),
        get(&format!("/api/image?token={t}&book={book}&page={page}")),
        post(
            &format!("/api/change?token={t}&book={book}"),
            &format!(r#"{{"page":"{page}","kind":"field","row":1,"field":"nksHoTen","value":"Nguyễn Văn A"}}"#),
        ),
        post(
            &format!("/api/change?token={t}&book={book}"),
            &format!(r#"{{"page":"{page}","kind":"accept","row":1,"accepted":true}}"#),
        ),
        post(
            &format!("/api/change?token={t}&book={book}"),
            &format!(r#"{{"page":"{page}","kind":"field","row":1,"field":"nksNoiSinh","value":"Huế","base":0}}"#),
        ),
        post(
            &format!("/api/presence?token={t}&book={book}"),
            &format!(r#"{{"page":"{page}","row":1}}"#),
        ),
        get(&format!("/api/team?token={t}")),
        post(&format!("/api/export?token={t}&book={book}"), ""),
    ];
    let health = get(&format!("/api/books?token={t}"));
    let mut runs = 0;
    while Instant::now() < deadline {
        let input = mutate(rng, &seeds);
        // The client closes its side after sending: a request that promises more than it
        // sends ends there.
        let _ = exchange(port, &input, Duration::from_secs(5));
        match exchange(port, &health, Duration::from_secs(5)) {
            Some(r) if r.starts_with(b"HTTP/1.1 200") => {}
            other => {
                let what = match other {
                    Some(r) => format!(
                        "then a plain request got {:?}",
                        String::from_utf8_lossy(&r[..r.len().min(40)])
                    ),
                    None => "then the server stopped answering".into(),
                };
                findings.keep(&input, &what);
                break;
            }
        }
        runs += 1;
    }
    let _ = std::fs::remove_dir_all(&work);
    runs
}

/// Small files of every kind read (a fuzzed small file decodes fast).
fn write_seeds(dir: &Path) {
    use image::{DynamicImage, GrayImage, ImageFormat, Luma};
    std::fs::create_dir_all(dir).expect("seeds folder");
    let gray = GrayImage::from_fn(64, 48, |x, y| Luma([if (x / 8 + y / 6) % 3 == 0 { 20 } else { 230 }]));
    let save = |name: &str, img: &DynamicImage, format: ImageFormat| {
        let mut b = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut b), format).expect("encode");
        std::fs::write(dir.join(name), &b).expect("write seed");
        b
    };
    let g = DynamicImage::ImageLuma8(gray.clone());
    save("gray.png", &g, ImageFormat::Png);
    save("rgb.png", &DynamicImage::ImageRgb8(g.to_rgb8()), ImageFormat::Png);
    save(
        "gray16.png",
        &DynamicImage::ImageLuma16(g.to_luma16()),
        ImageFormat::Png,
    );
    let jpeg = save("gray.jpg", &g, ImageFormat::Jpeg);
    save("rgb.jpg", &DynamicImage::ImageRgb8(g.to_rgb8()), ImageFormat::Jpeg);
    std::fs::write(
        dir.join("gray.tif"),
        sohoa::encode::page_file(&gray, "p.tif", Some(300.0)),
    )
    .expect("tiff");
    // Two frames, LZW-coded.
    let mut tif = std::io::Cursor::new(Vec::new());
    {
        use tiff::encoder::{colortype::Gray8, Compression, TiffEncoder};
        let mut enc = TiffEncoder::new(&mut tif)
            .expect("tiff")
            .with_compression(Compression::Lzw);
        for _ in 0..2 {
            enc.write_image::<Gray8>(64, 48, gray.as_raw()).expect("tiff frame");
        }
    }
    std::fs::write(dir.join("frames.tif"), tif.get_ref()).expect("tiff");
    // A scanned PDF: a JPEG page and a Flate grey page.
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
    let mut pdf = Pdf::new();
    pdf.catalog(Ref::new(1)).pages(Ref::new(2));
    pdf.pages(Ref::new(2)).kids([Ref::new(3), Ref::new(6)]).count(2);
    let flate = zlib(gray.as_raw());
    for (page, img, content, data, filter) in [
        (3, 4, 5, jpeg.as_slice(), Filter::DctDecode),
        (6, 7, 8, flate.as_slice(), Filter::FlateDecode),
    ] {
        let mut p = pdf.page(Ref::new(page));
        p.parent(Ref::new(2))
            .media_box(Rect::new(0.0, 0.0, 15.36, 11.52))
            .contents(Ref::new(content));
        p.resources().x_objects().pair(Name(b"Im0"), Ref::new(img));
        p.finish();
        let mut x = pdf.image_xobject(Ref::new(img), data);
        x.width(64).height(48).bits_per_component(8).filter(filter);
        x.color_space().device_gray();
        x.finish();
        let mut c = Content::new();
        c.save_state()
            .transform([15.36, 0.0, 0.0, 11.52, 0.0, 0.0])
            .x_object(Name(b"Im0"))
            .restore_state();
        pdf.stream(Ref::new(content), &c.finish());
    }
    std::fs::write(dir.join("scan.pdf"), pdf.finish()).expect("pdf");
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("deflate");
    z.finish().expect("deflate")
}

/// Sends a raw request, closes the sending side, reads the answer (`None`: none in time).
fn exchange(port: u16, request: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    s.set_write_timeout(Some(wait)).ok()?;
    s.write_all(request).ok()?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    match s.read_to_end(&mut answer) {
        Ok(_) => Some(answer),
        Err(_) if !answer.is_empty() => Some(answer),
        Err(_) => None,
    }
}

fn first_page(book: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(book.join("pages"))
        .expect("pages")
        .flatten()
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.remove(0)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy");
    for e in std::fs::read_dir(from).expect("copy").flatten() {
        let p: PathBuf = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

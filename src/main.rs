//! The `sohoa` command: a thin layer that parses flags and calls the library.
//!
//! Exit codes: 0 success (every input was read; pages judged `not_eligible` are results,
//! not failures); 1 the run could not be done (unreadable input folder, OCR unavailable,
//! output not writable, another run holding the output folder); 2 bad command-line usage
//! (also an output folder overlapping the input); 3 `eval` found the results below the bar
//! asked; 4 `verify` found a broken file; 5 `process` finished but some inputs could not
//! be read (pages with status `error`: damaged, unsupported or unreadable entries).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sohoa::batch::{self, BatchOptions};
#[cfg(feature = "synth")]
use sohoa::template::Layout;
use std::path::PathBuf;
use std::process::ExitCode;

/// Turn scanned pages of civil-registry books into checked records and PDF/A files.
#[derive(Parser)]
#[command(name = "sohoa", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process a folder of scanned books: every folder that holds page images is one book.
    ///
    /// Writes, per book, OUT/<book>/pages/<page>.json (one result per page),
    /// OUT/<book>/images/<page>.jpg (the restored page), OUT/<book>/records.xlsx and
    /// records.csv (the Ministry's import layout), OUT/<book>/<book>.pdf (PDF/A-2b with a
    /// text layer), OUT/<book>/records/*.pdf (one PDF per record) and records.zip,
    /// OUT/<book>/manifest.sha256, and OUT/report.json. Running again skips pages already
    /// done; a file that cannot be decoded gets an `error` page result and the batch goes on
    /// (exit code 5 at the end: some inputs could not be read).
    Process {
        /// Folder of scans (PNG, JPEG, TIFF, or PDFs whose pages are each one scanned image).
        input: PathBuf,
        /// Output folder.
        #[arg(long, short)]
        out: PathBuf,
        /// Book type: ks (birth).
        #[arg(long, default_value = "ks")]
        book_type: String,
        /// Page layout: auto (found page by page: a ruled table is a ledger page, printed
        /// labels down the page a form page; a book may mix them), or fixed for every page:
        /// ledger (a ruled table, one record per row; books before 2006) or form (one
        /// record per page, values written after printed labels; 2006–2020).
        #[arg(long, value_enum, default_value = "auto")]
        layout: sohoa::pipeline::LayoutChoice,
        /// Worker threads (default: one per core).
        #[arg(long, short, default_value_t = 0)]
        jobs: usize,
        /// Tesseract language(s), e.g. vie or vie+eng.
        #[arg(long, default_value = "vie")]
        lang: String,
        /// Resolution of files that state none, 50–2400 (default: inferred page by page
        /// from the height of the writing, 300 when the page tells too little).
        #[arg(long, value_parser = parse_dpi)]
        dpi: Option<f32>,
        /// Allow the output folder inside the input folder (it is left out of the input).
        #[arg(long)]
        out_inside_input: bool,
        /// Largest page image read, in megapixels; a file whose header claims more is
        /// refused before it is decoded (a 600-dpi A2 scan is about 140).
        #[arg(long, default_value_t = BatchOptions::MAX_PIXELS / 1_000_000, value_parser = clap::value_parser!(u64).range(1..=2000))]
        max_megapixels: u64,
        /// Memory the pages being read at once may take, in MB: a worker waits before
        /// reading a page that would go over it, and a page that alone would is refused.
        #[arg(long, default_value_t = BatchOptions::PAGE_MEMORY >> 20, value_parser = clap::value_parser!(u64).range(64..=1_000_000))]
        page_memory: u64,
        /// Process only this shard's books: `K/N` (0-based), or `N` with the index taken
        /// from a Slurm array task or a Kubernetes Indexed Job. Shards of one campaign run
        /// at once on one OUT; each writes report-shard-K-of-N.json. Run `sohoa report OUT`
        /// when all are done (it runs the book checks over every book).
        #[arg(long, value_parser = sohoa::batch::Shard::parse, value_name = "K/N")]
        shard: Option<sohoa::batch::Shard>,
        /// Redo pages even when their result exists.
        #[arg(long)]
        force: bool,
        /// No progress bar (one log line per page instead).
        #[arg(long)]
        no_progress: bool,
        /// JPEG quality of the restored page images and PDF pages.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u8).range(1..=100))]
        jpeg_quality: u8,
        /// Page images in the PDFs: the scan untouched (original), the restored grey page
        /// (enhanced), the black-and-white page as CCITT G4 (bilevel, smallest), or the
        /// ink as a sharp G4 mask over a 100-dpi JPEG of the paper (mrc: the restored page's
        /// legibility at about a fifth of its size).
        #[arg(long, value_enum, default_value = "mrc")]
        pdf_image: sohoa::archive::ImageMode,
        /// Book number used in record PDF names (KS.<year>.<number>.<date>.<so>.pdf).
        #[arg(long, default_value = "01")]
        book_number: String,
        /// Book year used in record PDF names (default: the most common registration year).
        #[arg(long)]
        book_year: Option<String>,
        /// Do not write one PDF per record (records/ and records.zip).
        #[arg(long)]
        no_record_pdfs: bool,
        /// Declare the PDFs PDF/A-2u (Unicode text) instead of PDF/A-2b.
        #[arg(long)]
        pdfa_u: bool,
        /// Which engines read the values in the cells: best (the neural line model, which
        /// reads handwriting; needs it installed by scripts/setup) or tesseract (Tesseract
        /// for every cell).
        #[arg(long, value_enum, default_value = "best")]
        reader: sohoa::pipeline::CellReaders,
        /// A line model to read with instead of the installed one (an ONNX CTC model with
        /// its vocab.json beside it).
        #[arg(long, value_name = "PATH")]
        line_model: Option<PathBuf>,
    },
    /// Check archival PDFs: whole and parseable, page images intact and decodable, valid PDF/A,
    /// and unchanged since `process` wrote them (manifest.sha256). Exit code 4 if any is broken.
    Verify {
        /// PDF files or folders to search for PDFs.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Restore page images (deskew, flatten, optionally binarize) and print one JSON line each.
    Enhance {
        /// Images or folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output folder for <stem>.png.
        #[arg(long, short)]
        out: PathBuf,
        /// Write the black-and-white page (text 0, paper 255, not deskewed: the same size as
        /// the input) instead of the restored grey one.
        #[arg(long)]
        binarize: bool,
        /// Resolution assumed for files that state none, 50–2400.
        #[arg(long, default_value_t = 300.0, value_parser = parse_dpi)]
        dpi: f32,
    },
    /// Generate synthetic damaged ledger pages with ground truth.
    #[cfg(feature = "synth")]
    Synth {
        /// Output folder: pages go to OUT/books/<book>/, truth to OUT/truth/<book>/.
        #[arg(long, short)]
        out: PathBuf,
        /// Book folder name.
        #[arg(long, default_value = "ks-1983")]
        book: String,
        /// Which pages: `samples` (the bundled book), `checks` (a book of 1990 with problems
        /// planted for `sohoa check`: a number missing, a record entered twice, one of
        /// another year, a page scanned twice), `varied` (random damage, style,
        /// resolution and format), `script` (like varied, written in the handwriting faces
        /// the decoding was tuned on) or `script-held-out` (in faces kept out of tuning).
        /// Pages as they really come: `forms` (form pages in several styles: two pairs on
        /// a line, dotted leaders), `rulings` (faint rules, rules missing between rows),
        /// `photos` (typed ledger pages photographed: perspective, shadow, every other
        /// page curled near the binding) and
        /// `photos-flat` (the same pages scanned), `no-dpi` (files stating no resolution),
        /// `mixed` (ledger and form pages in one book), `spreads` (an open book's two
        /// ledger pages in one image), `unruled` (ledger pages without any rules: lists
        /// set out in columns); each also as `NAME-held-out`, the
        /// variations kept out of tuning (other label wordings with values in a hand, every
        /// third form drawn in boxes, pencil rules, rules missing between columns, the
        /// columns of another printing, steeper photos with more curl, spreads
        /// photographed, unruled lists of another printing).
        /// The script sets need Debian's handwriting fonts (scripts/setup --test).
        #[arg(long, default_value = "samples")]
        set: String,
        /// Pages of the `varied` set.
        #[arg(long, default_value_t = 12)]
        pages: u32,
        /// Seed of the `varied` set.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Resolution of every page of the `varied` set (default: 150, 200 or 300 at random).
        #[arg(long)]
        dpi: Option<f32>,
        /// Page layout: ledger (a ruled table) or form (one record per portrait page,
        /// values after printed labels).
        #[arg(long, value_enum, default_value = "ledger")]
        layout: Layout,
    },
    /// Review the pre-filled records in a browser: a local web server over a processed
    /// output folder.
    ///
    /// Prints the address to open (with its access token). Every correction, confirmation
    /// and eligibility decision is written to OUT/<book>/review.jsonl before it is
    /// acknowledged and applied to the page results; "Export" rewrites records.xlsx and
    /// records.csv from the reviewed values. Stop with Ctrl+C: nothing is lost.
    Review {
        /// Output folder of `sohoa process`.
        out: PathBuf,
        /// Port to listen on (0: any free port). Keep the same port across restarts:
        /// changes still waiting in a browser are kept per address.
        #[arg(long, default_value_t = 8377)]
        port: u16,
        /// Address to listen on. The default serves this computer only. Another address
        /// (e.g. 0.0.0.0) exposes the records to the network: it needs --users, and the
        /// server then speaks TLS only (a self-signed certificate unless --tls-cert is
        /// given).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// The one reviewer's name, recorded with every change (default: the login name).
        #[arg(long, conflicts_with = "users")]
        user: Option<String>,
        /// A team of officers: a file with one officer per line, `name: token` (a token
        /// of 16+ letters, digits, '-', '_', '.', '~'), or a name alone for a random token.
        /// Each officer gets an address of their own (printed as name, tab, address) and
        /// every change is signed with their name.
        #[arg(long, value_name = "FILE")]
        users: Option<PathBuf>,
        /// Serve over TLS with a self-signed certificate kept in
        /// OUT/.sohoa-review-tls (its fingerprint is printed: check it in the browser).
        #[arg(long)]
        tls: bool,
        /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert.
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Seconds a request may take to arrive whole; a client that stalls is dropped.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
        request_timeout: u64,
        /// Connections served at once; more are answered "busy" at once.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(2..=10_000))]
        max_connections: u64,
    },
    /// Read text-line images with the line model alone: one TSV line per image (file,
    /// text, confidence), for checking a model on a set of lines.
    Read {
        /// Read each image as one text line (the only mode so far).
        #[arg(long, required = true)]
        lines: bool,
        /// Text-line images (PNG, JPEG, TIFF; dark ink on light paper).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Decode as a field of this kind (constrained by what it can hold, e.g. place:
        /// the gazetteer's names); without it, the free reading.
        #[arg(long, value_enum)]
        field: Option<sohoa::template::FieldKind>,
        /// A line model instead of the installed one (its vocab.json beside it).
        #[arg(long, value_name = "PATH")]
        line_model: Option<PathBuf>,
    },
    /// Export reviewed fields as a training set for the line model: every field an officer
    /// corrected, or confirmed with its record, becomes a line image and its text.
    ///
    /// Writes DIR/lines/*.png, DIR/labels.tsv (path<TAB>text) and DIR/meta.tsv (where each
    /// line comes from). Only reviewed values, never raw OCR; dates, sex and numbers (exported
    /// normalized, not as written) and cells written over several lines are left out.
    Dataset {
        /// Output folder of `sohoa process` (reviewed with `sohoa review`).
        out: PathBuf,
        /// Folder to write the data set into.
        #[arg(long = "out", value_name = "DIR")]
        dir: PathBuf,
    },
    /// Check the processed books as a team lead would before handing them in (also run at
    /// the end of `process`): a page scanned twice, a record entered twice (the same
    /// register number in a book, the same person anywhere), register numbers missing,
    /// registration dates out of order, records of another year, ID numbers that
    /// contradict the record.
    ///
    /// Writes OUT/<book>/checks.csv and checks.json, and OUT/checks.html, a report with
    /// links into the review screen; prints the counts. Exit code 0 whatever is found.
    Check {
        /// Output folder of `sohoa process`.
        out: PathBuf,
        /// The books' year (default: each book's most common registration year).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1850..=2100))]
        book_year: Option<u32>,
        /// The review server's address, for the report's links.
        #[arg(long, default_value = sohoa::checks::DEFAULT_REVIEW_URL)]
        review_url: String,
    },
    /// One report over every book in OUT, whichever runs or shards wrote them: pages by
    /// status and reason, records, review progress per officer, the book checks (run
    /// here over every book), each run's throughput.
    ///
    /// Writes OUT/campaign.json and OUT/campaign.html (and the book checks' files); prints
    /// a line per book. Run it once every shard of a campaign is done.
    Report {
        /// Output folder of `sohoa process` (or of its shards).
        out: PathBuf,
        /// The books' year (default: each book's most common registration year).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1850..=2100))]
        book_year: Option<u32>,
        /// The review server's address, for the checks report's links.
        #[arg(long, default_value = sohoa::checks::DEFAULT_REVIEW_URL)]
        review_url: String,
    },
    /// Compare processed results with synthetic ground truth: records found, field CER.
    Eval {
        /// Output folder of `sohoa process`.
        out: PathBuf,
        /// Truth folder written by `sohoa synth` (its OUT/truth).
        truth: PathBuf,
        /// Exit with code 3 when the field CER is above this.
        #[arg(long)]
        max_cer: Option<f64>,
    },
}

fn main() -> ExitCode {
    limit_openmp_threads();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("sohoa: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Tesseract's OpenMP threads would compete with the worker pool, so each engine must run
/// on one thread. The OpenMP runtime reads `OMP_THREAD_LIMIT` once, when it is loaded,
/// before `main`: when it is unset, start again with it set.
fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    #[cfg(unix)]
    if let Ok(exe) = std::env::current_exe() {
        use std::os::unix::process::CommandExt;
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .exec();
        eprintln!("sohoa: warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower");
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Process {
            input,
            out,
            book_type,
            layout,
            jobs,
            lang,
            dpi,
            force,
            no_progress,
            jpeg_quality,
            pdf_image,
            book_number,
            book_year,
            no_record_pdfs,
            pdfa_u,
            reader,
            line_model,
            out_inside_input,
            max_megapixels,
            page_memory,
            shard,
        } => {
            if !input.is_dir() {
                anyhow::bail!("input folder {} does not exist or is not a folder", input.display());
            }
            let opts = BatchOptions {
                input,
                out: out.clone(),
                book_type,
                layout,
                jobs,
                lang,
                default_dpi: dpi,
                force,
                progress: !no_progress,
                jpeg_quality,
                pdf_image,
                record_pdfs: !no_record_pdfs,
                book_number,
                book_year,
                pdfa_u,
                cells: reader,
                line_model,
                out_inside_input,
                max_pixels: max_megapixels * 1_000_000,
                page_memory: page_memory << 20,
                shard,
            };
            let report = match batch::process(&opts) {
                Err(e @ batch::BatchError::Overlap { .. }) => {
                    eprintln!("sohoa: error: {e}");
                    return Ok(ExitCode::from(2));
                }
                other => other?,
            };
            for s in &report.skipped {
                eprintln!("sohoa: left out {}: {}", s.path, s.reason);
            }
            for (folder, name) in &report.books_renamed {
                eprintln!("sohoa: folder {folder:?} is written as book {name} (its name was taken by another folder)");
            }
            let counts: Vec<String> = report.status_counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            eprintln!(
                "sohoa: {} books, {} pages ({}), {} records; {} pages read in {:.1} s ({:.1} pages/min), {} kept from earlier runs. Results in {}",
                report.books,
                report.pages,
                counts.join(", "),
                report.records,
                report.pages_processed,
                report.elapsed_s,
                report.pages_per_minute,
                report.pages_skipped,
                out.display()
            );
            if let Some(shard) = &report.shard {
                eprintln!(
                    "sohoa: shard {shard} done; once every shard is, `sohoa report {}` checks the books and sums them up",
                    out.display()
                );
            }
            if !report.checks.is_empty() {
                let found: Vec<String> = report.checks.iter().map(|(k, v)| format!("{v} {k}")).collect();
                eprintln!(
                    "sohoa: book checks: {} (listed in {})",
                    found.join(", "),
                    sohoa::checks::report_path(&out).display()
                );
            }
            if report.pages_unreadable > 0 {
                eprintln!(
                    "sohoa: {} pages could not be read (status error; their reasons are in the page results)",
                    report.pages_unreadable
                );
                return Ok(ExitCode::from(5));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { inputs } => {
            let files = sohoa::verify::collect_pdfs(&inputs);
            if files.is_empty() {
                anyhow::bail!("no PDF files found");
            }
            let mut broken = 0;
            for f in &files {
                let v = sohoa::verify::verify_file(f);
                if v.is_ok() {
                    println!("ok      {} ({} pages)", f.display(), v.pages);
                } else {
                    broken += 1;
                    println!("BROKEN  {}: {}", f.display(), v.problems.join("; "));
                }
            }
            eprintln!("sohoa: {} files checked, {broken} broken", files.len());
            Ok(if broken > 0 {
                ExitCode::from(4)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Enhance {
            inputs,
            out,
            binarize,
            dpi,
        } => {
            sohoa_enhance(&inputs, &out, binarize, dpi)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "synth")]
        Command::Synth {
            out,
            book,
            set,
            pages,
            seed,
            dpi,
            layout,
        } => {
            let mut specs = match set.as_str() {
                "samples" => sohoa::synth::sample_specs(),
                "checks" => sohoa::synth::checks_specs(),
                "varied" => sohoa::synth::varied_specs(pages, seed, dpi),
                "script" => sohoa::synth::script_specs(pages, seed, dpi, &sohoa::synth::ScriptFace::TUNING),
                "script-held-out" => sohoa::synth::script_specs(pages, seed, dpi, &sohoa::synth::ScriptFace::HELD_OUT),
                other => {
                    let (name, held_out) = other.strip_suffix("-held-out").map_or((other, false), |n| (n, true));
                    sohoa::synth::variation_specs(name, pages, seed, dpi, held_out).ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown set '{other}': use samples, checks, varied, script, forms, rulings, \
                             photos, photos-flat, no-dpi, mixed, spreads, unruled (each but samples, checks and varied also as \
                             NAME-held-out)"
                        )
                    })?
                }
            };
            if layout == Layout::Form {
                for s in &mut specs {
                    s.form.get_or_insert_with(Default::default);
                    if s.year < 2006 {
                        // Form books are those of 2006–2020.
                        s.year = 2006 + (s.year - 1976) % 15;
                    }
                }
            }
            let files = sohoa::synth::write_book(&out, &book, &specs)?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Review {
            out,
            port,
            bind,
            user,
            users,
            tls,
            tls_cert,
            tls_key,
            request_timeout,
            max_connections,
        } => {
            use sohoa::review::server::{read_officers, Officer, ServeOptions, Session};
            use sohoa::review::tls::{TlsSource, SELF_SIGNED_DIR};
            existing_output(&out)?;
            let team = users.is_some();
            if !bind.is_loopback() && !team {
                anyhow::bail!(
                    "{bind} is reachable from other computers: list the officers with --users FILE \
                     (each gets an address of their own)"
                );
            }
            let officers = match &users {
                Some(file) => read_officers(file)?,
                None => {
                    let name = user
                        .or_else(|| std::env::var("USER").ok())
                        .or_else(|| std::env::var("USERNAME").ok())
                        .filter(|u| !u.trim().is_empty())
                        .unwrap_or_else(|| "reviewer".to_string());
                    vec![Officer::new(&name, None)]
                }
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(TlsSource::Files { cert, key }),
                _ if tls || !bind.is_loopback() => Some(TlsSource::SelfSigned {
                    dir: out.join(SELF_SIGNED_DIR),
                    names: certificate_names(bind),
                }),
                _ => None,
            };
            let session = Session::start(&ServeOptions {
                out,
                bind,
                port,
                officers,
                tls,
                limits: sohoa::review::http::Limits {
                    request_timeout: std::time::Duration::from_secs(request_timeout),
                    max_connections: max_connections as usize,
                    ..Default::default()
                },
            })?;
            for (book, pages) in session.books() {
                eprintln!("sohoa: book {book}: {pages} pages");
            }
            if let Some(fp) = session.fingerprint() {
                eprintln!("sohoa: TLS certificate SHA-256 fingerprint (check it in the browser): {fp}");
            }
            let urls = session.urls();
            if team {
                eprintln!("sohoa: each officer opens their own address (Ctrl+C to stop):");
                for (name, url) in &urls {
                    println!("{name}\t{url}");
                }
            } else {
                eprintln!(
                    "sohoa: reviewing as {}; open this address in a browser (Ctrl+C to stop):",
                    urls[0].0
                );
                println!("{}", urls[0].1);
            }
            use std::io::Write;
            std::io::stdout().flush()?;
            session.run();
            Ok(ExitCode::SUCCESS)
        }
        Command::Read {
            lines: _,
            images,
            field,
            line_model,
        } => {
            read_lines(&images, field, line_model.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dataset { out, dir } => {
            existing_output(&out)?;
            let book_type = sohoa::review::book_type_of(&out);
            let s = sohoa::dataset::write_dataset(&out, &dir, &book_type)?;
            eprintln!(
                "sohoa: {} lines ({} corrected, {} confirmed) in {}; left out: {} dates, sexes or numbers, {} cells not on one line",
                s.lines,
                s.corrected,
                s.confirmed,
                dir.display(),
                s.normalized_kinds,
                s.not_one_line
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            out,
            book_year,
            review_url,
        } => {
            existing_output(&out)?;
            let summary = sohoa::checks::check_out(&out, &sohoa::checks::CheckOptions { book_year }, &review_url)?;
            some_books(&out, summary.books.len())?;
            for (book, counts) in &summary.books {
                let total: usize = counts.values().sum();
                let detail: Vec<String> = counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
                println!(
                    "{book}: {total} findings{}{}",
                    if total > 0 { ": " } else { "" },
                    detail.join(", ")
                );
            }
            for f in &summary.findings {
                let row = f.at.row.map(|r| format!(" row {r}")).unwrap_or_default();
                eprintln!(
                    "  {} page {}{row}: {} ({})",
                    f.at.book, f.at.page_number, f.text, f.code
                );
            }
            eprintln!("sohoa: report in {}", sohoa::checks::report_path(&out).display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            out,
            book_year,
            review_url,
        } => {
            existing_output(&out)?;
            let c = sohoa::campaign::report(&out, &sohoa::checks::CheckOptions { book_year }, &review_url)?;
            some_books(&out, c.books.len())?;
            let line = |f: &sohoa::campaign::BookFigures| {
                let status: Vec<String> = f.status.iter().map(|(k, v)| format!("{v} {k}")).collect();
                let checks: usize = f.checks.values().sum();
                format!(
                    "{} pages ({}), {} records, {} confirmed, {checks} check findings",
                    f.pages,
                    status.join(", "),
                    f.records,
                    f.confirmed
                )
            };
            for (name, f) in &c.books {
                println!("{name}: {}", line(f));
            }
            println!("total: {}", line(&c.total));
            eprintln!(
                "sohoa: report in {} and {}",
                out.join(sohoa::campaign::CAMPAIGN_HTML).display(),
                out.join(sohoa::campaign::CAMPAIGN_JSON).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { out, truth, max_cer } => {
            let e = sohoa::eval::evaluate(&out, &truth).context("evaluation failed")?;
            println!("{}", serde_json::to_string_pretty(&e)?);
            match max_cer {
                Some(m) if e.field_cer > m => {
                    eprintln!("sohoa: field CER {:.3} is above {m}", e.field_cer);
                    Ok(ExitCode::from(3))
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

/// `sohoa read --lines`: one TSV line per image.
fn read_lines(
    images: &[PathBuf],
    kind: Option<sohoa::template::FieldKind>,
    model: Option<&std::path::Path>,
) -> Result<()> {
    use std::io::Write;
    let files = sohoa::ocr::ModelFiles::locate(model)?;
    let mut reader = sohoa::ocr::LineModel::load(&files)?;
    let lexicons = sohoa::ocr::constrain::Lexicons::builtin(&sohoa::template::Vocabulary::builtin());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in images {
        let line = match std::fs::read(path)
            .map_err(sohoa::ingest::DecodeError::from)
            .and_then(|b| sohoa::ingest::decode(&b))
        {
            Ok(frames) => {
                let img = &frames[0].gray;
                let r = sohoa::ocr::field::read_line_images(&mut reader, std::slice::from_ref(img), kind, &lexicons)?;
                format!(
                    "{}\t{}\t{:.3}",
                    path.display(),
                    r[0].text.replace('\t', " "),
                    r[0].confidence
                )
            }
            Err(e) => {
                eprintln!("sohoa: {}: {e}", path.display());
                format!("{}\t\t0", path.display())
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A resolution given on the command line: a finite number of dots per inch, 50–2400.
fn parse_dpi(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && (50.0..=2400.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} dpi is outside 50–2400"))
    }
}

fn sohoa_enhance(inputs: &[PathBuf], out: &std::path::Path, binarize: bool, dpi: f32) -> Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut files = Vec::new();
    for i in inputs {
        if i.is_dir() {
            for b in sohoa::ingest::discover_books(i, &[])?.books {
                files.extend(b.files.into_iter().map(|e| e.path));
            }
        } else {
            files.push(i.clone());
        }
    }
    let stdout = std::io::stdout();
    for f in files {
        let line = match std::fs::read(&f)
            .map_err(sohoa::ingest::DecodeError::from)
            .and_then(|b| sohoa::ingest::decode(&b))
        {
            Ok(frames) => {
                let frame = &frames[0];
                let d = frame.dpi.unwrap_or(dpi);
                let r = sohoa::restore::restore(&frame.gray, d, &Default::default());
                let stem = f.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                let path = out.join(format!("{stem}.png"));
                // Black and white as the page lies, pixel for pixel with the source.
                let img = if binarize {
                    sohoa::restore::binarize(&frame.gray, d, &Default::default())
                } else {
                    r.gray.clone()
                };
                sohoa::store::write_atomic(&path, &sohoa::encode::png(&img, Some(d)))?;
                serde_json::json!({
                    "source": f.display().to_string(),
                    "output": path.display().to_string(),
                    "skew_deg": (r.skew_deg as f64 * 100.0).round() / 100.0,
                    "quality": r.quality,
                })
            }
            Err(e) => serde_json::json!({ "source": f.display().to_string(), "error": e.to_string() }),
        };
        writeln!(stdout.lock(), "{line}")?;
    }
    Ok(())
}

/// The names a self-signed certificate for `bind` covers: loopback, the machine's host
/// name and the address itself.
fn certificate_names(bind: std::net::IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
        }
    }
    if !bind.is_unspecified() && !bind.is_loopback() {
        names.push(bind.to_string());
    }
    names
}

/// An output folder a command reads must exist.
fn existing_output(out: &std::path::Path) -> anyhow::Result<()> {
    if !out.is_dir() {
        anyhow::bail!("output folder {} does not exist or is not a folder", out.display());
    }
    Ok(())
}

/// A command over processed books needs some.
fn some_books(out: &std::path::Path, books: usize) -> anyhow::Result<()> {
    if books == 0 {
        anyhow::bail!("no processed book in {} (run `sohoa process` first)", out.display());
    }
    Ok(())
}

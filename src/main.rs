//! The `sohoa` command: a thin layer that parses flags and calls the library.
//!
//! Exit codes: 0 success (every input was read; pages judged `not_eligible` are results,
//! not failures); 1 the run could not be done (unreadable input folder, OCR unavailable,
//! output not writable, another run holding the output folder); 2 bad command-line usage
//! (also an output folder overlapping the input); 3 `eval` found the results below the bar
//! asked; 4 `verify` found a broken file; 5 `process` (or `enhance`) finished but some
//! inputs could not be read (pages with status `error`: damaged, unsupported or
//! unreadable entries).

mod cli;

use anyhow::{Context, Result};
use clap::Parser;
use cli::*;
use sohoa::batch::{self, BatchOptions};
#[cfg(feature = "synth")]
use sohoa::template::Layout;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

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
        Command::Process(args) => process(args),
        Command::Verify(args) => verify(args),
        Command::Enhance(args) => enhance(args),
        #[cfg(feature = "synth")]
        Command::Synth(args) => synth(args),
        Command::Review(args) => review(args),
        Command::Read(args) => read(args),
        Command::Dataset(args) => dataset(args),
        Command::Train(args) => train(args),
        Command::Check(args) => check(args),
        Command::Report(args) => report(args),
        Command::Eval(args) => eval(args),
    }
}

/// `sohoa process`.
fn process(args: ProcessArgs) -> Result<ExitCode> {
    let ProcessArgs {
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
    } = args;
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
    Ok(tell(&report, &out))
}

/// What a `process` run did, said on standard error, and its exit code (5 when some
/// pages could not be read).
fn tell(report: &batch::Report, out: &std::path::Path) -> ExitCode {
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
            sohoa::checks::report_path(out).display()
        );
    }
    for (book, n) in &report.review_superseded {
        eprintln!(
            "sohoa: book {book}: {n} review changes were made on pages since read from new scans; they are not applied (review those pages again)"
        );
    }
    for (book, n) in &report.review_lines_unreadable {
        eprintln!(
            "sohoa: book {book}: {} of its review journal ({}) cannot be read (cut short or damaged); their changes are not applied",
            lines(*n),
            sohoa::review::JOURNAL
        );
    }
    if report.pages_unreadable > 0 {
        eprintln!(
            "sohoa: {} pages could not be read (status error; their reasons are in the page results)",
            report.pages_unreadable
        );
        return ExitCode::from(5);
    }
    ExitCode::SUCCESS
}

/// `sohoa verify`.
fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let VerifyArgs { inputs, manifest } = args;
    let files = sohoa::verify::collect_pdfs(&inputs);
    if files.is_empty() {
        anyhow::bail!("no PDF files found");
    }
    if let Some(m) = &manifest {
        if !m.is_file() {
            anyhow::bail!("manifest {} does not exist or is not a file", m.display());
        }
    }
    let mut broken = 0;
    for f in &files {
        let v = sohoa::verify::verify_file(f, manifest.as_deref());
        if v.is_ok() && v.caveats.is_empty() {
            println!("ok      {} ({} pages)", f.display(), v.pages);
        } else if v.is_ok() {
            println!("ok      {} ({} pages; {})", f.display(), v.pages, v.caveats.join("; "));
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

/// `sohoa enhance`.
fn enhance(args: EnhanceArgs) -> Result<ExitCode> {
    let EnhanceArgs {
        inputs,
        out,
        binarize,
        dpi,
    } = args;
    let plan = batch::enhance::plan(&inputs)?;
    for s in &plan.skipped {
        eprintln!("sohoa: left out {}: {}", s.path, s.reason);
    }
    if plan.sources.is_empty() {
        let named: Vec<String> = inputs.iter().map(|i| i.display().to_string()).collect();
        anyhow::bail!("no files to enhance in {}", named.join(", "));
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let stdout = std::io::stdout();
    let mut failed = 0;
    for source in &plan.sources {
        let line = batch::enhance::enhance_file(source, &out, binarize, dpi)?;
        if let Some(e) = line.get("error") {
            eprintln!("sohoa: {}: {}", source.path.display(), e.as_str().unwrap_or_default());
            failed += 1;
        }
        writeln!(stdout.lock(), "{line}")?;
    }
    eprintln!(
        "sohoa: {} files restored into {}, {failed} could not be read",
        plan.sources.len() - failed,
        out.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(5)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(feature = "synth")]
/// `sohoa synth`.
fn synth(args: SynthArgs) -> Result<ExitCode> {
    let SynthArgs {
        out,
        book,
        set,
        pages,
        seed,
        dpi,
        layout,
        book_type,
        other_printing,
    } = args;
    if layout == Layout::Form && sohoa::template::Template::for_book(book_type.code(), Layout::Form).is_err() {
        anyhow::bail!(
            "no form pages of {} books are drawn: use --layout ledger, or --book-type ks, kh, kt or hn",
            book_type.code()
        );
    }
    let held_out = set.ends_with("-held-out");
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
    for s in &mut specs {
        s.book = book_type;
        s.alt = other_printing || held_out;
    }
    let files = sohoa::synth::write_book(&out, &book, &specs)?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `sohoa review`.
fn review(args: ReviewArgs) -> Result<ExitCode> {
    let ReviewArgs {
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
    } = args;
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
    for (book, n) in session.unreadable_journal_lines() {
        eprintln!(
            "sohoa: warning: book {book}: {} of its review journal ({}) cannot be read (cut short or damaged); their changes are not applied",
            lines(n),
            sohoa::review::JOURNAL
        );
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
    std::io::stdout().flush()?;
    session.run();
    Ok(ExitCode::SUCCESS)
}

/// `sohoa read`.
fn read(args: ReadArgs) -> Result<ExitCode> {
    let ReadArgs {
        lines: _,
        images,
        field,
        line_model,
    } = args;
    read_lines(&images, field, line_model.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// `sohoa dataset`.
fn dataset(args: DatasetArgs) -> Result<ExitCode> {
    let DatasetArgs { out, dir } = args;
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

/// `sohoa train`: the trainer's events as a progress bar and a line per epoch.
fn train(args: TrainArgs) -> Result<ExitCode> {
    use indicatif::ProgressBar;
    use sohoa::train::{Event, TrainError, TrainOptions};
    use std::io::IsTerminal;
    let opts = TrainOptions {
        data: args.data,
        val: args.val,
        out: args.out.clone(),
        base: args.base,
        epochs: args.epochs,
        seed: args.seed,
        batch: args.batch,
        freeze: args.freeze,
        lr: args.lr,
        max_minutes: args.max_minutes,
        patience: args.patience,
        restart: args.restart,
        cpu: args.cpu,
        threads: args.jobs,
        python: args.python,
        typed: args.typed,
    };
    let epochs = opts.epochs;
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    match sohoa::train::train(&opts, |e| show_train_event(e, &mut bar, epochs, terminal)) {
        Ok(Event::Done {
            best_epoch,
            val_cer,
            base_cer,
            seconds,
        }) => {
            let model = args.out.join("model.onnx");
            if best_epoch == 0 {
                eprintln!(
                    "sohoa: no epoch read the validation lines better than the starting model (CER {base_cer:.3}); {} is the starting model ({:.0} min)",
                    model.display(),
                    seconds / 60.0
                );
            } else {
                eprintln!(
                    "sohoa: {} written (epoch {best_epoch}; validation CER {base_cer:.3} → {val_cer:.3}; {:.0} min); read with --line-model {}",
                    model.display(),
                    seconds / 60.0,
                    model.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(
            e @ (TrainError::Vocabulary(_)
            | TrainError::MissingImage { .. }
            | TrainError::NoLabels { .. }
            | TrainError::Empty(_)),
        ) => {
            eprintln!("sohoa: error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

/// One trainer event on the terminal: a progress bar over an epoch's steps (on a terminal
/// only), a line per epoch.
fn show_train_event(
    event: &sohoa::train::Event,
    bar: &mut Option<indicatif::ProgressBar>,
    epochs: u32,
    terminal: bool,
) {
    use indicatif::{ProgressBar, ProgressStyle};
    use sohoa::train::Event;
    match event {
        Event::Start { lines, kept_lines, val_lines, val_cer, device, .. } => eprintln!(
            "sohoa: training on {lines} lines ({kept_lines} of them typed lines drawn by sohoa), validating on {val_lines} ({device}); the starting model's validation CER {val_cer:.3}"
        ),
        Event::Resumed { epoch } => {
            eprintln!("sohoa: going on after epoch {epoch} (OUT/checkpoint.pt)")
        }
        Event::Step { epoch, batch, batches, loss } if terminal => {
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(*batches as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix} {bar:40} {pos}/{len} steps  ETA {eta}  loss {msg}",
                    )
                    .expect("valid template"),
                );
                b
            });
            b.set_prefix(format!("{epoch}/{epochs}"));
            b.set_length(*batches as u64);
            b.set_position(*batch as u64);
            b.set_message(format!("{loss:.3}"));
        }
        Event::Epoch { epoch, loss, val_cer, best, seconds, out_of_time } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!(
                "sohoa: epoch {epoch}/{epochs}: loss {loss:.3}, validation CER {val_cer:.3}{}{} ({:.0} min)",
                if *best { " (best)" } else { "" },
                if *out_of_time { ", cut short by --max-minutes" } else { "" },
                seconds / 60.0
            );
        }
        Event::EarlyStop { best_epoch, .. } => {
            eprintln!("sohoa: the validation error stopped falling; keeping epoch {best_epoch}")
        }
        _ => {}
    }
}

/// `sohoa check`.
fn check(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs {
        out,
        book_year,
        review_url,
    } = args;
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

/// `sohoa report`.
fn report(args: ReportArgs) -> Result<ExitCode> {
    let ReportArgs {
        out,
        book_year,
        review_url,
    } = args;
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

/// `sohoa eval`.
fn eval(args: EvalArgs) -> Result<ExitCode> {
    let EvalArgs { out, truth, max_cer } = args;
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

/// `sohoa read --lines`: one TSV line per image.
fn read_lines(
    images: &[PathBuf],
    kind: Option<sohoa::template::FieldKind>,
    model: Option<&std::path::Path>,
) -> Result<()> {
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

/// "1 line", "3 lines".
fn lines(n: usize) -> String {
    format!("{n} line{}", if n == 1 { "" } else { "s" })
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

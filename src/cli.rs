//! The command line: the subcommands and their flags (clap), kept apart from what each
//! command does (`main.rs`).

use clap::{Args, Parser, Subcommand};
use sohoa::batch::BatchOptions;
#[cfg(feature = "synth")]
use sohoa::template::Layout;
use std::path::PathBuf;

/// Turn scanned pages of civil-registry books into checked records and PDF/A files.
#[derive(Parser)]
#[command(name = "sohoa", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Process a folder of scanned books: every folder that holds page images is one book.
    ///
    /// Writes, per book, OUT/<book>/pages/<page>.json (one result per page),
    /// OUT/<book>/images/<page>.jpg (the restored page), OUT/<book>/records.xlsx and
    /// records.csv (the Ministry's import layout), OUT/<book>/<book>.pdf (PDF/A-2b with a
    /// text layer), OUT/<book>/records/*.pdf (one PDF per record) and records.zip,
    /// OUT/<book>/manifest.sha256, and OUT/report.json. Running again skips pages already
    /// done; a file that cannot be decoded gets an `error` page result and the batch goes on
    /// (exit code 5 at the end: some inputs could not be read).
    Process(ProcessArgs),
    /// Check archival PDFs: whole and parseable, page images intact and decodable, valid PDF/A,
    /// and unchanged since `process` wrote them (each file's own seal; manifest.sha256 inside
    /// OUT, or --manifest; without one a file re-written whole passes, and `ok` says so).
    /// Exit code 4 if any is broken.
    Verify(VerifyArgs),
    /// Restore page images (deskew, flatten, optionally binarize) and print one JSON line each.
    Enhance(EnhanceArgs),
    /// Generate synthetic damaged ledger pages with ground truth.
    #[cfg(feature = "synth")]
    Synth(SynthArgs),
    /// Review the pre-filled records in a browser: a local web server over a processed
    /// output folder.
    ///
    /// Prints the address to open (with its access token). Every correction, confirmation
    /// and eligibility decision is written to OUT/<book>/review.jsonl before it is
    /// acknowledged and applied to the page results; "Export" rewrites records.xlsx and
    /// records.csv from the reviewed values. Stop with Ctrl+C: nothing is lost.
    Review(ReviewArgs),
    /// Read text-line images with the line model alone: one TSV line per image (file,
    /// text, confidence), for checking a model on a set of lines.
    Read(ReadArgs),
    /// Export reviewed fields as a training set for the line model: every field an officer
    /// corrected, or confirmed with its record, becomes a line image and its text.
    ///
    /// Writes DIR/lines/*.png, DIR/labels.tsv (path<TAB>text) and DIR/meta.tsv (where each
    /// line comes from). Only reviewed values, never raw OCR; dates, sex and numbers (exported
    /// normalized, not as written) and cells written over several lines are left out.
    Dataset(DatasetArgs),
    /// Fine-tune the line model on reviewed lines (`sohoa dataset`'s folders): the hand of
    /// a province's own books, learnt from the lines its officers checked.
    ///
    /// Writes OUT/model.onnx and OUT/vocab.json (read them with --line-model
    /// OUT/model.onnx), OUT/training.json (the validation error after every epoch) and a
    /// checkpoint after every epoch: run the same command again after an interruption and
    /// it goes on from there. Needs the training environment (`scripts/setup --train`:
    /// PyTorch); runs on the CPU, on a GPU where there is one. With the defaults, 2,600
    /// lines train in about 80 minutes on two cores. Exit code 2 when the lines are
    /// refused (a character the model cannot write, a missing image).
    Train(TrainArgs),
    /// Check the processed books as a team lead would before handing them in (also run at
    /// the end of `process`): a page scanned twice, a record entered twice (the same
    /// register number in a book, the same person anywhere), register numbers missing,
    /// registration dates out of order, records of another year, ID numbers that
    /// contradict the record.
    ///
    /// Writes OUT/<book>/checks.csv and checks.json, and OUT/checks.html, a report with
    /// links into the review screen; prints the counts. Exit code 0 whatever is found.
    Check(CheckArgs),
    /// One report over every book in OUT, whichever runs or shards wrote them: pages by
    /// status and reason, records, review progress per officer, the book checks (run
    /// here over every book), each run's throughput.
    ///
    /// Writes OUT/campaign.json and OUT/campaign.html (and the book checks' files); prints
    /// a line per book. Run it once every shard of a campaign is done.
    Report(ReportArgs),
    /// Compare processed results with synthetic ground truth: records found, field CER.
    Eval(EvalArgs),
}

// The flags of `sohoa process` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct ProcessArgs {
    /// Folder of scans (PNG, JPEG, TIFF, or PDFs whose pages are each one scanned image).
    pub input: PathBuf,
    /// Output folder.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Book type: auto (each book's told by the titles printed on its pages, "SỔ ĐĂNG KÝ
    /// KẾT HÔN", or else by its column headings; a folder of mixed books is read book by
    /// book), or fixed for every book: ks (birth), kh (marriage), kt (death), cmc
    /// (parent–child recognition), hn (marital-status confirmation). Adoption (ncn) and
    /// guardianship (gh) books, which have no Ministry import template, and books whose
    /// type cannot be told are read by their tables' own headings.
    #[arg(long, default_value = "auto", value_parser = ["auto", "ks", "kh", "kt", "cmc", "hn", "ncn", "gh"])]
    pub book_type: String,
    /// Page layout: auto (found page by page: a ruled table is a ledger page, printed
    /// labels down the page a form page; a book may mix them), or fixed for every page:
    /// ledger (a ruled table, one record per row; books before 2006) or form (one
    /// record per page, values written after printed labels; 2006–2020).
    #[arg(long, value_enum, default_value = "auto")]
    pub layout: sohoa::pipeline::LayoutChoice,
    /// Worker threads (default: one per core).
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// Tesseract language(s), e.g. vie or vie+eng.
    #[arg(long, default_value = "vie")]
    pub lang: String,
    /// Resolution of files that state none, 50–2400 (default: inferred page by page
    /// from the height of the writing, 300 when the page tells too little).
    #[arg(long, value_parser = parse_dpi)]
    pub dpi: Option<f32>,
    /// Allow the output folder inside the input folder (it is left out of the input).
    #[arg(long)]
    pub out_inside_input: bool,
    /// Largest page image read, in megapixels; a file whose header claims more is
    /// refused before it is decoded (a 600-dpi A2 scan is about 140).
    #[arg(long, default_value_t = BatchOptions::MAX_PIXELS / 1_000_000, value_parser = clap::value_parser!(u64).range(1..=2000))]
    pub max_megapixels: u64,
    /// Memory the pages being read at once may take, in MB: a worker waits before
    /// reading a page that would go over it, and a page that alone would is refused.
    #[arg(long, default_value_t = BatchOptions::PAGE_MEMORY >> 20, value_parser = clap::value_parser!(u64).range(64..=1_000_000))]
    pub page_memory: u64,
    /// Process only this shard's books: `K/N` (0-based), or `N` with the index taken
    /// from a Slurm array task or a Kubernetes Indexed Job. Shards of one campaign run
    /// at once on one OUT; each writes report-shard-K-of-N.json. Run `sohoa report OUT`
    /// when all are done (it runs the book checks over every book).
    #[arg(long, value_parser = sohoa::batch::Shard::parse, value_name = "K/N")]
    pub shard: Option<sohoa::batch::Shard>,
    /// Redo pages even when their result exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar (one log line per page instead).
    #[arg(long)]
    pub no_progress: bool,
    /// JPEG quality of the restored page images and PDF pages.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: u8,
    /// Page images in the PDFs: the scan untouched (original), the restored grey page
    /// (enhanced), the black-and-white page as CCITT G4 (bilevel, smallest), or the
    /// ink as a sharp G4 mask over a 100-dpi JPEG of the paper (mrc: the restored page's
    /// legibility at about a fifth of its size).
    #[arg(long, value_enum, default_value = "mrc")]
    pub pdf_image: sohoa::archive::ImageMode,
    /// Book number used in record PDF names (KS.<year>.<number>.<date>.<so>.pdf).
    #[arg(long, default_value = "01")]
    pub book_number: String,
    /// Book year used in record PDF names (default: the most common registration year).
    #[arg(long)]
    pub book_year: Option<String>,
    /// Do not write one PDF per record (records/ and records.zip).
    #[arg(long)]
    pub no_record_pdfs: bool,
    /// Declare the PDFs PDF/A-2u (Unicode text) instead of PDF/A-2b.
    #[arg(long)]
    pub pdfa_u: bool,
    /// Which engines read the values in the cells: best (the neural line model, which
    /// reads handwriting; needs it installed by scripts/setup) or tesseract (Tesseract
    /// for every cell).
    #[arg(long, value_enum, default_value = "best")]
    pub reader: sohoa::cells::CellReaders,
    /// A line model to read with instead of the installed one (an ONNX CTC model with
    /// its vocab.json beside it).
    #[arg(long, value_name = "PATH")]
    pub line_model: Option<PathBuf>,
}

// The flags of `sohoa verify` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct VerifyArgs {
    /// PDF files or folders to search for PDFs.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// A manifest (`manifest.sha256`, as `process` writes beside each book) to compare
    /// the files with, for files copied out of OUT; inside OUT their book's is found.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

// The flags of `sohoa enhance` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct EnhanceArgs {
    /// Images or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder for <stem>.png.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Write the black-and-white page (text 0, paper 255, not deskewed: the same size as
    /// the input) instead of the restored grey one.
    #[arg(long)]
    pub binarize: bool,
    /// Resolution assumed for files that state none, 50–2400.
    #[arg(long, default_value_t = 300.0, value_parser = parse_dpi)]
    pub dpi: f32,
}

#[cfg(feature = "synth")]
// The flags of `sohoa synth` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct SynthArgs {
    /// Output folder: pages go to OUT/books/<book>/, truth to OUT/truth/<book>/.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Book folder name.
    #[arg(long, default_value = "ks-1983")]
    pub book: String,
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
    pub set: String,
    /// Pages of the `varied` set.
    #[arg(long, default_value_t = 12)]
    pub pages: u32,
    /// Seed of the `varied` set.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Resolution of every page of the `varied` set (default: 150, 200 or 300 at random).
    #[arg(long)]
    pub dpi: Option<f32>,
    /// Page layout: ledger (a ruled table) or form (one record per portrait page,
    /// values after printed labels).
    #[arg(long, value_enum, default_value = "ledger")]
    pub layout: Layout,
    /// Book type of the pages: ks (birth), kh (marriage: a band over each spouse's
    /// columns), kt (death), cmc (parent–child recognition), hn (marital-status
    /// confirmation). The type's pages have its title, headings and records; with
    /// `--layout form`, its form (ks, kt, hn: labels down the page; kh: a column per spouse).
    #[arg(long, value_enum, default_value = "ks")]
    pub book_type: sohoa::synth::SynthBook,
    /// Another printing of the type's ledger (its headings' other wordings, the bands in
    /// the other order); the `-held-out` sets draw it too. Kept out of tuning.
    #[arg(long)]
    pub other_printing: bool,
}

// The flags of `sohoa review` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct ReviewArgs {
    /// Output folder of `sohoa process`.
    pub out: PathBuf,
    /// Port to listen on (0: any free port). Keep the same port across restarts:
    /// changes still waiting in a browser are kept per address.
    #[arg(long, default_value_t = 8377)]
    pub port: u16,
    /// Address to listen on. The default serves this computer only. Another address
    /// (e.g. 0.0.0.0) exposes the records to the network: it needs --users, and the
    /// server then speaks TLS only (a self-signed certificate unless --tls-cert is
    /// given).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// The one reviewer's name, recorded with every change (default: the login name).
    #[arg(long, conflicts_with = "users")]
    pub user: Option<String>,
    /// A team of officers: a file with one officer per line, `name: token` (a token
    /// of 16+ letters, digits, '-', '_', '.', '~'), or a name alone for a random token.
    /// Each officer gets an address of their own (printed as name, tab, address) and
    /// every change is signed with their name.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Serve over TLS with a self-signed certificate kept in
    /// OUT/.sohoa-review-tls (its fingerprint is printed: check it in the browser).
    #[arg(long)]
    pub tls: bool,
    /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a request may take to arrive whole; a client that stalls is dropped.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: u64,
    /// Connections served at once; more are answered "busy" at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(2..=10_000))]
    pub max_connections: u64,
}

// The flags of `sohoa read` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct ReadArgs {
    /// Read each image as one text line (the only mode so far).
    #[arg(long, required = true)]
    pub lines: bool,
    /// Text-line images (PNG, JPEG, TIFF; dark ink on light paper).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Decode as a field of this kind (constrained by what it can hold, e.g. place:
    /// the gazetteer's names); without it, the free reading.
    #[arg(long, value_enum)]
    pub field: Option<sohoa::template::FieldKind>,
    /// A line model instead of the installed one (its vocab.json beside it).
    #[arg(long, value_name = "PATH")]
    pub line_model: Option<PathBuf>,
}

// The flags of `sohoa dataset` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct DatasetArgs {
    /// Output folder of `sohoa process` (reviewed with `sohoa review`).
    pub out: PathBuf,
    /// Folder to write the data set into.
    #[arg(long = "out", value_name = "DIR")]
    pub dir: PathBuf,
}

// The flags of `sohoa train` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct TrainArgs {
    /// Training lines: folders written by `sohoa dataset` (or labels.tsv files:
    /// path<TAB>text, paths relative to the file).
    #[arg(long, required = true, num_args = 1.., value_name = "DIR")]
    pub data: Vec<PathBuf>,
    /// Folder to write the model, its vocabulary, the curve and the checkpoints into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The model to start from (its vocab.json beside it; default: the installed one).
    #[arg(long, value_name = "MODEL")]
    pub base: Option<PathBuf>,
    /// Validation lines, never trained on (default: a tenth of the training lines, drawn
    /// by the seed). Training keeps the epoch that reads them best.
    #[arg(long, num_args = 1.., value_name = "DIR")]
    pub val: Vec<PathBuf>,
    /// Passes over the training lines at most.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub epochs: u32,
    /// Seed of the order, the augmentation and the validation split: the same seed and
    /// lines give the same model.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many minutes (the epoch under way is cut short, measured and kept
    /// if it is the best); 0: no limit.
    #[arg(long, default_value_t = 85.0)]
    pub max_minutes: f64,
    /// Epochs without a lower validation error before training stops.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub patience: u32,
    /// Lines per step.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub batch: u32,
    /// Learning rate (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,
    /// Stages of the network kept as they are, from the input: 0 trains all; 3 (the
    /// default) keeps the stem and the first two layers, which see strokes rather than
    /// hands, and trains three times faster; 5 trains only the sequence layers and head.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=5))]
    pub freeze: u32,
    /// Begin again instead of going on from OUT/checkpoint.pt.
    #[arg(long)]
    pub restart: bool,
    /// Train on the CPU even where there is a GPU.
    #[arg(long)]
    pub cpu: bool,
    /// CPU threads (default: one per core).
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// The Python to run the trainer with (default: SOHOA_TRAIN_PYTHON, else the training
    /// environment `scripts/setup --train` installs).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Typed lines of record values, drawn by sohoa and trained on beside the handwritten
    /// ones, as a share of them (0.2: one for every five). A model trained on a hand alone
    /// forgets print and reads typed pages worse; these lines are never validated on.
    #[arg(long, default_value_t = 0.2, value_name = "SHARE")]
    pub typed: f64,
}

// The flags of `sohoa check` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct CheckArgs {
    /// Output folder of `sohoa process`.
    pub out: PathBuf,
    /// The books' year (default: each book's most common registration year).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1850..=2100))]
    pub book_year: Option<u32>,
    /// The review server's address, for the report's links.
    #[arg(long, default_value = sohoa::checks::DEFAULT_REVIEW_URL)]
    pub review_url: String,
}

// The flags of `sohoa report` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct ReportArgs {
    /// Output folder of `sohoa process` (or of its shards).
    pub out: PathBuf,
    /// The books' year (default: each book's most common registration year).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1850..=2100))]
    pub book_year: Option<u32>,
    /// The review server's address, for the checks report's links.
    #[arg(long, default_value = sohoa::checks::DEFAULT_REVIEW_URL)]
    pub review_url: String,
}

// The flags of `sohoa eval` (a plain comment: the subcommand's doc comment is its help).
#[derive(Args)]
pub struct EvalArgs {
    /// Output folder of `sohoa process`.
    pub out: PathBuf,
    /// Truth folder written by `sohoa synth` (its OUT/truth).
    pub truth: PathBuf,
    /// Exit with code 3 when the field CER is above this.
    #[arg(long)]
    pub max_cer: Option<f64>,
}

/// A resolution given on the command line: a finite number of dots per inch, 50–2400.
pub fn parse_dpi(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && (50.0..=2400.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} dpi is outside 50–2400"))
    }
}

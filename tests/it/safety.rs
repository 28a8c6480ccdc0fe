//! Whatever the input folder holds: colliding names, broken links, overlapping folders,
//! decompression bombs, a second run on the same output, options out of range.

use crate::common::*;
use std::path::Path;

fn sample_page(name: &str) -> std::path::PathBuf {
    samples().join("books/ks-1983").join(name)
}

/// The grey pixels of a sample page.
fn sample_gray(name: &str) -> image::GrayImage {
    image::open(sample_page(name)).unwrap().into_luma8()
}

fn page_json(out: &Path, book: &str) -> Vec<serde_json::Value> {
    let mut v: Vec<serde_json::Value> = std::fs::read_dir(out.join(book).join("pages"))
        .unwrap()
        .flatten()
        .map(|e| read_json(&e.path()))
        .collect();
    v.sort_by_key(|p| p["page"].as_u64());
    v
}

#[test]
fn colliding_page_and_book_names_are_all_kept_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let one = input.join("sổ 1");
    let other = input.join("sổ_1");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    // A two-frame TIFF `m.tif` beside `m-p2.png`; `a b.tif` beside `a_b.png`.
    let mut tif = std::io::Cursor::new(Vec::new());
    {
        use tiff::encoder::{colortype::Gray8, TiffEncoder};
        let mut enc = TiffEncoder::new(&mut tif).unwrap();
        for name in ["trang-1.png", "trang-2.jpg"] {
            let g = sample_gray(name);
            enc.write_image::<Gray8>(g.width(), g.height(), g.as_raw()).unwrap();
        }
    }
    std::fs::write(one.join("m.tif"), tif.get_ref()).unwrap();
    std::fs::copy(sample_page("trang-1.png"), one.join("m-p2.png")).unwrap();
    std::fs::copy(sample_page("trang-3.tif"), one.join("a b.tif")).unwrap();
    std::fs::copy(sample_page("trang-1.png"), one.join("a_b.png")).unwrap();
    std::fs::copy(sample_page("trang-3.tif"), other.join("x.tif")).unwrap();
    let out = tmp.path().join("out");
    let (code, err) = process_status(&input, &out, &["--dpi", "150"]);
    assert_eq!(code, Some(0), "{err}");

    // Every page of every file has its own result, its exact source and frame.
    let pages = page_json(&out, "sổ_1");
    let sources: Vec<(String, u64)> = pages
        .iter()
        .map(|p| (p["source"].as_str().unwrap().to_string(), p["frame"].as_u64().unwrap()))
        .collect();
    let want: Vec<(String, u64)> = [
        ("a b.tif", 0),
        ("a_b.png", 0),
        ("m-p2.png", 0),
        ("m.tif", 0),
        ("m.tif", 1),
    ]
    .iter()
    .map(|(f, i)| (format!("sổ 1/{f}"), *i))
    .collect();
    assert_eq!(sources, want);
    let mut names: Vec<&str> = pages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5, "{names:?}");
    // The pages that lost their name say so.
    let renamed: Vec<&serde_json::Value> = pages
        .iter()
        .filter(|p| p["reasons"].to_string().contains("already named"))
        .collect();
    assert_eq!(renamed.len(), 2, "{pages:?}");
    // The other folder is a book of its own, and the report says which name it got.
    assert_eq!(page_json(&out, "sổ_1_2").len(), 1);
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["pages"], 6);
    assert_eq!(report["books"], 2);
    assert_eq!(report["books_renamed"]["sổ_1"], "sổ_1_2");
    // The book's PDF holds each page once.
    let pdf = lopdf::Document::load(out.join("sổ_1/sổ_1.pdf")).unwrap();
    assert_eq!(pdf.get_pages().len(), 5);
}

#[cfg(unix)]
#[test]
fn broken_links_a_link_loop_and_links_out_of_the_input_do_not_stop_the_run() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let book = input.join("b");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::copy(sample_page("trang-1.png"), book.join("trang-1.png")).unwrap();
    std::fs::copy(sample_page("trang-1.png"), book.join(".hidden.png")).unwrap();
    symlink("/nonexistent/scan.png", book.join("dangling.png")).unwrap();
    symlink("../b", book.join("loop")).unwrap();
    symlink("/etc/hostname", book.join("outside.png")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(book.join("fifo.png"))
        .status()
        .is_ok_and(|s| s.success());
    let out = tmp.path().join("out");
    let (code, err) = process_status(&input, &out, &[]);
    // Finished, and its code says some inputs could not be read.
    assert_eq!(code, Some(5), "{err}");
    let status = |name: &str| read_json(&out.join(format!("b/pages/{name}.json")));
    assert_eq!(status("trang-1")["status"], "ok");
    for (name, why) in [("dangling", "broken symbolic link"), ("loop", "loop")] {
        let p = status(name);
        assert_eq!(p["status"], "error", "{name}");
        assert!(
            p["reasons"][0].as_str().unwrap().contains(why),
            "{name}: {}",
            p["reasons"]
        );
    }
    let report = read_json(&out.join("report.json"));
    let skipped = report["skipped"].to_string();
    assert!(
        skipped.contains("b/outside.png") && skipped.contains("outside the input"),
        "{skipped}"
    );
    assert!(skipped.contains("b/.hidden.png"), "{skipped}");
    if fifo {
        assert!(skipped.contains("b/fifo.png"), "{skipped}");
    }
    assert!(!out.join("b/pages/outside.json").exists());
    assert_eq!(report["pages"], 3);
    assert_eq!(report["pages_unreadable"], 2);
}

#[test]
fn an_output_folder_overlapping_the_input_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("b")).unwrap();
    std::fs::copy(sample_page("trang-1.png"), input.join("b/trang-1.png")).unwrap();
    for out in [input.join("out"), input.clone(), tmp.path().to_path_buf()] {
        let (code, err) = process_status(&input, &out, &[]);
        assert_eq!(code, Some(2), "{}: {err}", out.display());
        assert!(err.contains("outputs would be read as pages"), "{err}");
    }
    assert!(!input.join("out").exists(), "nothing written when refused");
    // Allowed, the output folder is left out of the input: a second run reads no output
    // back as a page.
    for _ in 0..2 {
        let (code, err) = process_status(&input, &input.join("out"), &["--out-inside-input"]);
        assert_eq!(code, Some(0), "{err}");
    }
    let report = read_json(&input.join("out/report.json"));
    assert_eq!((report["books"].as_u64(), report["pages"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn decompression_bombs_are_refused_with_their_reason_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in/b");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::copy(sample_page("trang-1.png"), book.join("trang-1.png")).unwrap();
    // A 16×16 JPEG whose header claims 10000×10000 pixels.
    let mut jpeg = Vec::new();
    image::GrayImage::from_pixel(16, 16, image::Luma([200]))
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let sof = jpeg.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x27, 0x10, 0x27, 0x10]);
    std::fs::write(book.join("bomb.jpg"), &jpeg).unwrap();
    // A real 5000×5000 page, over a page memory budget of 64 MB.
    let big = image::GrayImage::from_pixel(5000, 5000, image::Luma([230]));
    big.save(book.join("big.png")).unwrap();
    let out = tmp.path().join("out");
    let (code, err) = process_status(&tmp.path().join("in"), &out, &["--page-memory", "64"]);
    assert_eq!(code, Some(5), "{err}");
    let page = |name: &str| read_json(&out.join(format!("b/pages/{name}.json")));
    assert_eq!(page("trang-1")["status"], "ok");
    let bomb = page("bomb");
    assert_eq!(bomb["status"], "error");
    assert!(
        bomb["reasons"][0]
            .as_str()
            .unwrap()
            .contains("claims 10000×10000 pixels, more than its"),
        "{}",
        bomb["reasons"]
    );
    let big = page("big");
    assert_eq!(big["status"], "error");
    assert!(
        big["reasons"][0]
            .as_str()
            .unwrap()
            .contains("over the 64 MB a page may take"),
        "{}",
        big["reasons"]
    );
}

#[test]
fn a_second_run_on_the_same_output_is_refused_while_the_first_holds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in/b");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(sample_page("trang-1.png"), input.join("trang-1.png")).unwrap();
    let out = tmp.path().join("out");
    let held = sohoa::store::OutLock::take(&out).unwrap();
    let (code, err) = process_status(&tmp.path().join("in"), &out, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("another sohoa run is writing to"), "{err}");
    assert!(!out.join("report.json").exists());
    drop(held);
    let (code, err) = process_status(&tmp.path().join("in"), &out, &[]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn resolutions_out_of_range_are_refused_by_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    for dpi in ["NaN", "inf", "0", "100000", "-300", "abc"] {
        let arg = format!("--dpi={dpi}");
        let (code, err) = process_status(&samples().join("books"), &tmp.path().join("o"), &[&arg]);
        assert_eq!(code, Some(2), "--dpi {dpi}: {err}");
        assert!(err.contains("--dpi"), "{err}");
    }
    assert!(!tmp.path().join("o").exists());
}

/// A scanner's PDF: one page per JPEG, each drawn over a page of its size at `dpi`.
fn scanned_pdf(jpegs: &[Vec<u8>], dpi: f32) -> Vec<u8> {
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
    let mut pdf = Pdf::new();
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    pdf.catalog(catalog).pages(tree);
    let kids: Vec<Ref> = (0..jpegs.len()).map(|i| Ref::new(10 + 3 * i as i32)).collect();
    pdf.pages(tree).kids(kids.iter().copied()).count(jpegs.len() as i32);
    for (i, jpeg) in jpegs.iter().enumerate() {
        let (page, image, content) = (kids[i], Ref::new(11 + 3 * i as i32), Ref::new(12 + 3 * i as i32));
        let img = image::load_from_memory(jpeg).unwrap();
        let (w, h) = (img.width() as f32 * 72.0 / dpi, img.height() as f32 * 72.0 / dpi);
        let mut p = pdf.page(page);
        p.parent(tree).media_box(Rect::new(0.0, 0.0, w, h)).contents(content);
        p.resources().x_objects().pair(Name(b"Im0"), image);
        p.finish();
        let mut x = pdf.image_xobject(image, jpeg);
        x.width(img.width() as i32)
            .height(img.height() as i32)
            .bits_per_component(8);
        if img.color().has_color() {
            x.color_space().device_rgb();
        } else {
            x.color_space().device_gray();
        }
        x.filter(Filter::DctDecode);
        x.finish();
        let mut c = Content::new();
        c.save_state()
            .transform([w, 0.0, 0.0, h, 0.0, 0.0])
            .x_object(Name(b"Im0"))
            .restore_state();
        pdf.stream(content, &c.finish());
    }
    pdf.finish()
}

#[test]
fn a_scanned_pdf_gives_its_pages_and_keeps_its_jpegs_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in/b");
    std::fs::create_dir_all(&book).unwrap();
    let page = std::fs::read(sample_page("trang-2.jpg")).unwrap();
    // The sample page again, as a colour JPEG of its own.
    let mut colour = Vec::new();
    image::DynamicImage::ImageLuma8(sample_gray("trang-2.jpg"))
        .into_rgb8()
        .write_to(&mut std::io::Cursor::new(&mut colour), image::ImageFormat::Jpeg)
        .unwrap();
    let jpegs = vec![page, colour];
    std::fs::write(book.join("scan.pdf"), scanned_pdf(&jpegs, 150.0)).unwrap();
    // A PDF that is not a scan, and one cut short.
    std::fs::write(book.join("zz-cut.pdf"), &scanned_pdf(&jpegs, 150.0)[..2000]).unwrap();
    let out = tmp.path().join("out");
    let (code, err) = process_status(&tmp.path().join("in"), &out, &["--pdf-image", "original"]);
    assert_eq!(code, Some(5), "{err}");
    let pages = page_json(&out, "b");
    let names: Vec<&str> = pages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["scan", "scan-p2", "zz-cut"]);
    for p in &pages[..2] {
        assert_eq!(p["status"], "ok", "{p}");
        // The resolution from the image's size over the page's.
        assert_eq!(p["source_dpi"], 150.0);
        assert!(p["records"].as_array().unwrap().len() >= 8, "{}", p["records"]);
    }
    assert_eq!(pages[2]["status"], "error");
    assert!(
        pages[2]["reasons"][0].as_str().unwrap().contains("PDF"),
        "{}",
        pages[2]["reasons"]
    );
    // The book's PDF holds the scanner's JPEGs as they were.
    let doc = lopdf::Document::load(out.join("b/b.pdf")).unwrap();
    let mut stored: Vec<Vec<u8>> = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| s.dict.get(b"Subtype").and_then(|n| n.as_name()).ok() == Some(b"Image".as_slice()))
        .map(|s| s.content.clone())
        .collect();
    stored.sort();
    let mut want = jpegs.clone();
    want.sort();
    assert_eq!(stored, want);
}

/// `sohoa enhance` over a folder and over files named on its command line: the same
/// discovery, refusals and messages as `process`; results never overwrite each other; a
/// FIFO or a link to a device is refused before it is opened, never read without end.
#[test]
fn enhance_keeps_every_result_and_says_what_it_left_out() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    let gray = sample_gray("trang-1.png");
    let small = image::imageops::resize(
        &gray,
        gray.width() / 3,
        gray.height() / 3,
        image::imageops::FilterType::Triangle,
    );
    small.save(input.join("a.png")).unwrap();
    small.save(input.join("a.jpg")).unwrap();
    small.save(input.join("sub/a.tif")).unwrap();
    small.save(input.join(".hidden.png")).unwrap();
    symlink("/etc/hostname", input.join("outside.png")).unwrap();
    symlink("/dev/zero", input.join("zero.png")).unwrap();
    let fifo = input.join("fifo.png");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = tmp.path().join("out");
    let run = |args: &[&Path]| {
        let mut child = sohoa()
            .arg("enhance")
            .args(args)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Nothing may block on the FIFO or read the device without end.
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(started.elapsed().as_secs() < 120, "enhance did not finish");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.wait_with_output().unwrap()
    };
    let o = run(&[&input]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let outputs: Vec<&str> = lines.iter().filter_map(|l| l["output"].as_str()).collect();
    assert_eq!(outputs.len(), 3, "{stdout}");
    let mut distinct = outputs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{outputs:?}");
    for o in &outputs {
        assert!(Path::new(o).is_file(), "{o}");
    }
    for said in [
        ".hidden.png: hidden",
        "outside.png: symbolic link to outside",
        "zero.png: symbolic link to outside",
        "fifo.png: not a regular file",
    ] {
        assert!(stderr.contains(said), "{said:?} not said:\n{stderr}");
    }
    // Named on the command line.
    let o = run(&[&fifo, Path::new("/dev/zero"), &input.join("a.png")]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(5));
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("not a regular file"),
        "{stdout}"
    );
    assert!(
        lines[1]["error"].as_str().unwrap().contains("not a regular file"),
        "{stdout}"
    );
    assert!(lines[2]["output"].as_str().is_some());
    // Nothing to enhance is an error, not silence.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run(&[&empty]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no files to enhance"));
}

/// An output folder given as a link to a folder that is not there is said to be one.
#[test]
fn an_output_link_to_nowhere_is_said_to_be_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lnk");
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), &out).unwrap();
    let (code, stderr) = process_status(&samples().join("books"), &out, &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("a symbolic link to") && stderr.contains("which does not exist"),
        "{stderr}"
    );
    assert!(!stderr.contains("File exists"), "{stderr}");
}

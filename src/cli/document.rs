//! `kyc-kiosk read-document` and `kyc-kiosk eval-documents`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;
use serde::Serialize;

use kyc_core::config::Config;
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::reader::{DocumentReader, DocumentReading, OcrModels, ReaderOptions};
use kyc_core::error::{Error, Result, exit};
use kyc_core::imaging;

/// The document commands (flattened into the binary's command list).
#[derive(Debug, Clone, Subcommand)]
pub enum DocumentCommand {
    /// Read an ID document or passport image: OCR, MRZ, fields, checks, quality, portrait.
    ReadDocument {
        /// Image of the document (JPEG, PNG, BMP, TIFF or WebP); its front when it has two sides.
        image: PathBuf,
        /// Image of the document's back side (ID cards with the MRZ on the back): both sides
        /// are read and merged (MRZ from the side with a valid one, printed fields from the
        /// front first, portrait from the front); the JSON adds `back` and `sides`.
        #[arg(long)]
        back: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// OCR model pair: tiny (default) or small.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "small"])]
        ocr: String,
        /// "Today" as YYYY-MM-DD (default: the system clock), for expiry and age.
        #[arg(long)]
        today: Option<String>,
        /// Read only the MRZ lines (passports, MRZ cards): no visual zone, no portrait; the
        /// whole document is read when no MRZ is found that way.
        #[arg(long)]
        mrz_only: bool,
        /// Do not locate the document's edges nor rectify it: read the text where it lies.
        #[arg(long)]
        no_locate: bool,
    },
    /// Read every image in a folder and report MRZ found / valid, fields and time per image and
    /// in total; `<stem>.truth.json` beside an image gives expected field values to score.
    EvalDocuments {
        /// Folder of images.
        dir: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// OCR model pair: tiny (default) or small.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "small"])]
        ocr: String,
        /// "Today" as YYYY-MM-DD (default: the system clock).
        #[arg(long)]
        today: Option<String>,
        /// Skip the portrait (face models) to time the text path alone.
        #[arg(long)]
        no_portrait: bool,
        /// Read only the MRZ lines (see `read-document --mrz-only`).
        #[arg(long)]
        mrz_only: bool,
        /// Do not locate the document's edges nor rectify it.
        #[arg(long)]
        no_locate: bool,
    },
}

impl DocumentCommand {
    /// Whether the command prints JSON (errors then go out as JSON too).
    #[must_use]
    pub fn json(&self) -> bool {
        match self {
            Self::ReadDocument { json, .. } | Self::EvalDocuments { json, .. } => *json,
        }
    }
}

/// Reader switches from the command line.
#[derive(Debug, Clone, Copy)]
struct Switches {
    portrait: bool,
    mrz_only: bool,
    locate: bool,
}

fn options(ocr: &str, today: Option<&str>, sw: Switches) -> Result<ReaderOptions> {
    let today = match today {
        None => None,
        Some(t) => Some(IsoDate::parse_iso(t).ok_or_else(|| Error::Config {
            path: PathBuf::from("--today"),
            reason: format!("{t:?} is not a date YYYY-MM-DD"),
        })?),
    };
    Ok(ReaderOptions {
        models: if ocr == "small" {
            OcrModels::Small
        } else {
            OcrModels::Tiny
        },
        today,
        portrait: sw.portrait && !sw.mrz_only,
        mrz_only: sw.mrz_only,
        locate: sw.locate,
        ..ReaderOptions::default()
    })
}

/// Run a document command; returns the exit code.
///
/// # Errors
/// Setup failures (models, runtime), a refused image for `read-document`, I/O.
pub fn run(config: &Config, cmd: DocumentCommand) -> Result<i32> {
    match cmd {
        DocumentCommand::ReadDocument {
            image,
            back,
            json,
            ocr,
            today,
            mrz_only,
            no_locate,
        } => {
            let decoded = imaging::decode_file(&image, &config.limits)?;
            let back_decoded = back
                .as_ref()
                .map(|p| imaging::decode_file(p, &config.limits))
                .transpose()?;
            let sw = Switches {
                portrait: true,
                mrz_only,
                locate: !no_locate,
            };
            let mut reader =
                DocumentReader::load(config.reader_options(options(&ocr, today.as_deref(), sw)?))?;
            let (reading, _) =
                reader.read_sides(&decoded.rgb, back_decoded.as_ref().map(|d| &d.rgb))?;
            if json {
                print_json(&reading);
            } else {
                print_human(&image, &reading);
                if let (Some(path), Some(b)) = (&back, &reading.back) {
                    print_back(path, b, reading.sides.as_ref());
                }
            }
            Ok(exit::OK)
        }
        DocumentCommand::EvalDocuments {
            dir,
            json,
            ocr,
            today,
            no_portrait,
            mrz_only,
            no_locate,
        } => {
            let sw = Switches {
                portrait: !no_portrait,
                mrz_only,
                locate: !no_locate,
            };
            let mut reader =
                DocumentReader::load(config.reader_options(options(&ocr, today.as_deref(), sw)?))?;
            let report = evaluate(&mut reader, config, &dir)?;
            if json {
                print_json(&report);
            } else {
                print_eval(&report);
            }
            Ok(exit::OK)
        }
    }
}

fn print_json<T: Serialize>(value: &T) {
    if let Ok(text) = serde_json::to_string_pretty(value) {
        println!("{text}");
    }
}

fn print_human(path: &Path, r: &DocumentReading) {
    println!("{}", path.display());
    if !r.found {
        println!("  no document: {}", r.reason.as_deref().unwrap_or(""));
        return;
    }
    if let Some(m) = &r.mrz {
        println!(
            "  MRZ {:?}: {}{}",
            m.format,
            if m.valid { "valid" } else { "INVALID" },
            if m.valid {
                String::new()
            } else {
                format!(" (failing: {:?})", m.failed_checks)
            }
        );
        for l in &m.corrected {
            println!("    {l}");
        }
    } else {
        println!("  no MRZ");
    }
    for (name, v) in r.assembled.fields.present() {
        println!(
            "  {name:<15} {:<30} {:>5.1} {:?}",
            v.value, v.confidence, v.source
        );
    }
    println!("  confidence {:.1}", r.assembled.confidence);
    for f in &r.assembled.flags {
        println!("  flag {}: {}", f.code, f.message);
    }
    println!(
        "  quality: sharpness {:.0} brightness {:.0} glare {:.1}% fill {:.0}% rotation {}° skew {:.1}°{}",
        r.quality.sharpness,
        r.quality.brightness,
        r.quality.glare_percent,
        r.quality.fill_percent,
        r.quality.rotation_degrees,
        r.quality.skew_degrees,
        if r.quality.acceptable {
            String::new()
        } else {
            format!(" — {}", r.quality.reasons.join(", "))
        }
    );
    match &r.document_quad {
        Some(q) => println!(
            "  document edges: {} ({}){}",
            q.corners
                .iter()
                .map(|c| format!("({:.0}, {:.0})", c[0], c[1]))
                .collect::<Vec<_>>()
                .join(" "),
            if r.rectified {
                "read rectified"
            } else {
                "read as it lies"
            },
            if r.mrz_only { ", MRZ only" } else { "" }
        ),
        None => println!(
            "  document edges not found: region from the text{}",
            if r.mrz_only { ", MRZ only" } else { "" }
        ),
    }
    if let Some(p) = &r.portrait {
        println!(
            "  portrait: {}",
            if p.usable {
                "found".to_string()
            } else {
                p.reason.clone().unwrap_or_default()
            }
        );
    }
    println!(
        "  {:.0} ms",
        r.timings_ms.0.get("total").copied().unwrap_or(0.0)
    );
}

fn print_back(
    path: &Path,
    b: &kyc_core::document::reader::BackReading,
    sides: Option<&kyc_core::document::reader::Sides>,
) {
    println!("back side {}", path.display());
    if !b.found {
        println!("  no document: {}", b.reason.as_deref().unwrap_or(""));
    }
    println!(
        "  MRZ {}{}",
        match (b.mrz_found, b.mrz_valid) {
            (false, _) => "not found",
            (true, true) => "valid",
            (true, false) => "INVALID",
        },
        match sides.and_then(|s| s.mrz) {
            Some("back") => " (used)",
            _ => "",
        }
    );
    if let Some(s) = sides.filter(|s| !s.visual_from_back.is_empty()) {
        println!(
            "  printed fields from the back: {}",
            s.visual_from_back.join(", ")
        );
    }
    println!(
        "  quality: sharpness {:.0} brightness {:.0} glare {:.1}% fill {:.0}%{}",
        b.quality.sharpness,
        b.quality.brightness,
        b.quality.glare_percent,
        b.quality.fill_percent,
        if b.quality.acceptable {
            String::new()
        } else {
            format!(" — {}", b.quality.reasons.join(", "))
        }
    );
}

/// Per-image line of the evaluation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalItem {
    /// File name.
    pub file: String,
    /// Decoding refused the file (its error code), else `None`.
    pub error: Option<String>,
    /// MRZ found.
    pub mrz_found: bool,
    /// MRZ format.
    pub mrz_format: Option<String>,
    /// Every MRZ check passed.
    pub mrz_valid: bool,
    /// Names of failing checks.
    pub failed_checks: Vec<String>,
    /// The MRZ lines after correction (`mrz.corrected`), empty without an MRZ.
    pub mrz_lines: Vec<String>,
    /// Fields read (present).
    pub fields_read: usize,
    /// Fields compared with the truth file, and how many were exactly right.
    pub fields_expected: usize,
    /// Exactly right.
    pub fields_correct: usize,
    /// Wrong or missing fields: name, expected, got.
    pub field_errors: Vec<(String, String, Option<String>)>,
    /// Expected MRZ validity from the truth file.
    pub expect_mrz_valid: Option<bool>,
    /// The document's edges were located.
    pub quad_found: bool,
    /// The text was read from the rectified page.
    pub rectified: bool,
    /// Largest corner error against the truth file's `documentCorners`, in % of the true
    /// page's longer side (when both exist).
    pub corner_error_percent: Option<f64>,
    /// Time spent locating the edges, ms.
    pub locate_ms: f64,
    /// Read time (decode excluded), ms.
    pub ms: f64,
    /// CPU time of the read (every thread, decode excluded), ms, in 10 ms ticks; 0 where it
    /// cannot be measured.
    pub cpu_ms: f64,
    /// Decode time, ms.
    pub decode_ms: f64,
}

/// Totals of the evaluation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    /// Folder.
    pub dir: String,
    /// Images read.
    pub images: usize,
    /// With an MRZ found.
    pub mrz_found: usize,
    /// With a fully valid MRZ.
    pub mrz_valid: usize,
    /// Truth-file fields compared.
    pub fields_expected: usize,
    /// Exactly right.
    pub fields_correct: usize,
    /// With the document's edges located.
    pub quads_found: usize,
    /// Read from the rectified page.
    pub rectified: usize,
    /// Truth files with `documentCorners`.
    pub quads_expected: usize,
    /// Of those, located with every corner within 3 % of the page's longer side.
    pub quads_within_3_percent: usize,
    /// Median time spent locating, ms.
    pub median_locate_ms: f64,
    /// Median read time, ms.
    pub median_ms: f64,
    /// Median CPU time of a read (every thread), ms.
    pub median_cpu_ms: f64,
    /// Largest CPU time of a read, ms.
    pub worst_cpu_ms: f64,
    /// Median read time of passports (TD3), ms.
    pub median_ms_passport: Option<f64>,
    /// Median read time of the rest, ms.
    pub median_ms_other: Option<f64>,
    /// Per image.
    pub items: Vec<EvalItem>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Read every JPEG/PNG in `dir` (sorted by name) and score against `<stem>.truth.json` when
/// present (an object of expected field values by JSON name, plus optional `mrzValid`).
///
/// # Errors
/// When the folder cannot be read or inference fails.
pub fn evaluate(reader: &mut DocumentReader, config: &Config, dir: &Path) -> Result<EvalReport> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io {
            context: format!("reading folder {}", dir.display()),
            source: e,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "jpg" | "jpeg" | "png" | "bmp" | "tif" | "tiff" | "webp"
                )
            })
        })
        .collect();
    files.sort();
    let mut items = Vec::new();
    let mut expected_quads = 0;
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let t = Instant::now();
        let decoded = match imaging::decode_file(&path, &config.limits) {
            Ok(d) => d,
            Err(e) => {
                items.push(EvalItem {
                    file,
                    error: Some(e.code().to_string()),
                    mrz_found: false,
                    mrz_format: None,
                    mrz_valid: false,
                    failed_checks: vec![],
                    mrz_lines: vec![],
                    fields_read: 0,
                    fields_expected: 0,
                    fields_correct: 0,
                    field_errors: vec![],
                    expect_mrz_valid: None,
                    quad_found: false,
                    rectified: false,
                    corner_error_percent: None,
                    locate_ms: 0.0,
                    ms: 0.0,
                    cpu_ms: 0.0,
                    decode_ms: 0.0,
                });
                continue;
            }
        };
        let decode_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let cpu0 = kyc_core::timing::process_cpu_ms();
        let r = reader.read(&decoded)?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let cpu_ms = match (cpu0, kyc_core::timing::process_cpu_ms()) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let truth_path = path.with_extension("truth.json");
        let truth: Option<serde_json::Value> = std::fs::read_to_string(&truth_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if truth
            .as_ref()
            .is_some_and(|t| t.get("documentCorners").is_some())
        {
            expected_quads += 1;
        }
        let fields_json = serde_json::to_value(&r.assembled.fields).unwrap_or_default();
        let (mut expected, mut correct, mut errors) = (0, 0, Vec::new());
        let mut expect_mrz_valid = None;
        let mut corner_error_percent = None;
        if let Some(serde_json::Value::Object(map)) = &truth {
            for (k, v) in map {
                if k == "mrzValid" {
                    expect_mrz_valid = v.as_bool();
                    continue;
                }
                if k == "documentCorners" {
                    corner_error_percent = r
                        .document_quad
                        .as_ref()
                        .and_then(|q| corner_error(&q.corners, v));
                    continue;
                }
                let Some(want) = v.as_str() else { continue };
                expected += 1;
                let got = fields_json
                    .get(k)
                    .and_then(|f| f.get("value"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                if got.as_deref() == Some(want) {
                    correct += 1;
                } else {
                    errors.push((k.clone(), want.to_string(), got));
                }
            }
        }
        let failed_checks = r
            .mrz
            .as_ref()
            .map(|m| {
                m.failed_checks
                    .iter()
                    .map(|c| {
                        serde_json::to_value(c)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        items.push(EvalItem {
            file,
            error: None,
            mrz_found: r.mrz.is_some(),
            mrz_format: r.mrz.as_ref().and_then(|m| {
                serde_json::to_value(m.format)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
            }),
            mrz_valid: r.mrz.as_ref().is_some_and(|m| m.valid),
            failed_checks,
            mrz_lines: r
                .mrz
                .as_ref()
                .map(|m| m.corrected.clone())
                .unwrap_or_default(),
            fields_read: r.assembled.fields.present().len(),
            fields_expected: expected,
            fields_correct: correct,
            field_errors: errors,
            expect_mrz_valid,
            quad_found: r.document_quad.is_some(),
            rectified: r.rectified,
            corner_error_percent,
            locate_ms: r.timings_ms.0.get("locate").copied().unwrap_or(0.0),
            ms: (ms * 10.0).round() / 10.0,
            cpu_ms,
            decode_ms: (decode_ms * 10.0).round() / 10.0,
        });
    }
    let ok: Vec<&EvalItem> = items.iter().filter(|i| i.error.is_none()).collect();
    let quads_expected = expected_quads;
    let passports = ok
        .iter()
        .filter(|i| i.mrz_format.as_deref() == Some("TD3"))
        .map(|i| i.ms)
        .collect();
    let others = ok
        .iter()
        .filter(|i| i.mrz_format.as_deref() != Some("TD3"))
        .map(|i| i.ms)
        .collect();
    Ok(EvalReport {
        dir: dir.display().to_string(),
        images: items.len(),
        mrz_found: items.iter().filter(|i| i.mrz_found).count(),
        mrz_valid: items.iter().filter(|i| i.mrz_valid).count(),
        fields_expected: items.iter().map(|i| i.fields_expected).sum(),
        fields_correct: items.iter().map(|i| i.fields_correct).sum(),
        quads_found: items.iter().filter(|i| i.quad_found).count(),
        rectified: items.iter().filter(|i| i.rectified).count(),
        quads_expected,
        quads_within_3_percent: items
            .iter()
            .filter(|i| i.corner_error_percent.is_some_and(|e| e <= 3.0))
            .count(),
        median_locate_ms: median(ok.iter().map(|i| i.locate_ms).collect()).unwrap_or(0.0),
        median_ms: median(ok.iter().map(|i| i.ms).collect()).unwrap_or(0.0),
        median_cpu_ms: median(ok.iter().map(|i| i.cpu_ms).collect()).unwrap_or(0.0),
        worst_cpu_ms: ok.iter().map(|i| i.cpu_ms).fold(0.0, f64::max),
        median_ms_passport: median(passports),
        median_ms_other: median(others),
        items,
    })
}

/// Largest distance between `got` and the truth's four corners, in % of the true page's longer
/// side.
fn corner_error(got: &[[f32; 2]; 4], truth: &serde_json::Value) -> Option<f64> {
    let want: Vec<[f64; 2]> = truth
        .as_array()?
        .iter()
        .map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
        .collect::<Option<Vec<_>>>()?;
    if want.len() != 4 {
        return None;
    }
    let d = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let long = (0..4)
        .map(|i| d(want[i], want[(i + 1) % 4]))
        .fold(0.0, f64::max);
    if long <= 0.0 {
        return None;
    }
    let worst = (0..4)
        .map(|i| d([f64::from(got[i][0]), f64::from(got[i][1])], want[i]))
        .fold(0.0, f64::max);
    Some((worst / long * 1000.0).round() / 10.0)
}

fn print_eval(r: &EvalReport) {
    println!(
        "{:<28} {:>5} {:>6} {:>6} {:>7} {:>8} {:>5}  failing",
        "file", "mrz", "format", "valid", "fields", "ms", "quad"
    );
    for i in &r.items {
        if let Some(e) = &i.error {
            println!("{:<28} refused: {e}", i.file);
            continue;
        }
        println!(
            "{:<28} {:>5} {:>6} {:>6} {:>3}{} {:>8.0} {:>5}  {}",
            i.file,
            if i.mrz_found { "yes" } else { "no" },
            i.mrz_format.as_deref().unwrap_or("-"),
            if i.mrz_valid { "yes" } else { "no" },
            i.fields_read,
            if i.fields_expected > 0 {
                format!(" {}/{}", i.fields_correct, i.fields_expected)
            } else {
                String::new()
            },
            i.ms,
            match (i.quad_found, i.rectified, i.corner_error_percent) {
                (false, _, _) => "-".to_string(),
                (true, r, e) => format!(
                    "{}{}",
                    if r { "R" } else { "q" },
                    e.map_or(String::new(), |e| format!("{e:.1}"))
                ),
            },
            i.failed_checks.join(",")
        );
        for (k, want, got) in &i.field_errors {
            println!("      {k}: expected {want:?}, got {got:?}");
        }
    }
    println!(
        "total: {} images, MRZ found {}, valid {}, fields {}/{}, median {:.0} ms (passports {}, others {})",
        r.images,
        r.mrz_found,
        r.mrz_valid,
        r.fields_correct,
        r.fields_expected,
        r.median_ms,
        r.median_ms_passport
            .map_or("-".into(), |v| format!("{v:.0} ms")),
        r.median_ms_other
            .map_or("-".into(), |v| format!("{v:.0} ms")),
    );
    println!(
        "CPU time per read: median {:.0} ms, worst {:.0} ms (all threads, 10 ms ticks)",
        r.median_cpu_ms, r.worst_cpu_ms
    );
    println!(
        "edges: located {} (read rectified {}), within 3 % of the truth {}/{}, median locate {:.1} ms",
        r.quads_found, r.rectified, r.quads_within_3_percent, r.quads_expected, r.median_locate_ms,
    );
}

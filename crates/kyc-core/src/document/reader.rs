//! `DocumentReader`: one call from a decoded photo or scan to a [`DocumentReading`] — text
//! detection, the document's edges and a perspective-rectified page (`locate`), orientation
//! (90/180/270 and skew), line recognition, MRZ, visual-zone fields, cross-checks, flags,
//! document quality and (optionally) the holder's portrait; or the MRZ alone (`mrz_only`).

pub mod meter;

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use super::barcode::{self, BarcodeReading};
use super::fields::{self, Assembled, PlacedLine, VisualFields};
use super::glare;
use super::locate::{self, DocumentQuad};
use super::mrz::{self, IsoDate, MrzOptions, MrzReading};
use super::ocr::{OcrEngine, OcrSettings, TextBox, TextLine, det_input_size, parse_charset};
use super::recapture::{FrameEvidence, RecaptureReport};
use crate::error::{Error, Result};
use crate::face::{FaceAnalysis, FaceConfig, FaceDetection, FaceEngine, Role};
use crate::imaging::{Decoded, luma};
use crate::inference::{ModelInfo, Runtime};
use crate::models;
use crate::timing::Timings;

/// Which PP-OCRv6 pair to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OcrModels {
    /// PP-OCRv6 tiny det + rec (the default: measured faster at equal MRZ accuracy).
    Tiny,
    /// PP-OCRv6 small det + rec.
    Small,
}

impl OcrModels {
    /// Manifest ids of detector and recogniser.
    #[must_use]
    pub fn ids(self) -> (&'static str, &'static str) {
        match self {
            Self::Tiny => ("ocr_detector_tiny", "ocr_recognizer_tiny"),
            Self::Small => ("ocr_detector", "ocr_recognizer"),
        }
    }
}

/// Settings of the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderOptions {
    /// Model pair.
    pub models: OcrModels,
    /// OCR settings.
    pub ocr: OcrSettings,
    /// "Today" for two-digit years, expiry and age; `None` = the system clock (UTC).
    pub today: Option<IsoDate>,
    /// Holders younger than this are flagged `under_age`.
    pub min_age: i32,
    /// Load the face models and analyse the document portrait.
    pub portrait: bool,
    /// Locate the document's edges and read the perspective-rectified page when that reads
    /// better (off: read the text where it lies, as found in the whole frame).
    pub locate: bool,
    /// Passports and cards with an MRZ: find and read only the MRZ lines (the longest lines and
    /// the band they lie in), skipping the visual zone and the portrait. Falls back to the
    /// whole read when no MRZ is found that way.
    pub mrz_only: bool,
    /// Models folder; `None` means the default search (see `models::models_dir`).
    pub models_dir: Option<PathBuf>,
    /// ONNX Runtime intra-op threads of the text models and the portrait's face models.
    pub threads: usize,
    /// Face detection rules for the portrait.
    pub face: FaceConfig,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            models: OcrModels::Tiny,
            ocr: OcrSettings::default(),
            today: None,
            min_age: 18,
            portrait: true,
            locate: true,
            mrz_only: false,
            models_dir: None,
            threads: 2,
            face: FaceConfig::default(),
        }
    }
}

/// Capture quality of the document, with reasons when it is not good enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentQuality {
    /// 0–100, from the variance of the Laplacian inside the document region.
    pub sharpness: f32,
    /// 0–100, mean luma inside the document region.
    pub brightness: f32,
    /// Percentage of blown-out pixels (luma ≥ 250) inside the document region; 0 when the
    /// region's median is itself ≥ 240 (a white page scanned flat is not glare).
    pub glare_percent: f32,
    /// Percentage of the frame the document region fills.
    pub fill_percent: f32,
    /// Quarter turn the document lies at, degrees clockwise: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Remaining in-plane skew, degrees clockwise (−45…45).
    pub skew_degrees: f32,
    /// Good enough to read and to auto-capture.
    pub acceptable: bool,
    /// Why not: `no_document`, `blurry`, `too_dark`, `too_bright`, `glare`, `glare_on_text`
    /// (a reflection on a text row, however small), `document_too_small`.
    pub reasons: Vec<String>,
}

/// One recognised line in the output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineOut {
    /// Text.
    pub text: String,
    /// 0–100.
    pub confidence: f32,
}

/// The document block of `read-document`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReading {
    /// A document (text) was found.
    pub found: bool,
    /// Why not, when not: `no_document`.
    pub reason_code: Option<String>,
    /// In words.
    pub reason: Option<String>,
    /// Fields, cross-checks, flags, ID-number check and overall confidence.
    #[serde(flatten)]
    pub assembled: Assembled,
    /// The machine-readable zone, when one was found.
    pub mrz: Option<MrzReading>,
    /// The in-scope card layout (`ghana_card`, `uganda_national_id`, …; see
    /// [`super::layouts::LAYOUTS`]) recognised from the printed titles, or from the MRZ of a
    /// card's back; none for passports and visas.
    pub layout: Option<String>,
    /// Capture quality.
    pub quality: DocumentQuality,
    /// The document's quadrilateral (its edges against the background), when located.
    pub document_quad: Option<DocumentQuad>,
    /// Where the document region (and `quality.fillPercent`) came from: `edges` (the located
    /// quadrilateral) or `text` (the span of the text; no reliable quadrilateral was found).
    pub region_source: String,
    /// The text was read from the perspective-rectified page (else where it lies in the frame).
    pub rectified: bool,
    /// The MRZ-only fast path produced this reading (no visual zone, no portrait).
    pub mrz_only: bool,
    /// The holder's portrait, when the face models are loaded.
    pub portrait: Option<FaceDetection>,
    /// Every recognised line, top to bottom.
    pub lines: Vec<LineOut>,
    /// Models used.
    pub models: Vec<ModelInfo>,
    /// Stage times in ms (a back side's stages are prefixed `back.`).
    pub timings_ms: Timings,
    /// The back side, when one was read with [`DocumentReader::read_sides`] (absent from a
    /// one-sided reading's JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back: Option<BackReading>,
    /// Which side the parts of a two-sided reading came from (absent from a one-sided reading's
    /// JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sides: Option<Sides>,
    /// PDF417 and QR codes decoded on the document's sides (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub barcodes: Vec<BarcodeReading>,
    /// Screen, print and generated-image evidence (absent when the document was not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recapture: Option<RecaptureReport>,
}

impl DocumentReading {
    /// A reading that could not be made (text detection or recognition failed): no document
    /// found, with `reason_code` and `reason` saying why, so that a verification reports the
    /// failure in-band instead of aborting.
    #[must_use]
    pub fn unread(reason_code: &str, reason: String) -> Self {
        let quality = DocumentQuality {
            sharpness: 0.0,
            brightness: 0.0,
            glare_percent: 0.0,
            fill_percent: 0.0,
            rotation_degrees: 0,
            skew_degrees: 0.0,
            acceptable: false,
            reasons: vec![reason_code.to_string()],
        };
        Self {
            found: false,
            reason_code: Some(reason_code.to_string()),
            reason: Some(reason),
            assembled: Assembled {
                fields: fields::DocumentFields::default(),
                confidence: 0.0,
                cross_checks: Vec::new(),
                flags: Vec::new(),
                id_number: None,
                layout: None,
            },
            mrz: None,
            layout: None,
            quality,
            document_quad: None,
            region_source: "text".to_string(),
            rectified: false,
            mrz_only: false,
            portrait: None,
            lines: Vec::new(),
            models: Vec::new(),
            timings_ms: Timings::default(),
            back: None,
            sides: None,
            barcodes: Vec::new(),
            recapture: None,
        }
    }
}

/// What was read on a document's back side, beside the merged reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackReading {
    /// The back image shows document text (an MRZ, a labelled field, a known layout or at least
    /// two confident lines).
    pub found: bool,
    /// Why not, when not: `no_document`.
    pub reason_code: Option<String>,
    /// In words.
    pub reason: Option<String>,
    /// An MRZ was read on the back.
    pub mrz_found: bool,
    /// The back's MRZ passed every check.
    pub mrz_valid: bool,
    /// Capture quality of the back image, with its own reasons (`blurry`, `glare_on_text`, …).
    pub quality: DocumentQuality,
    /// The back's quadrilateral, when located.
    pub document_quad: Option<DocumentQuad>,
    /// `edges` or `text`, as for the front.
    pub region_source: String,
    /// The back's text was read from its rectified page.
    pub rectified: bool,
    /// Every line recognised on the back, top to bottom.
    pub lines: Vec<LineOut>,
    /// The back's stage times in ms.
    pub timings_ms: Timings,
}

/// Where the parts of a two-sided reading came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sides {
    /// The side the MRZ was taken from (`front` or `back`), when there is one.
    pub mrz: Option<&'static str>,
    /// Visual-zone fields the front lacked and the back supplied.
    pub visual_from_back: Vec<&'static str>,
    /// The side the portrait comes from: always `front`.
    pub portrait: &'static str,
}

/// Loaded OCR (and face) models, reused for every document.
pub struct DocumentReader {
    ocr: OcrEngine,
    face: Option<FaceEngine>,
    options: ReaderOptions,
    models: Vec<ModelInfo>,
}

impl std::fmt::Debug for DocumentReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentReader")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DocumentReader {
    /// Load with the given options (see [`crate::Config::reader_options`] for the ones a
    /// configuration gives).
    ///
    /// # Errors
    /// When ONNX Runtime or a model is missing, altered or rejected, or the recogniser has no
    /// character list.
    pub fn load(options: ReaderOptions) -> Result<Self> {
        let dir = options
            .models_dir
            .clone()
            .unwrap_or_else(models::models_dir);
        let runtime = Runtime::open(&dir)?;
        Self::from_runtime(&runtime, options)
    }

    /// Load on an already opened runtime (the verify pipeline shares its runtime).
    ///
    /// # Errors
    /// As [`DocumentReader::load`].
    pub fn from_runtime(runtime: &Runtime, options: ReaderOptions) -> Result<Self> {
        let threads = options.threads.max(1);
        let (det_id, rec_id) = options.models.ids();
        let det = runtime.load(det_id, threads)?;
        let rec = runtime.load(rec_id, threads)?;
        let cls = runtime.load("ocr_orientation", 1)?;
        let meta = rec.metadata("character")?.ok_or_else(|| Error::Model {
            id: rec_id.to_string(),
            path: runtime.dir().to_path_buf(),
            reason: "the recogniser has no `character` metadata".to_string(),
            fetch: models::FETCH_COMMAND,
        })?;
        let charset = parse_charset(&meta);
        let mut infos = vec![det.info().clone(), rec.info().clone(), cls.info().clone()];
        let face = if options.portrait {
            let f = FaceEngine::load(runtime, options.face, threads)?;
            infos.extend(f.models().iter().cloned());
            Some(f)
        } else {
            None
        };
        let mut ocr = OcrEngine::new(
            Box::new(det),
            Box::new(rec),
            Some(Box::new(cls)),
            charset,
            options.ocr,
        );
        // Warm up: first runs allocate ONNX Runtime's buffers.
        let blank = RgbImage::from_pixel(320, 200, image::Rgb([255, 255, 255]));
        ocr.detect(&blank)?;
        let warm = TextBox {
            cx: 160.0,
            cy: 100.0,
            length: 300.0,
            thickness: 30.0,
            angle: 0.0,
            score: 1.0,
        };
        ocr.recognize(&blank, &[warm])?;
        Ok(Self {
            ocr,
            face,
            options,
            models: infos,
        })
    }

    /// Read a document image.
    ///
    /// # Errors
    /// When inference fails. No document found is an in-band result.
    pub fn read(&mut self, img: &Decoded) -> Result<DocumentReading> {
        self.read_with_portrait(img).map(|(r, _)| r)
    }

    /// Read a document image and also return the portrait analysis (embedding, aligned crop)
    /// so that a face match can reuse it.
    ///
    /// # Errors
    /// When inference fails.
    pub fn read_with_portrait(
        &mut self,
        img: &Decoded,
    ) -> Result<(DocumentReading, Option<FaceAnalysis>)> {
        self.read_rgb(&img.rgb)
    }

    /// [`DocumentReader::read_with_portrait`] on raw pixels (camera frames).
    ///
    /// # Errors
    /// When inference fails.
    pub fn read_rgb(&mut self, rgb: &RgbImage) -> Result<(DocumentReading, Option<FaceAnalysis>)> {
        let today = self.options.today.unwrap_or_else(IsoDate::today_utc);
        let mut timings = Timings::default();
        let t_all = Instant::now();
        let (side, checks) = with_frame_checks(rgb, "front", || {
            self.read_side(rgb, today, &mut timings, true)
        });
        let mut side = side?;
        let physical = Physical::measure(checks, &side, &mut timings);
        let t = Instant::now();
        confirm_mrz_name(&mut side.mrz, &side.visual, today);
        let mut assembled =
            fields::assemble(side.mrz.as_ref(), &side.visual, today, self.options.min_age);
        timings.record("fields", t);
        let physical = physical.flag(&mut assembled, &side);
        let analysis = side.analysis.take();
        timings.record("total", t_all);
        let found = side.found;
        let mut reading = self.finish(side, found, assembled, timings);
        physical.report(&mut reading);
        Ok((reading, analysis))
    }

    /// Read a two-sided document: the front (portrait, usually the printed fields) and, when
    /// given, the back (often the MRZ and more printed fields), merged into one reading.
    ///
    /// Each side is read on its own (text, MRZ, visual zone, quality); the merge happens before
    /// the fields are assembled, so that the cross-checks and flags run over both sides: the
    /// MRZ is the front's unless the back's ranks higher (valid > found > none), the visual
    /// values are the front's with missing ones filled from the back, and the portrait is
    /// always the front's. A front name that disagrees with the back's MRZ is therefore a
    /// `mrz_visual_mismatch` like on a one-sided card. The back's own quality, lines and
    /// whether it looks like a document at all are reported in `back`; a back that shows no
    /// document text adds the `back_no_document` flag. Without a back this is
    /// [`DocumentReader::read_rgb`].
    ///
    /// # Errors
    /// When inference fails.
    pub fn read_sides(
        &mut self,
        front: &RgbImage,
        back: Option<&RgbImage>,
    ) -> Result<(DocumentReading, Option<FaceAnalysis>)> {
        let Some(back) = back else {
            return self.read_rgb(front);
        };
        let today = self.options.today.unwrap_or_else(IsoDate::today_utc);
        let mut timings = Timings::default();
        let t_all = Instant::now();
        let (side, front_checks) = with_frame_checks(front, "front", || {
            self.read_side(front, today, &mut timings, true)
        });
        let mut side = side?;
        let mut back_timings = Timings::default();
        let t_back = Instant::now();
        let (back_side, back_checks) = with_frame_checks(back, "back", || {
            self.read_side(back, today, &mut back_timings, false)
        });
        let back_side = back_side?;
        let back_physical = Physical::measure(back_checks, &back_side, &mut back_timings);
        back_timings.record("total", t_back);
        // A back holding a barcode is a document's back even with little text (a licence's
        // PDF417 side).
        let back_found =
            (back_side.found && back_side.looks_like_document()) || !back_physical.codes.is_empty();

        let t = Instant::now();
        let rank = |m: &Option<MrzReading>| match m {
            Some(m) if m.valid => 2,
            Some(_) => 1,
            None => 0,
        };
        let mrz_from_back = back_found && rank(&back_side.mrz) > rank(&side.mrz);
        if mrz_from_back {
            side.mrz.clone_from(&back_side.mrz);
        }
        let filled = if back_found {
            side.visual.fill_from(&back_side.visual)
        } else {
            Vec::new()
        };
        confirm_mrz_name(&mut side.mrz, &side.visual, today);
        let mut assembled =
            fields::assemble(side.mrz.as_ref(), &side.visual, today, self.options.min_age);
        if !back_found {
            assembled.flags.push(fields::Flag {
                code: "back_no_document",
                message: "the back image shows no document text (not the document's back side?)"
                    .to_string(),
            });
        }
        timings.record("fields", t);
        let physical = Physical::measure(front_checks, &side, &mut timings)
            .with_back(back_found.then_some(back_physical))
            .flag(&mut assembled, &side);
        let sides = Sides {
            mrz: if mrz_from_back {
                Some("back")
            } else if side.mrz.is_some() {
                Some("front")
            } else {
                None
            },
            visual_from_back: filled,
            portrait: "front",
        };
        let back_reading = BackReading {
            found: back_found,
            reason_code: (!back_found).then(|| "no_document".to_string()),
            reason: (!back_found).then(|| "no document text was found in the back image".into()),
            mrz_found: back_side.mrz.is_some(),
            mrz_valid: back_side.mrz.as_ref().is_some_and(|m| m.valid),
            quality: back_side.quality.clone(),
            region_source: if back_side.document_quad.is_some() {
                "edges"
            } else {
                "text"
            }
            .to_string(),
            document_quad: back_side.document_quad.clone(),
            rectified: back_side.rectified,
            lines: lines_out(&back_side.placed),
            timings_ms: back_timings.clone().rounded(),
        };
        for (k, v) in back_timings.0 {
            timings.set(&format!("back.{k}"), v);
        }
        let analysis = side.analysis.take();
        timings.record("total", t_all);
        let found = side.found || back_found;
        let mut reading = self.finish(side, found, assembled, timings);
        reading.back = Some(back_reading);
        reading.sides = Some(sides);
        physical.report(&mut reading);
        Ok((reading, analysis))
    }

    /// The reading of one side from what [`DocumentReader::read_side`] found and the assembled
    /// fields.
    fn finish(
        &self,
        side: SideRead,
        found: bool,
        assembled: Assembled,
        timings: Timings,
    ) -> DocumentReading {
        let layout = assembled.layout.map(str::to_string);
        DocumentReading {
            found,
            reason_code: (!found).then(|| "no_document".to_string()),
            reason: (!found).then(|| "no text was found in the image".to_string()),
            assembled,
            mrz: side.mrz,
            layout,
            quality: side.quality,
            region_source: if side.document_quad.is_some() {
                "edges"
            } else {
                "text"
            }
            .to_string(),
            document_quad: side.document_quad,
            rectified: side.rectified,
            mrz_only: side.mrz_only,
            portrait: side.portrait,
            lines: lines_out(&side.placed),
            models: self.models.clone(),
            timings_ms: timings.rounded(),
            back: None,
            sides: None,
            barcodes: Vec::new(),
            recapture: None,
        }
    }

    /// One image read up to (not including) field assembly: text, MRZ, visual-zone values,
    /// quality, edges and, with `portrait` and the face models loaded, the portrait.
    ///
    /// The portrait is analysed on a second thread while the lines are recognised: it starts
    /// once the first text pass knows which way the page reads (the rectified page when the
    /// edges were found, else the frame) and is kept when that pass is the one chosen at the
    /// same quarter turn; otherwise (the frame read better, the text was read the other way
    /// round) it is analysed again on the chosen image after the text, as it always was.
    fn read_side(
        &mut self,
        rgb: &RgbImage,
        today: IsoDate,
        timings: &mut Timings,
        portrait: bool,
    ) -> Result<SideRead> {
        let full_side = self.options.ocr.det_max_side;
        // With edges to find, the frame's text first only seeds them (the rectified page is
        // detected anew); a frame not much larger than the detector's input is detected
        // smaller for that, and at full size only when it is read as it lies.
        let seed_side = if self.options.locate && !self.options.mrz_only {
            seed_detection_side(rgb.width(), rgb.height(), full_side)
        } else {
            full_side
        };
        let t = Instant::now();
        let seed_raw = self.ocr.detect_at(rgb, seed_side)?;
        timings.record("ocr.detect", t);
        let mut full_raw = (det_input_size(rgb.width(), rgb.height(), seed_side)
            == det_input_size(rgb.width(), rgb.height(), full_side))
        .then(|| seed_raw.clone());
        if self.options.mrz_only
            && let Some(raw) = &full_raw
            && let Some(side) = self.read_mrz_only(rgb, raw, today, timings)?
        {
            return Ok(side);
        }
        let (seed_boxes, seed_theta) = orient(&seed_raw);

        // The document's own edges, seeded by the text; read the rectified page when found.
        let mut quad = None;
        let mut rectified_img = None;
        if self.options.locate {
            let t = Instant::now();
            quad = locate::locate(rgb, &seed_raw, seed_theta);
            timings.record("locate", t);
            if let Some(q) = &quad {
                let t = Instant::now();
                // The page at about its own resolution (at least 720, at most 1280 px long): a
                // small phone photo's page is not blown up to be detected at ~1000 px.
                let long = q.long_side_px().clamp(720.0, 1280.0) as u32;
                let (w, h) = locate::rectified_size(q, long);
                rectified_img = locate::warp(rgb, &q.corners, w, h);
                timings.record("rectify", t);
            }
        }

        let face = if portrait { self.face.as_mut() } else { None };
        let ocr = &mut self.ocr;
        let rectified_ref = rectified_img.as_ref();
        let (chosen, early) = std::thread::scope(|scope| -> Result<_> {
            let mut early: Option<EarlyPortrait<'_>> = None;
            let mut face = face;
            let mut chosen: Option<(TextPass, bool)> = None;
            if let Some(img) = rectified_ref {
                let t = Instant::now();
                // Detected anew: boxes carried over from the frame through the homography read
                // worse (828 vs 839 synthetic fields right).
                let boxes = ocr.detect(img)?;
                timings.record("rectified.ocr.detect", t);
                let (boxes, theta) = orient_pass(ocr, img, &boxes, timings, "rectified.")?;
                early = face
                    .take()
                    .and_then(|f| EarlyPortrait::start(scope, f, img, true, theta));
                let pass = recognize_pass(ocr, img, boxes, theta, today, timings, "rectified.")?;
                // A valid MRZ cannot be bettered. An invalid MRZ, or a weak reading (a wrong
                // quad reads poorly), has the frame read as it lies too and the better reading
                // kept. Rectified readings of synthetic photos score 0.96–0.98; reading the
                // frame too on those gained nothing measurable (282 vs 281 / 300 fields) for a
                // second pass.
                let valid = pass.mrz.as_ref().is_some_and(|m| m.valid);
                let weak = pass.mrz.is_some() || pass.score < RECTIFIED_CONFIDENT;
                chosen = Some((pass, true));
                if !valid && weak {
                    let raw = frame_boxes(ocr, rgb, &mut full_raw, timings)?;
                    let (boxes, theta) = orient_pass(ocr, rgb, &raw, timings, "")?;
                    let plain = recognize_pass(ocr, rgb, boxes, theta, today, timings, "")?;
                    if let Some((r, _)) = &chosen
                        && plain.score() >= r.score()
                    {
                        chosen = Some((plain, false));
                    }
                }
            }
            let chosen = match chosen {
                Some(c) => c,
                None => {
                    let raw = frame_boxes(ocr, rgb, &mut full_raw, timings)?;
                    let (boxes, theta) = orient_pass(ocr, rgb, &raw, timings, "")?;
                    early = face
                        .take()
                        .and_then(|f| EarlyPortrait::start(scope, f, rgb, false, theta));
                    (
                        recognize_pass(ocr, rgb, boxes, theta, today, timings, "")?,
                        false,
                    )
                }
            };
            Ok((chosen, early.map(EarlyPortrait::join)))
        })?;
        let (pass, rectified) = chosen;
        // Direction of the text in the source frame (the rectified page is aligned with the
        // seed's reading frame).
        let src_theta = if rectified {
            wrap_angle(seed_theta + quarter_of(pass.theta) as f32 * std::f32::consts::FRAC_PI_2)
        } else {
            pass.theta
        };
        let TextPass {
            boxes,
            theta,
            placed,
            mrz,
            ..
        } = pass;

        let t = Instant::now();
        let visual = fields::extract_visual(&placed, today);
        timings.record("fields", t);

        let t = Instant::now();
        let quality_boxes: &[TextBox] = if rectified { &seed_boxes } else { &boxes };
        let mut quality = measure_quality(rgb, quality_boxes, src_theta);
        if let Some(q) = &quad {
            quality_from_quad(&mut quality, q);
        }
        if glare::glare_on_rows(rgb, quality_boxes, src_theta) > glare::COVERED_LENGTH {
            quality.reasons.push("glare_on_text".into());
            quality.acceptable = false;
        }
        timings.record("quality", t);
        // Report the corners as the document reads upright.
        let document_quad = quad.map(|mut q| {
            let k = if rectified {
                quarter_of(theta)
            } else {
                quarter_of(wrap_angle(src_theta - seed_theta))
            };
            let c = q.corners;
            q.corners = std::array::from_fn(|i| c[(i + k as usize) % 4]);
            q
        });

        // Analysed as it reads upright, without turning the whole page.
        let turns = (4 - quarter_of(theta)) % 4;
        let analysis = match early {
            Some(Some(done)) if done.rectified == rectified && done.turns == turns => {
                for (k, v) in done.timings.0 {
                    *timings.0.entry(k).or_insert(0.0) += v;
                }
                Some(done.analysis?)
            }
            _ => match self.face.as_mut() {
                Some(face) if portrait => {
                    let src = match &rectified_img {
                        Some(img) if rectified => img,
                        _ => rgb,
                    };
                    Some(face.analyze_turned(src, turns, Role::Document, timings, "portrait.")?)
                }
                _ => None,
            },
        };
        let detection = analysis.as_ref().map(|a| a.detection.clone());
        Ok(SideRead {
            found: !boxes.is_empty(),
            mrz,
            visual,
            quality,
            document_quad,
            rectified,
            mrz_only: false,
            placed,
            portrait: detection,
            analysis,
        })
    }

    /// The MRZ-only fast path: recognise just the longest lines and the band they lie in.
    /// `None` when no MRZ was found that way (the caller then reads the whole document).
    fn read_mrz_only(
        &mut self,
        rgb: &RgbImage,
        raw_boxes: &[TextBox],
        today: IsoDate,
        timings: &mut Timings,
    ) -> Result<Option<SideRead>> {
        let t = Instant::now();
        let (boxes, theta0) = orient(raw_boxes);
        let mrz_like = |ls: &[TextLine]| ls.iter().filter(|l| fields::is_mrz_like(&l.text)).count();
        // Bands anchored at the longest lines in turn (the longest line may be a heading); the
        // first band an MRZ is parsed from wins.
        let mut best: Option<(Option<MrzReading>, Vec<PlacedLine>, f32)> = None;
        for band in mrz_bands(&boxes, theta0, 3) {
            let mut lines = self.ocr.recognize(rgb, &band)?;
            let mut theta = theta0;
            if mrz_like(&lines) < 2 {
                let flipped: Vec<TextBox> = band.iter().map(TextBox::flipped).collect();
                let other = self.ocr.recognize(rgb, &flipped)?;
                if mrz_like(&other) > mrz_like(&lines) {
                    lines = other;
                    theta = wrap_angle(theta + std::f32::consts::PI);
                }
            }
            let placed = place(&lines, theta);
            let mrz = parse_placed(&placed, today);
            let rank = |m: &Option<MrzReading>| match m {
                Some(m) if m.valid => 2,
                Some(_) => 1,
                None => 0,
            };
            let better = best.as_ref().is_none_or(|(b, _, _)| rank(&mrz) > rank(b));
            let found = rank(&mrz) > 0;
            if better {
                best = Some((mrz, placed, theta));
            }
            if found {
                break;
            }
        }
        timings.record("mrz_only.recognize", t);
        let Some((mrz, placed, theta)) = best else {
            return Ok(None);
        };
        if mrz.is_none() {
            return Ok(None);
        }
        let quality = measure_quality(rgb, &boxes, theta);
        Ok(Some(SideRead {
            found: true,
            mrz,
            visual: VisualFields::default(),
            quality,
            document_quad: None,
            rectified: false,
            mrz_only: true,
            placed,
            portrait: None,
            analysis: None,
        }))
    }
}

/// One side read up to its fields, before assembly.
/// Barcodes and recapture evidence of a document's sides (`barcode`, `recapture`).
struct Physical {
    codes: Vec<BarcodeReading>,
    recapture: RecaptureReport,
}

/// The checks of a frame that need only its pixels: barcodes and the recapture evidence.
struct FrameChecks {
    codes: Vec<BarcodeReading>,
    evidence: FrameEvidence,
    barcode_ms: f64,
    recapture_ms: f64,
}

impl FrameChecks {
    fn run(rgb: &RgbImage, name: &'static str) -> Self {
        let t = Instant::now();
        let codes = barcode::decode(rgb, name);
        let barcode_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let evidence = FrameEvidence::measure(rgb);
        let recapture_ms = t.elapsed().as_secs_f64() * 1000.0;
        Self {
            codes,
            evidence,
            barcode_ms,
            recapture_ms,
        }
    }
}

/// Run `read` (the text) on this thread while a second thread decodes the barcodes of `rgb` and
/// measures its recapture evidence: neither needs the text, and on two cores they no longer add
/// to a read's time. Without a second thread (none could be started, or it panicked) the checks
/// run here after `read`.
fn with_frame_checks<T>(
    rgb: &RgbImage,
    name: &'static str,
    read: impl FnOnce() -> T,
) -> (T, FrameChecks) {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name(format!("document-checks-{name}"))
            .spawn_scoped(scope, || FrameChecks::run(rgb, name));
        let out = read();
        let checks = match spawned {
            Ok(handle) => match handle.join() {
                Ok(c) => Some(c),
                Err(payload) => {
                    tracing::warn!(
                        panic = crate::logs::panic_text(payload.as_ref()),
                        "the document checks thread ended by a panic; checking again here"
                    );
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no thread for the document checks; checking here");
                None
            }
        };
        (out, checks.unwrap_or_else(|| FrameChecks::run(rgb, name)))
    })
}

impl Physical {
    /// The barcodes and the recapture report of one side from its frame checks and the side's
    /// located document (stage times `barcode` and `recapture`: spent on the checks thread,
    /// alongside the text stages).
    fn measure(checks: FrameChecks, side: &SideRead, timings: &mut Timings) -> Self {
        timings.set("barcode", checks.barcode_ms);
        timings.set("recapture", checks.recapture_ms);
        let recapture = checks.evidence.report(side.document_quad.as_ref());
        Self {
            codes: checks.codes,
            recapture,
        }
    }

    /// The back's barcodes and recapture flags added to the front's.
    fn with_back(mut self, back: Option<Physical>) -> Self {
        if let Some(b) = back {
            self.codes.extend(b.codes);
            self.recapture = self.recapture.merged(&b.recapture);
        }
        self
    }

    /// Add the barcode cross-check flags (against the merged MRZ and printed zone) and the
    /// recapture flags.
    fn flag(self, assembled: &mut Assembled, side: &SideRead) -> Self {
        assembled.flags.extend(barcode::cross_check(
            &self.codes,
            side.mrz.as_ref(),
            &side.visual,
        ));
        assembled.flags.extend(self.recapture.flag_list());
        self
    }

    /// Put the barcodes and the recapture report into the reading.
    fn report(self, reading: &mut DocumentReading) {
        reading.barcodes = self.codes;
        reading.recapture = Some(self.recapture);
    }
}

struct SideRead {
    found: bool,
    mrz: Option<MrzReading>,
    visual: VisualFields,
    quality: DocumentQuality,
    document_quad: Option<DocumentQuad>,
    rectified: bool,
    mrz_only: bool,
    placed: Vec<PlacedLine>,
    portrait: Option<FaceDetection>,
    analysis: Option<FaceAnalysis>,
}

impl SideRead {
    /// Whether the text found looks like a document rather than stray marks (a face photo or a
    /// blank page given as the back side): an MRZ, a labelled field or a known layout, or at
    /// least two confident lines of four or more letters and digits.
    fn looks_like_document(&self) -> bool {
        if self.mrz.is_some() || !self.visual.values.is_empty() || self.visual.layout.is_some() {
            return true;
        }
        self.placed
            .iter()
            .filter(|l| {
                l.confidence >= 0.8 && l.text.chars().filter(|c| c.is_alphanumeric()).count() >= 4
            })
            .count()
            >= 2
    }
}

/// Reading score above which a rectified reading without an MRZ is kept without reading the
/// frame as it lies.
const RECTIFIED_CONFIDENT: f32 = 0.9;

/// One reading of the text of an image.
struct TextPass {
    boxes: Vec<TextBox>,
    theta: f32,
    score: f32,
    placed: Vec<PlacedLine>,
    mrz: Option<MrzReading>,
}

impl TextPass {
    /// Valid MRZ > MRZ found > none, then the reading score.
    fn score(&self) -> f32 {
        let mrz = match &self.mrz {
            Some(m) if m.valid => 2.0,
            Some(_) => 1.0,
            None => 0.0,
        };
        mrz * 10.0 + self.score
    }
}

/// Confirm (or repair) the MRZ name with the printed surname and given names, when both were
/// read: the printed zone is the only witness to the name's fillers.
fn confirm_mrz_name(mrz: &mut Option<MrzReading>, visual: &VisualFields, today: IsoDate) {
    let Some(m) = mrz.as_mut() else {
        return;
    };
    let words = |field: &str| -> Vec<String> {
        visual
            .get(field)
            .map(|(v, _)| {
                v.split(|c: char| c.is_whitespace() || c == '-')
                    .map(fields::mrz_key)
                    .filter(|w| !w.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let low = MrzOptions::new(today).low_confidence;
    m.confirm_name(&words("lastName"), &words("firstName"), low);
}

fn parse_placed(placed: &[PlacedLine], today: IsoDate) -> Option<MrzReading> {
    let candidates = fields::mrz_candidates(placed);
    if candidates.is_empty() {
        None
    } else {
        mrz::parse_mrz(&candidates, &MrzOptions::new(today)).ok()
    }
}

fn lines_out(placed: &[PlacedLine]) -> Vec<LineOut> {
    let mut ordered: Vec<&PlacedLine> = placed.iter().collect();
    ordered.sort_by(|a, b| a.v.total_cmp(&b.v).then(a.left.total_cmp(&b.left)));
    ordered
        .iter()
        .map(|l| LineOut {
            text: l.text.clone(),
            confidence: (l.confidence * 1000.0).round() / 10.0,
        })
        .collect()
}

/// Nearest quarter turn of an angle, 0–3 (clockwise).
/// The frame's text boxes at the detector's full size: the seed's when it was detected at that
/// size, else detected now (once).
fn frame_boxes(
    ocr: &mut OcrEngine,
    rgb: &RgbImage,
    full: &mut Option<Vec<TextBox>>,
    timings: &mut Timings,
) -> Result<Vec<TextBox>> {
    if let Some(b) = full {
        return Ok(b.clone());
    }
    let t = Instant::now();
    let boxes = ocr.detect(rgb)?;
    timings.record("ocr.detect", t);
    *full = Some(boxes.clone());
    Ok(boxes)
}

/// Long side the frame is detected at when its text only seeds the edges: [`SEED_DET_SIDE`]
/// for a frame the detector shrinks anyway and at most [`SEED_FRAME_MAX`] px long (a photo: its
/// text stays at least half the size the full detection sees), else the full size (a smaller
/// frame saves little; a page scan's small print would be lost shrunk further).
fn seed_detection_side(w: u32, h: u32, full_side: usize) -> usize {
    let long = w.max(h);
    if long as usize > full_side && long <= SEED_FRAME_MAX {
        SEED_DET_SIDE.min(full_side)
    } else {
        full_side
    }
}

/// Detector input's long side for a frame whose text only seeds the edges.
const SEED_DET_SIDE: usize = 640;

/// Longest frame detected at [`SEED_DET_SIDE`] to seed the edges.
const SEED_FRAME_MAX: u32 = 1600;

/// The first part of a text pass: the reading direction of the detected boxes and, with the
/// line classifier, whether the page is upside down.
fn orient_pass(
    ocr: &mut OcrEngine,
    img: &RgbImage,
    raw_boxes: &[TextBox],
    timings: &mut Timings,
    prefix: &str,
) -> Result<(Vec<TextBox>, f32)> {
    let t = Instant::now();
    let (mut boxes, mut theta) = orient(raw_boxes);
    let flip = ocr.upside_down_share(img, &boxes, 5)?;
    if flip > 0.5 {
        boxes = boxes.iter().map(TextBox::flipped).collect();
        theta = wrap_angle(theta + std::f32::consts::PI);
    }
    timings.record(&format!("{prefix}ocr.orientation"), t);
    Ok((boxes, theta))
}

/// The rest of a text pass: recognition (with a second look upside down) and the MRZ.
fn recognize_pass(
    ocr: &mut OcrEngine,
    img: &RgbImage,
    mut boxes: Vec<TextBox>,
    mut theta: f32,
    today: IsoDate,
    timings: &mut Timings,
    prefix: &str,
) -> Result<TextPass> {
    let t = Instant::now();
    let mut lines = ocr.recognize(img, &boxes)?;
    timings.record(&format!("{prefix}ocr.recognize"), t);
    if needs_second_look(&lines) {
        // The line classifier can be fooled (thumbnails, odd fonts): when the text reads
        // poorly and holds no MRZ, read it the other way round and keep the better reading.
        let t = Instant::now();
        let flipped: Vec<TextBox> = boxes.iter().map(TextBox::flipped).collect();
        let other = ocr.recognize(img, &flipped)?;
        if reading_score(&other) > reading_score(&lines) {
            lines = other;
            boxes = flipped;
            theta = wrap_angle(theta + std::f32::consts::PI);
        }
        timings.record(&format!("{prefix}ocr.recognize_flipped"), t);
    }
    let placed = place(&lines, theta);
    let t = Instant::now();
    let mrz = parse_placed(&placed, today);
    timings.record(&format!("{prefix}mrz"), t);
    Ok(TextPass {
        boxes,
        theta,
        score: reading_score(&lines),
        placed,
        mrz,
    })
}

/// The portrait analysed on its own thread while the text is recognised.
struct EarlyPortrait<'scope> {
    handle: std::thread::ScopedJoinHandle<'scope, (Result<FaceAnalysis>, Timings)>,
    rectified: bool,
    turns: u32,
}

/// A finished [`EarlyPortrait`]: on which image and at which quarter turn it was analysed.
struct EarlyDone {
    analysis: Result<FaceAnalysis>,
    timings: Timings,
    rectified: bool,
    turns: u32,
}

impl<'scope> EarlyPortrait<'scope> {
    /// Start analysing the portrait of `img` read along `theta`; `None` when no thread could be
    /// started (the portrait is then analysed after the text).
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        face: &'env mut FaceEngine,
        img: &'env RgbImage,
        rectified: bool,
        theta: f32,
    ) -> Option<Self> {
        let turns = (4 - quarter_of(theta)) % 4;
        let spawned = std::thread::Builder::new()
            .name("document-portrait".into())
            .spawn_scoped(scope, move || {
                let mut timings = Timings::default();
                let analysis =
                    face.analyze_turned(img, turns, Role::Document, &mut timings, "portrait.");
                (analysis, timings)
            });
        match spawned {
            Ok(handle) => Some(Self {
                handle,
                rectified,
                turns,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "no thread for the portrait; analysing it after the text");
                None
            }
        }
    }

    /// Wait for the analysis; `None` when the thread panicked (it is analysed again).
    fn join(self) -> Option<EarlyDone> {
        match self.handle.join() {
            Ok((analysis, timings)) => Some(EarlyDone {
                analysis,
                timings,
                rectified: self.rectified,
                turns: self.turns,
            }),
            Err(payload) => {
                tracing::warn!(
                    panic = crate::logs::panic_text(payload.as_ref()),
                    "the portrait thread ended by a panic; analysing the portrait again"
                );
                None
            }
        }
    }
}

fn quarter_of(theta: f32) -> u32 {
    ((theta / std::f32::consts::FRAC_PI_2).round() as i32).rem_euclid(4) as u32
}

/// Candidate MRZ bands, at most `max`: each is anchored at the longest line-shaped box not yet
/// in a band (the MRZ spans nearly the page), takes the long boxes beside it (the zone's other
/// rows) as seeds, and holds every box within two line heights of the seeds (a row the detector
/// broke at a filler run, a neighbouring row).
#[must_use]
pub fn mrz_bands(boxes: &[TextBox], theta: f32, max: usize) -> Vec<Vec<TextBox>> {
    let (s, c) = theta.sin_cos();
    let v_of = |b: &TextBox| -b.cx * s + b.cy * c;
    let mut long: Vec<&TextBox> = boxes
        .iter()
        .filter(|b| b.length >= 10.0 * b.thickness)
        .collect();
    long.sort_by(|a, b| b.length.total_cmp(&a.length));
    let mut used = vec![false; long.len()];
    let mut bands = Vec::new();
    while bands.len() < max {
        let Some(anchor) = (0..long.len()).find(|&i| !used[i]) else {
            break;
        };
        let a = long[anchor];
        let (va, h) = (v_of(a), a.thickness);
        let (mut vmin, mut vmax) = (va, va);
        for (i, b) in long.iter().enumerate() {
            if used[i] || b.length < 0.7 * a.length || (v_of(b) - va).abs() > 4.5 * h {
                continue;
            }
            used[i] = true;
            vmin = vmin.min(v_of(b));
            vmax = vmax.max(v_of(b));
        }
        used[anchor] = true;
        bands.push(
            boxes
                .iter()
                .filter(|b| {
                    let v = v_of(b);
                    v >= vmin - 2.0 * h && v <= vmax + 2.0 * h
                })
                .copied()
                .collect(),
        );
    }
    bands
}

/// Fill (and the `document_too_small` reason) from the located quadrilateral.
fn quality_from_quad(q: &mut DocumentQuality, quad: &DocumentQuad) {
    q.fill_percent = quad.fill_percent;
    q.reasons.retain(|r| r != "document_too_small");
    if quad.fill_percent < 25.0 {
        q.reasons.push("document_too_small".to_string());
    }
    q.acceptable = q.reasons.is_empty();
}

/// Length-weighted mean confidence of the lines, with a bonus per MRZ-like line.
fn reading_score(lines: &[TextLine]) -> f32 {
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for l in lines {
        let n = l.text.chars().count() as f32;
        num += l.confidence * n;
        den += n;
    }
    let mean = if den > 0.0 { num / den } else { 0.0 };
    let mrz = lines
        .iter()
        .filter(|l| fields::is_mrz_like(&l.text))
        .count();
    mean + 0.2 * mrz.min(3) as f32
}

/// No MRZ-like line and a weak mean confidence: the orientation may be wrong.
fn needs_second_look(lines: &[TextLine]) -> bool {
    !lines.is_empty()
        && !lines.iter().any(|l| fields::is_mrz_like(&l.text))
        && reading_score(lines) < 0.85
}

fn wrap_angle(a: f32) -> f32 {
    let pi = std::f32::consts::PI;
    let mut a = a;
    while a > pi {
        a -= 2.0 * pi;
    }
    while a <= -pi {
        a += 2.0 * pi;
    }
    a
}

/// The dominant reading direction of the long boxes (length-weighted, on doubled angles so that
/// ±90° agree), and every box turned to read along it.
#[must_use]
pub fn orient(boxes: &[TextBox]) -> (Vec<TextBox>, f32) {
    let (mut sx, mut sy) = (0.0f32, 0.0f32);
    for b in boxes.iter().filter(|b| b.length > 2.0 * b.thickness) {
        let w = b.length;
        sx += w * (2.0 * b.angle).cos();
        sy += w * (2.0 * b.angle).sin();
    }
    let theta = if sx == 0.0 && sy == 0.0 {
        0.0
    } else {
        0.5 * sy.atan2(sx)
    };
    let turned = boxes
        .iter()
        .map(|b| {
            if b.length < 1.6 * b.thickness {
                // A lone glyph or two ("F", "M"): its own axis is meaningless; read it along the
                // document's direction, over a square that covers it.
                let side = b.length.max(b.thickness);
                return TextBox {
                    angle: theta,
                    length: side,
                    thickness: side,
                    ..*b
                };
            }
            if wrap_angle(b.angle - theta).abs() > std::f32::consts::FRAC_PI_2 {
                b.flipped()
            } else {
                *b
            }
        })
        .collect();
    (turned, theta)
}

/// Lines in the upright document frame of reading direction `theta`.
fn place(lines: &[TextLine], theta: f32) -> Vec<PlacedLine> {
    let (s, c) = theta.sin_cos();
    lines
        .iter()
        // Very uncertain reads are noise (patterns, emblems), not text.
        .filter(|l| !l.text.trim().is_empty() && l.confidence >= 0.4)
        .map(|l| {
            let u = l.bbox.cx * c + l.bbox.cy * s;
            let v = -l.bbox.cx * s + l.bbox.cy * c;
            PlacedLine {
                text: l.text.trim().to_string(),
                confidence: l.confidence,
                char_confidences: l.char_confidences.clone(),
                left: u - l.bbox.length / 2.0,
                right: u + l.bbox.length / 2.0,
                v,
                height: l.bbox.thickness,
                slope: wrap_angle(l.bbox.angle - theta).tan().clamp(-1.0, 1.0),
            }
        })
        .collect()
}

/// Sharpness, brightness, glare and fill inside the region the text boxes span.
#[must_use]
pub fn measure_quality(img: &RgbImage, boxes: &[TextBox], theta: f32) -> DocumentQuality {
    let quarter = (theta / std::f32::consts::FRAC_PI_2).round();
    let rotation = ((quarter as i32 * 90).rem_euclid(360)) as u32;
    let skew = ((theta - quarter * std::f32::consts::FRAC_PI_2).to_degrees() * 10.0).round() / 10.0;
    if boxes.is_empty() {
        return DocumentQuality {
            sharpness: 0.0,
            brightness: 0.0,
            glare_percent: 0.0,
            fill_percent: 0.0,
            rotation_degrees: 0,
            skew_degrees: 0.0,
            acceptable: false,
            reasons: vec!["no_document".into()],
        };
    }
    // Document region in the rotated frame, grown by a margin of one line height.
    let (s, c) = theta.sin_cos();
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    let mut hsum = 0.0;
    for b in boxes {
        for p in b.corners() {
            let u = p[0] * c + p[1] * s;
            let v = -p[0] * s + p[1] * c;
            umin = umin.min(u);
            umax = umax.max(u);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
        hsum += b.thickness;
    }
    let margin = hsum / boxes.len() as f32;
    let (umin, umax, vmin, vmax) = (umin - margin, umax + margin, vmin - margin, vmax + margin);
    let area = (umax - umin) * (vmax - vmin);
    let frame = (img.width() * img.height()) as f32;
    let fill = (area / frame).min(1.0) * 100.0;
    // Sample on a grid of at most ~400×400 points inside the region.
    let step = ((img.width().max(img.height()) as f32) / 400.0).max(1.0) as u32;
    let (w, h) = (img.width(), img.height());
    let inside = |x: u32, y: u32| {
        let (xf, yf) = (x as f32, y as f32);
        let u = xf * c + yf * s;
        let v = -xf * s + yf * c;
        u >= umin && u <= umax && v >= vmin && v <= vmax
    };
    let g = |x: u32, y: u32| luma(img.get_pixel(x, y).0);
    let mut hist = [0u32; 256];
    let (mut n, mut sum) = (0u32, 0.0f64);
    let (mut lap_n, mut lap_sum, mut lap_sq) = (0u32, 0.0f64, 0.0f64);
    let mut y = 1;
    while y + 1 < h {
        let mut x = 1;
        while x + 1 < w {
            if inside(x, y) {
                let l = g(x, y);
                n += 1;
                sum += f64::from(l);
                hist[l.clamp(0.0, 255.0) as usize] += 1;
                let lap = g(x - 1, y) + g(x + 1, y) + g(x, y - 1) + g(x, y + 1) - 4.0 * l;
                lap_n += 1;
                lap_sum += f64::from(lap);
                lap_sq += f64::from(lap * lap);
            }
            x += step;
        }
        y += step;
    }
    let brightness = if n == 0 {
        0.0
    } else {
        (sum / f64::from(n) / 2.55) as f32
    };
    let median = glare::hist_quantile(&hist, 1, 2);
    // Blown-out pixels count as glare only on paper darker than them: on a white page scanned
    // flat (median ≥ 240) saturation is the paper itself.
    let glare: u32 = if median >= 240 {
        0
    } else {
        hist.iter().skip(250).sum()
    };
    let glare_percent = if n == 0 {
        0.0
    } else {
        glare as f32 * 100.0 / n as f32
    };
    let var = if lap_n == 0 {
        0.0
    } else {
        let m = lap_sum / f64::from(lap_n);
        (lap_sq / f64::from(lap_n) - m * m) as f32
    };
    // Variance of the Laplacian of sharp printed text is in the hundreds to thousands.
    let sharpness = 100.0 * (1.0 - (-var / 150.0).exp());
    let mut reasons = Vec::new();
    if sharpness < 30.0 {
        reasons.push("blurry".to_string());
    }
    if brightness < 25.0 {
        reasons.push("too_dark".to_string());
    }
    if brightness > 92.0 {
        reasons.push("too_bright".to_string());
    }
    if glare_percent > 3.0 {
        reasons.push("glare".to_string());
    }
    if fill < 25.0 {
        reasons.push("document_too_small".to_string());
    }
    let r1 = |v: f32| (v * 10.0).round() / 10.0;
    DocumentQuality {
        sharpness: r1(sharpness),
        brightness: r1(brightness),
        glare_percent: r1(glare_percent),
        fill_percent: r1(fill),
        rotation_degrees: rotation,
        skew_degrees: skew,
        acceptable: reasons.is_empty(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb(cx: f32, cy: f32, angle: f32) -> TextBox {
        TextBox {
            cx,
            cy,
            length: 200.0,
            thickness: 20.0,
            angle,
            score: 0.9,
        }
    }

    #[test]
    fn only_a_photo_the_detector_shrinks_is_seeded_smaller() {
        // Photos larger than the detector's input: seeded at 640.
        assert_eq!(seed_detection_side(1334, 880, 960), 640);
        assert_eq!(seed_detection_side(900, 1600, 960), 640);
        // Frames the detector sees at their own size, and page scans: full size.
        assert_eq!(seed_detection_side(761, 640, 960), 960);
        assert_eq!(seed_detection_side(960, 600, 960), 960);
        assert_eq!(seed_detection_side(1601, 900, 960), 960);
        assert_eq!(seed_detection_side(2480, 3508, 960), 960);
        // A detector limited below the seed size is never asked for more.
        assert_eq!(seed_detection_side(1334, 880, 512), 512);
    }

    #[test]
    fn vertical_lines_give_a_quarter_turn_and_agree() {
        let half = std::f32::consts::FRAC_PI_2;
        let (turned, theta) = orient(&[tb(0.0, 0.0, half), tb(50.0, 0.0, -half + 0.01)]);
        assert!((theta.abs() - half).abs() < 0.02, "theta {theta}");
        assert!(wrap_angle(turned[0].angle - turned[1].angle).abs() < 0.05);
    }

    #[test]
    fn quality_reasons_for_a_dark_flat_frame() {
        let img = RgbImage::from_pixel(400, 300, image::Rgb([20, 20, 20]));
        let q = measure_quality(&img, &[tb(200.0, 150.0, 0.0)], 0.0);
        assert!(q.reasons.contains(&"too_dark".to_string()));
        assert!(q.reasons.contains(&"blurry".to_string()));
        assert!(q.reasons.contains(&"document_too_small".to_string()));
        assert!(!q.acceptable);
        let none = measure_quality(&img, &[], 0.0);
        assert_eq!(none.reasons, vec!["no_document".to_string()]);
    }
}

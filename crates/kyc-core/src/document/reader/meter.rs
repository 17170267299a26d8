//! The live quality meter: what the document screen shows while the customer holds the document
//! up to the camera, and what automatic capture waits for. It runs the text detector alone (no
//! recognition, no portrait) and the same quality measures as a full read, so a frame the meter
//! calls acceptable is one the reader will not send back for blur, light, glare or size.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use super::{DocumentQuality, DocumentReader, measure_quality, orient, quality_from_quad};
use crate::document::glare;
use crate::document::locate::{self, DocumentQuad};
use crate::error::Result;

/// One frame's quality as the meter sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameAssessment {
    /// Sharpness, brightness, glare, fill, rotation and the reasons a capture would be refused.
    pub quality: DocumentQuality,
    /// The document's edges in frame pixels, when found.
    pub quad: Option<DocumentQuad>,
    /// Text boxes the detector found (0: no document in view).
    pub text_boxes: usize,
    /// Time the assessment took, ms.
    pub ms: f64,
}

/// Fewest text lines a document in view shows (an ID card's visual zone has eight or more; a
/// face in front of a door or a bookshelf yields a few stray boxes). Below it the frame is
/// `no_document`, whatever its sharpness and light.
pub const MIN_TEXT_BOXES: usize = 5;

impl DocumentReader {
    /// Measure a live frame's capture quality without reading it: text detection, orientation,
    /// the document's edges, then sharpness, brightness, glare (also over the text rows) and fill,
    /// exactly as [`DocumentReader::read_rgb`] measures them.
    ///
    /// # Errors
    /// When inference fails.
    pub fn assess(&mut self, rgb: &RgbImage) -> Result<FrameAssessment> {
        let t = Instant::now();
        let raw = self.ocr.detect(rgb)?;
        let (boxes, theta) = orient(&raw);
        let mut quality = measure_quality(rgb, &boxes, theta);
        let quad = if boxes.is_empty() {
            None
        } else {
            locate::locate(rgb, &raw, theta)
        };
        if let Some(q) = &quad {
            quality_from_quad(&mut quality, q);
        }
        if !boxes.is_empty() && glare::glare_on_rows(rgb, &boxes, theta) > glare::COVERED_LENGTH {
            quality.reasons.push("glare_on_text".into());
            quality.acceptable = false;
        }
        if boxes.len() < MIN_TEXT_BOXES {
            quality.reasons = vec!["no_document".into()];
            quality.acceptable = false;
        }
        Ok(FrameAssessment {
            quality,
            quad,
            text_boxes: boxes.len(),
            ms: t.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

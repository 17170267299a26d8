//! Identity documents: text reading (PP-OCRv6 through ONNX Runtime), the machine-readable zone
//! (MRZ) parser with check-digit-guided OCR repair, visual-zone fields, per-country ID-number
//! validation, and the `DocumentReader` that puts them together.
//!
//! See `ARCHITECTURE-document.md` beside this file for how the pieces fit together.

pub mod barcode;
pub mod fields;
pub mod glare;
pub mod idnumber;
pub mod layouts;
pub mod letters;
pub mod locate;
pub mod mrz;
pub mod ocr;
pub mod reader;
pub mod recapture;

pub use reader::{
    BackReading, DocumentQuality, DocumentReader, DocumentReading, OcrModels, ReaderOptions, Sides,
};

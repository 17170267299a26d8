//! Identity-document checks that need no model: the machine-readable zone (MRZ) parser with
//! check-digit-guided OCR repair, and per-country ID-number validation.
//!
//! See `ARCHITECTURE-document.md` beside this file for how the pieces fit together.

pub mod idnumber;
pub mod mrz;

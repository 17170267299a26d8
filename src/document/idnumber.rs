//! Per-country ID-number checks (placeholder while the MRZ module is built).

//! A document that could not be read (the text models failed) is reported in the document
//! block and refers the case; it does not abort the verification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::decision::apply_document;
use kyc_core::document::DocumentReading;
use kyc_core::result::Decision;

#[test]
fn an_unread_document_refers_with_its_reason() {
    let reading = DocumentReading::unread(
        "ocr_failed",
        "the document could not be read: recogniser output shape [1] is not 3-D".into(),
    );
    assert!(!reading.found);
    assert_eq!(reading.reason_code.as_deref(), Some("ocr_failed"));
    let json = serde_json::to_value(&reading).unwrap();
    assert_eq!(json["found"], false);
    assert_eq!(json["reasonCode"], "ocr_failed");
    assert!(json["mrz"].is_null());
    let mut reasons = Vec::new();
    let d = apply_document(Decision::Approve, &mut reasons, Some(&reading));
    assert_eq!(d, Decision::Refer);
    let r = reasons.iter().find(|r| r.code == "ocr_failed");
    assert!(
        r.is_some_and(|r| r.message.contains("could not be read")),
        "{reasons:?}"
    );
}

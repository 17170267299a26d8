//! Bodies exchanged between a kiosk and the central service: JSON (camelCase; binary as hex or
//! standard base64), and the push, which travels as a binary frame ([`encode_push`],
//! [`decode_push`]): a small JSON header and the sealed blobs as length-prefixed bytes.

use serde::{Deserialize, Serialize};

use crate::audit::ChainEvent;

/// Request headers carrying a kiosk's signature.
pub mod headers {
    /// The kiosk id.
    pub const KIOSK: &str = "x-kyc-kiosk";
    /// Client time, ms since epoch.
    pub const TIMESTAMP: &str = "x-kyc-timestamp";
    /// Single-use random value.
    pub const NONCE: &str = "x-kyc-nonce";
    /// ed25519 signature (hex) over [`crate::fleet::crypto::request_message`].
    pub const SIGNATURE: &str = "x-kyc-signature";
}

/// Paths of the central API.
pub mod paths {
    /// Enrol a kiosk with a one-time token (unsigned: the token authenticates).
    pub const ENROLL: &str = "/v1/enroll";
    /// What the central service has acknowledged for the signing kiosk.
    pub const HEAD: &str = "/v1/sync/head";
    /// Push chained events and records.
    pub const PUSH: &str = "/v1/sync/push";
}

/// How far a signed request's timestamp may be from the server's clock.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// `POST /v1/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequest {
    /// The kiosk id the token was made for.
    pub kiosk_id: String,
    /// The one-time token an administrator made centrally.
    pub token: String,
    /// The kiosk's ed25519 public key (hex).
    pub public_key: String,
}

/// Answer to an enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    /// The enrolled kiosk id.
    pub kiosk_id: String,
    /// The central service's X25519 public key (hex): what records are sealed to.
    pub central_public_key: String,
}

/// Answer to `GET /v1/sync/head`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadResponse {
    /// Kiosk id.
    pub kiosk_id: String,
    /// Highest sequence stored centrally (0 = none).
    pub ack_seq: i64,
    /// Its hash (hex; 64 zeros for none).
    pub ack_hash: String,
    /// Whether pushes are refused until an administrator clears the kiosk.
    pub quarantined: bool,
    /// Why, when quarantined.
    pub reason: Option<String>,
    /// Duplicate flags raised centrally on this kiosk's records and not yet chained by it.
    #[serde(default)]
    pub duplicate_flags: Vec<crate::fleet::dedup::DuplicateFlag>,
}

/// The kiosk's own chain head, sent with every push so a rollback is seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireHead {
    /// Sequence of the newest local event.
    pub seq: i64,
    /// Its hash (hex).
    pub hash: String,
}

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// Sequence.
    pub seq: i64,
    /// Time, ms since epoch.
    pub ts_ms: i64,
    /// Kind.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Record concerned.
    pub verification_id: Option<i64>,
    /// Payload JSON text as chained.
    pub payload: String,
    /// Previous hash (hex).
    pub prev_hash: String,
    /// Hash (hex).
    pub hash: String,
}

impl From<&ChainEvent> for WireEvent {
    fn from(e: &ChainEvent) -> Self {
        WireEvent {
            seq: e.seq,
            ts_ms: e.ts_ms,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            verification_id: e.verification_id,
            payload: e.payload.clone(),
            prev_hash: hex::encode(&e.prev_hash),
            hash: hex::encode(&e.hash),
        }
    }
}

/// One sealed image or template ([`crate::fleet::seal_to`]'s output; standard base64 in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlob {
    /// `document_front`, `document_back`, `portrait`, `selfie` or `template`.
    pub kind: String,
    /// Sealed bytes.
    #[serde(with = "b64")]
    pub sealed: Vec<u8>,
}

/// A recorded verification travelling with its creation event. Every part holding personal
/// or biometric data is sealed to the central key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRecord {
    /// Record id in the kiosk store.
    pub id: i64,
    /// The canonical row ([`crate::audit::VerificationCanon`] as JSON), sealed.
    #[serde(with = "b64")]
    pub sealed_row: Vec<u8>,
    /// Decision now.
    pub current_decision: String,
    /// Review status now.
    pub review_status: String,
    /// Images and the template, sealed.
    pub blobs: Vec<WireBlob>,
}

/// One pushed item: an event and, for a `verification_recorded` event, its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushItem {
    /// The chained event.
    pub event: WireEvent,
    /// The record it created (absent when the record's row no longer matches its creation
    /// event on the kiosk, e.g. erased before it was synced).
    pub record: Option<WireRecord>,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// Kiosk id (must equal the signing kiosk).
    pub kiosk_id: String,
    /// The kiosk's chain head now.
    pub head: WireHead,
    /// Events in sequence order, each the next after the previous.
    pub items: Vec<PushItem>,
}

/// Answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// Highest sequence now stored centrally.
    pub ack_seq: i64,
    /// Its hash (hex).
    pub ack_hash: String,
    /// Events newly stored.
    pub accepted: u64,
    /// Events already stored (same hash): skipped.
    pub duplicates: u64,
}

/// The body of any error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code (`unsigned`, `bad_signature`, `stale`, `replayed`, `quarantined`, …).
    pub error: String,
    /// Explanation.
    pub message: String,
}

/// Sealed bytes as standard base64 in JSON bodies.
mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("sealed bytes are not base64"))
    }
}

/// Content type of a binary push body.
pub const PUSH_CONTENT_TYPE: &str = "application/x-kyc-push";

/// The first bytes of a binary push body (format version 1).
pub const PUSH_MAGIC: &[u8; 8] = b"KYCPUSH1";

/// Largest JSON header of a binary push (events and blob kinds; the blobs are outside it).
pub const MAX_PUSH_HEADER: usize = 8 * 1024 * 1024;

/// Most sealed parts (rows, images, templates) one binary push may carry.
pub const MAX_PUSH_PARTS: usize = 20_000;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FrameHeader {
    kiosk_id: String,
    head: WireHead,
    items: Vec<FrameItem>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FrameItem {
    event: WireEvent,
    record: Option<FrameRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FrameRecord {
    id: i64,
    current_decision: String,
    review_status: String,
    /// Kinds of the blobs, in the order their bytes follow the row's.
    blobs: Vec<String>,
}

/// Why a binary push body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The body does not start with [`PUSH_MAGIC`].
    #[error("not a binary push (it must start with KYCPUSH1)")]
    BadMagic,
    /// The body ends before a length or the bytes it announces.
    #[error("binary push cut short: {0}")]
    Truncated(String),
    /// The header or a length is larger than allowed.
    #[error("binary push too large: {0}")]
    TooLarge(String),
    /// The JSON header does not parse.
    #[error("binary push header is not the expected JSON: {0}")]
    BadHeader(String),
    /// Bytes follow the last sealed part.
    #[error("binary push has {0} bytes after its last part")]
    TrailingBytes(usize),
}

fn put_part(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every part is far below 4 GiB (a push is capped well under that).
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A push as a binary frame: [`PUSH_MAGIC`], a big-endian u32 header length, the JSON header
/// (kiosk, head, events, each record's clear state and its blob kinds), then for each record in
/// order its sealed row and each sealed blob as a big-endian u32 length and the bytes. No
/// base64: the sealed parts travel as they are.
///
/// # Errors
/// `Protocol` when the header cannot be serialised or a part exceeds 4 GiB.
pub fn encode_push(req: &PushRequest) -> Result<Vec<u8>, super::FleetError> {
    let header = FrameHeader {
        kiosk_id: req.kiosk_id.clone(),
        head: req.head.clone(),
        items: req
            .items
            .iter()
            .map(|i| FrameItem {
                event: i.event.clone(),
                record: i.record.as_ref().map(|r| FrameRecord {
                    id: r.id,
                    current_decision: r.current_decision.clone(),
                    review_status: r.review_status.clone(),
                    blobs: r.blobs.iter().map(|b| b.kind.clone()).collect(),
                }),
            })
            .collect(),
    };
    let json =
        serde_json::to_vec(&header).map_err(|e| super::FleetError::Protocol(e.to_string()))?;
    let parts = req.items.iter().filter_map(|i| i.record.as_ref());
    let mut size = PUSH_MAGIC.len() + 4 + json.len();
    for r in parts.clone() {
        if r.sealed_row.len() > u32::MAX as usize
            || r.blobs.iter().any(|b| b.sealed.len() > u32::MAX as usize)
        {
            return Err(super::FleetError::Protocol(
                "a sealed part exceeds 4 GiB".into(),
            ));
        }
        size += 4 + r.sealed_row.len() + r.blobs.iter().map(|b| 4 + b.sealed.len()).sum::<usize>();
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(PUSH_MAGIC);
    put_part(&mut out, &json);
    for r in parts {
        put_part(&mut out, &r.sealed_row);
        for b in &r.blobs {
            put_part(&mut out, &b.sealed);
        }
    }
    Ok(out)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn part(&mut self, what: &str, max: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < 4 {
            return Err(FrameError::Truncated(format!("no length for {what}")));
        }
        let (len, rest) = self.rest.split_at(4);
        let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if n > max {
            return Err(FrameError::TooLarge(format!(
                "{what} announces {n} bytes (at most {max})"
            )));
        }
        if rest.len() < n {
            return Err(FrameError::Truncated(format!(
                "{what} announces {n} bytes, {} remain",
                rest.len()
            )));
        }
        let (bytes, rest) = rest.split_at(n);
        self.rest = rest;
        Ok(bytes)
    }
}

/// Parse a binary push made by [`encode_push`]. Every length is checked against what remains;
/// a body cut short, with bytes after its last part, or with more parts than
/// [`MAX_PUSH_PARTS`] is refused with what is wrong.
///
/// # Errors
/// [`FrameError`].
pub fn decode_push(body: &[u8]) -> Result<PushRequest, FrameError> {
    let rest = body.strip_prefix(PUSH_MAGIC).ok_or(FrameError::BadMagic)?;
    let mut r = Reader { rest };
    let json = r.part("the header", MAX_PUSH_HEADER)?;
    let header: FrameHeader =
        serde_json::from_slice(json).map_err(|e| FrameError::BadHeader(e.to_string()))?;
    let parts: usize = header
        .items
        .iter()
        .filter_map(|i| i.record.as_ref())
        .map(|r| 1 + r.blobs.len())
        .sum();
    if parts > MAX_PUSH_PARTS {
        return Err(FrameError::TooLarge(format!(
            "{parts} sealed parts (at most {MAX_PUSH_PARTS})"
        )));
    }
    let mut items = Vec::with_capacity(header.items.len());
    for item in header.items {
        let record = match item.record {
            None => None,
            Some(rec) => {
                let what = format!("record {}'s row", rec.id);
                let sealed_row = r.part(&what, body.len())?.to_vec();
                let mut blobs = Vec::with_capacity(rec.blobs.len());
                for kind in rec.blobs {
                    let what = format!("record {}'s {kind}", rec.id);
                    let sealed = r.part(&what, body.len())?.to_vec();
                    blobs.push(WireBlob { kind, sealed });
                }
                Some(WireRecord {
                    id: rec.id,
                    sealed_row,
                    current_decision: rec.current_decision,
                    review_status: rec.review_status,
                    blobs,
                })
            }
        };
        items.push(PushItem {
            event: item.event,
            record,
        });
    }
    if !r.rest.is_empty() {
        return Err(FrameError::TrailingBytes(r.rest.len()));
    }
    Ok(PushRequest {
        kiosk_id: header.kiosk_id,
        head: header.head,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PushRequest {
        let ev = |seq: i64, kind: &str, vid: Option<i64>| WireEvent {
            seq,
            ts_ms: 1_700_000_000_000 + seq,
            kind: kind.into(),
            actor: "agent1".into(),
            verification_id: vid,
            payload: format!("{{\"seq\":{seq}}}"),
            prev_hash: "00".repeat(32),
            hash: format!("{seq:02x}").repeat(32),
        };
        PushRequest {
            kiosk_id: "k1".into(),
            head: WireHead {
                seq: 3,
                hash: "03".repeat(32),
            },
            items: vec![
                PushItem {
                    event: ev(1, "login", None),
                    record: None,
                },
                PushItem {
                    event: ev(2, "verification_recorded", Some(7)),
                    record: Some(WireRecord {
                        id: 7,
                        sealed_row: vec![1, 2, 3, 0, 255],
                        current_decision: "refer".into(),
                        review_status: "pending".into(),
                        blobs: vec![
                            WireBlob {
                                kind: "selfie".into(),
                                sealed: (0..=255u8).cycle().take(70_000).collect(),
                            },
                            WireBlob {
                                kind: "template".into(),
                                sealed: Vec::new(),
                            },
                        ],
                    }),
                },
                PushItem {
                    event: ev(3, "logout", None),
                    record: None,
                },
            ],
        }
    }

    #[test]
    fn a_push_round_trips_through_the_frame_and_json() {
        let req = sample();
        let body = encode_push(&req).unwrap();
        assert!(body.starts_with(PUSH_MAGIC));
        assert_eq!(decode_push(&body).unwrap(), req);
        // The sealed parts are not base64-inflated: the frame is barely larger than them.
        let sealed = 5 + 70_000;
        assert!(body.len() < sealed + 2_000, "{}", body.len());
        let json = serde_json::to_vec(&req).unwrap();
        assert!(json.len() > sealed * 4 / 3, "{}", json.len());
        assert_eq!(serde_json::from_slice::<PushRequest>(&json).unwrap(), req);
    }

    #[test]
    fn cut_padded_garbled_and_oversized_frames_are_refused_with_why() {
        let body = encode_push(&sample()).unwrap();
        for cut in [0, 5, 8, 11, 12, 40, body.len() - 1] {
            let e = decode_push(&body[..cut]).unwrap_err();
            assert!(
                matches!(e, FrameError::BadMagic | FrameError::Truncated(_)),
                "cut at {cut}: {e:?}"
            );
        }
        let mut padded = body.clone();
        padded.push(0);
        assert_eq!(decode_push(&padded), Err(FrameError::TrailingBytes(1)));
        let mut garbled = body.clone();
        garbled[14] = b'#';
        assert!(matches!(
            decode_push(&garbled),
            Err(FrameError::BadHeader(_))
        ));
        let mut huge = PUSH_MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode_push(&huge), Err(FrameError::TooLarge(_))));
        assert_eq!(decode_push(b"{\"kioskId\":1}"), Err(FrameError::BadMagic));
        // A blob length pointing past the end.
        let json_len = u32::from_be_bytes([body[8], body[9], body[10], body[11]]) as usize;
        let first_part = 12 + json_len;
        let mut long = body.clone();
        let within = u32::try_from(body.len() - 1).unwrap();
        long[first_part..first_part + 4].copy_from_slice(&within.to_be_bytes());
        assert!(matches!(decode_push(&long), Err(FrameError::Truncated(_))));
        // A length larger than the whole body is refused before anything is read.
        long[first_part..first_part + 4].copy_from_slice(&1_000_000u32.to_be_bytes());
        assert!(matches!(decode_push(&long), Err(FrameError::TooLarge(_))));
    }
}

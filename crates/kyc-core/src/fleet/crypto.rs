//! Kiosk identity (ed25519 request signatures) and sealing to the central service
//! (X25519 ephemeral-static key agreement, HKDF-SHA256, ChaCha20-Poly1305).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::FleetError;

const SEAL_INFO: &[u8] = b"kyc-fleet-seal-v1";
const SIGN_DOMAIN: &str = "kyc-fleet-request-v1";
/// Bytes a sealed blob adds: ephemeral public key, nonce, tag.
pub const SEAL_OVERHEAD: usize = 32 + 12 + 16;

/// A kiosk's ed25519 signing key (made on the kiosk at enrolment; only its public half leaves).
pub struct KioskIdentity {
    key: SigningKey,
}

impl std::fmt::Debug for KioskIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KioskIdentity({})", hex::encode(self.public_key()))
    }
}

impl KioskIdentity {
    /// A fresh key from the operating system's generator.
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(seed.as_mut());
        KioskIdentity {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Rebuild from the 32-byte secret seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, FleetError> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| FleetError::Crypto("a kiosk signing key has 32 bytes".into()))?;
        Ok(KioskIdentity {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The secret seed (to store in the kiosk's fleet file, 0600).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public key the central service stores at enrolment.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Sign one request (see [`request_message`]).
    pub fn sign_request(&self, req: &SignedParts<'_>) -> [u8; 64] {
        self.key.sign(request_message(req).as_bytes()).to_bytes()
    }
}

/// What a request signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path (with query, if any).
    pub path: &'a str,
    /// Kiosk id claimed.
    pub kiosk_id: &'a str,
    /// Client time, ms since epoch.
    pub timestamp_ms: i64,
    /// Random single-use value (hex).
    pub nonce: &'a str,
    /// The request body.
    pub body: &'a [u8],
}

/// The exact bytes signed: domain, method, path, kiosk, timestamp, nonce and the body's
/// SHA-256, one per line.
pub fn request_message(p: &SignedParts<'_>) -> String {
    format!(
        "{SIGN_DOMAIN}\n{}\n{}\n{}\n{}\n{}\n{}",
        p.method,
        p.path,
        p.kiosk_id,
        p.timestamp_ms,
        p.nonce,
        hex::encode(Sha256::digest(p.body))
    )
}

/// Check a request signature against an enrolled kiosk's public key.
///
/// # Errors
/// `Crypto` when the key or signature is malformed or the signature does not verify.
pub fn verify_request(
    public_key: &[u8],
    req: &SignedParts<'_>,
    signature: &[u8],
) -> Result<(), FleetError> {
    let vk = parse_public_key(public_key)?;
    let sig: [u8; 64] = signature
        .try_into()
        .map_err(|_| FleetError::Crypto("signature is not 64 bytes".into()))?;
    vk.verify_strict(
        request_message(req).as_bytes(),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| FleetError::Crypto("request signature does not verify".into()))
}

/// Parse a kiosk's ed25519 public key, refusing one that is not a valid point.
///
/// # Errors
/// `Crypto`.
pub fn parse_public_key(public_key: &[u8]) -> Result<VerifyingKey, FleetError> {
    let pk: [u8; 32] = public_key
        .try_into()
        .map_err(|_| FleetError::Crypto("public key is not 32 bytes".into()))?;
    let vk = VerifyingKey::from_bytes(&pk)
        .map_err(|_| FleetError::Crypto("public key is not a valid ed25519 point".into()))?;
    if vk.is_weak() {
        return Err(FleetError::Crypto(
            "public key is a weak (small-order) point".into(),
        ));
    }
    Ok(vk)
}

/// A random request nonce (16 bytes, hex).
pub fn new_nonce() -> String {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    hex::encode(n)
}

/// The central service's X25519 secret: what records and biometrics are sealed to.
pub struct CentralSecret {
    secret: StaticSecret,
}

impl std::fmt::Debug for CentralSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CentralSecret({})", hex::encode(self.public_key()))
    }
}

impl CentralSecret {
    /// A fresh secret.
    pub fn generate() -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(b.as_mut());
        CentralSecret {
            secret: StaticSecret::from(*b),
        }
    }

    /// From its 32 bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, FleetError> {
        let b: [u8; 32] = b
            .try_into()
            .map_err(|_| FleetError::Crypto("the central secret has 32 bytes".into()))?;
        Ok(CentralSecret {
            secret: StaticSecret::from(b),
        })
    }

    /// Its bytes (for the key file).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key given to kiosks at enrolment.
    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.secret).to_bytes()
    }

    /// The X25519 shared secret with `peer`; `None` for a low-order peer key (no contribution).
    pub fn shared_with(&self, peer: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*peer));
        shared
            .was_contributory()
            .then(|| Zeroizing::new(*shared.as_bytes()))
    }
}

fn seal_key(shared: &[u8; 32], eph_pub: &[u8; 32], recipient: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph_pub);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit (8160), so expand cannot fail.
    if hk.expand(SEAL_INFO, okm.as_mut()).is_err() {
        okm.as_mut().fill(0);
    }
    okm
}

/// Seal `plain` to `recipient` (an X25519 public key), bound to `aad`: a fresh ephemeral key
/// per message; the output is `ephemeral public key (32) || nonce (12) || ciphertext+tag`.
///
/// # Errors
/// `Crypto` for a low-order recipient key (no shared secret).
pub fn seal_to(recipient: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, FleetError> {
    let mut b = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(b.as_mut());
    let eph = StaticSecret::from(*b);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(FleetError::Crypto(
            "the central public key is a low-order point".into(),
        ));
    }
    let key = seal_key(shared.as_bytes(), &eph_pub, recipient);
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ct = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| FleetError::Crypto("message too large to seal".into()))?;
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plain.len());
    out.extend_from_slice(&eph_pub);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Open what [`seal_to`] made, with the central secret and the same `aad`.
///
/// # Errors
/// `Crypto` when the blob is too short, was sealed to another key, bound to other data, or
/// altered.
pub fn open_sealed(
    secret: &CentralSecret,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, FleetError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(FleetError::Crypto("sealed blob too short".into()));
    }
    let (eph_pub, rest) = sealed.split_at(32);
    let (nonce, ct) = rest.split_at(12);
    let mut e = [0u8; 32];
    e.copy_from_slice(eph_pub);
    let shared = secret.secret.diffie_hellman(&PublicKey::from(e));
    if !shared.was_contributory() {
        return Err(FleetError::Crypto("sealed blob has a low-order key".into()));
    }
    let key = seal_key(shared.as_bytes(), &e, &secret.public_key());
    ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| FleetError::Crypto("sealed blob does not authenticate".into()))
}

/// The associated data binding a sealed part to its kiosk, record and kind.
pub fn record_aad(kiosk_id: &str, record_id: i64, part: &str) -> Vec<u8> {
    format!("kyc-fleet:{kiosk_id}:{record_id}:{part}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_opens_only_with_its_key_and_aad() {
        let central = CentralSecret::generate();
        let other = CentralSecret::generate();
        let sealed = seal_to(&central.public_key(), b"a", b"selfie bytes").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"selfie"));
        assert_eq!(
            open_sealed(&central, b"a", &sealed).unwrap().as_slice(),
            b"selfie bytes"
        );
        assert!(open_sealed(&central, b"b", &sealed).is_err());
        assert!(open_sealed(&other, b"a", &sealed).is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(open_sealed(&central, b"a", &flipped).is_err());
        assert!(open_sealed(&central, b"a", &sealed[..20]).is_err());
        assert!(seal_to(&[0u8; 32], b"a", b"x").is_err());
    }

    #[test]
    fn signatures_cover_every_part() {
        let k = KioskIdentity::generate();
        let base = SignedParts {
            method: "POST",
            path: "/v1/sync/push",
            kiosk_id: "k1",
            timestamp_ms: 1_000,
            nonce: "ab",
            body: b"{}",
        };
        let sig = k.sign_request(&base);
        assert!(verify_request(&k.public_key(), &base, &sig).is_ok());
        let variants = [
            SignedParts {
                method: "GET",
                ..base
            },
            SignedParts {
                path: "/v1/sync/head",
                ..base
            },
            SignedParts {
                kiosk_id: "k2",
                ..base
            },
            SignedParts {
                timestamp_ms: 1_001,
                ..base
            },
            SignedParts {
                nonce: "ac",
                ..base
            },
            SignedParts {
                body: b"{ }",
                ..base
            },
        ];
        for v in variants {
            assert!(verify_request(&k.public_key(), &v, &sig).is_err(), "{v:?}");
        }
        let other = KioskIdentity::generate();
        assert!(verify_request(&other.public_key(), &base, &sig).is_err());
        let again = KioskIdentity::from_seed(k.seed().as_ref()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
    }
}

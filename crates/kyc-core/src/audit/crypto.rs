//! Key file, blob encryption (ChaCha20-Poly1305) and the keyed chain MAC (HMAC-SHA256).
//!
//! One key file holds two independent 256-bit keys: one encrypts blobs, one keys the hash
//! chain. The file lives outside the database so a copied database alone reveals no biometric
//! data and cannot be re-chained by whoever edits it.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::AuditError;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = "kyc-kiosk-audit-key v1";
/// Domain of the database (SQLCipher) key, derived from the blob key.
const DATABASE_KEY_DOMAIN: &[u8] = b"kyc-kiosk-audit-database-key-v1";
/// Length of the random nonce stored in front of each blob.
pub(crate) const NONCE_LEN: usize = 12;

/// The two secrets of one kiosk: the blob encryption key and the chain MAC key. Wiped from
/// memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuditKeys {
    enc: [u8; 32],
    mac: [u8; 32],
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "AuditKeys({})", self.fingerprint())
    }
}

impl AuditKeys {
    /// Generate fresh random keys from the operating system's generator.
    pub fn generate() -> Self {
        let mut enc = [0u8; 32];
        let mut mac = [0u8; 32];
        OsRng.fill_bytes(&mut enc);
        OsRng.fill_bytes(&mut mac);
        AuditKeys { enc, mac }
    }

    /// A short public identifier of these keys, stored in the database to detect a wrong key file.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"kyc-kiosk audit key fingerprint v1");
        h.update(self.enc);
        h.update(self.mac);
        hex(&h.finalize()[..16])
    }

    /// Read keys from a key file. Refuses a key file that its group or other users may read
    /// or write (`KeyPermissions`): a key others can read protects nothing.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        check_key_permissions(path)?;
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?);
        let malformed = |reason: &str| AuditError::KeyMalformed {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(malformed("missing header line"));
        }
        let enc = parse_key(lines.next()).ok_or_else(|| malformed("bad encryption key line"))?;
        let mac = parse_key(lines.next()).ok_or_else(|| malformed("bad MAC key line"))?;
        Ok(AuditKeys { enc, mac })
    }

    /// Write keys to a new key file readable only by its owner (0600 on Unix); refuses to overwrite.
    pub fn save_new(&self, path: &Path) -> Result<(), AuditError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| AuditError::io(path, e))?;
        let body = Zeroizing::new(format!(
            "{HEADER}\n{}\n{}\n",
            hex(&self.enc),
            hex(&self.mac)
        ));
        f.write_all(body.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| AuditError::io(path, e))?;
        Ok(())
    }

    /// Encrypt `plain` with a fresh random nonce; returns nonce || ciphertext+tag.
    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, AuditError> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.enc));
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| AuditError::InvalidInput("blob too large to encrypt".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypt nonce || ciphertext+tag; `None` when authentication fails.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.enc));
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail; fall back to a zero MAC
        // only to satisfy the type (which would then never verify).
        let Ok(mut m) = <HmacSha256 as Mac>::new_from_slice(&self.mac) else {
            return [0u8; 32];
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The key of the chain-head anchor file, derived from the chain key (its own domain, so an
    /// anchor MAC can never pass for an event MAC).
    pub(crate) fn anchor_key(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.mac(&[b"kyc-kiosk-audit-anchor-key-v1"]))
    }

    /// The key of the database file itself (SQLCipher), as the raw-key literal `PRAGMA key`
    /// takes (`x'…'`, 64 hex digits: used as is, no passphrase stretching). Derived from the
    /// blob key in its own domain, so it is never the same bytes as the blob or chain key and
    /// knowing it (it sits in SQLCipher's memory) gives neither. An administrator holding the
    /// key file can open the database with it in any SQLCipher 4 tool, setting the store's page
    /// format after the key (`PRAGMA cipher_page_size = 16384; PRAGMA cipher_hmac_algorithm =
    /// HMAC_SHA256;`, see `cipher.rs`).
    pub fn database_key_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex(self.database_key().as_slice())))
    }

    fn database_key(&self) -> Zeroizing<[u8; 32]> {
        // HMAC accepts keys of any length: this cannot fail.
        let Ok(mut m) = <HmacSha256 as Mac>::new_from_slice(&self.enc) else {
            return Zeroizing::new([0u8; 32]);
        };
        m.update(DATABASE_KEY_DOMAIN);
        Zeroizing::new(m.finalize().into_bytes().into())
    }

    /// A keyed, non-reversible tag of an identifier (used in tombstones instead of the plain ID).
    pub(crate) fn tag(&self, domain: &str, value: &str) -> String {
        hex(&self.mac(&[domain.as_bytes(), &[0], value.as_bytes()])[..16])
    }
}

/// Where keys came from when the store was opened. Since the whole database is encrypted, an
/// opened store is always `Ok` (a missing or wrong key fails the open with `KeyMissing` /
/// `WrongKey`); the other states remain for callers that match on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Keys loaded and matching the database.
    Ok,
    /// No key file: nothing in the database can be read.
    Missing(PathBuf),
    /// The key file belongs to another database.
    Wrong(PathBuf),
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// SHA-256 of bytes, as lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Refuse a key file readable or writable by its group or by others.
fn check_key_permissions(path: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| AuditError::io(path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AuditError::KeyPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn parse_key(line: Option<&str>) -> Option<[u8; 32]> {
    let line = line?.trim();
    let mut out = [0u8; 32];
    ::hex::decode_to_slice(line, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let k = AuditKeys::generate();
        let sealed = k.seal(b"7:selfie", b"hello").unwrap();
        assert_eq!(k.open(b"7:selfie", &sealed).unwrap(), b"hello");
        assert!(k.open(b"8:selfie", &sealed).is_none());
        let other = AuditKeys::generate();
        assert!(other.open(b"7:selfie", &sealed).is_none());
    }

    #[test]
    fn database_key_is_its_own_domain() {
        let k = AuditKeys::generate();
        let lit = k.database_key_literal();
        assert!(
            lit.starts_with("x'") && lit.ends_with('\''),
            "{}",
            lit.as_str()
        );
        assert_eq!(lit.len(), 2 + 64 + 1);
        let db = k.database_key();
        assert_ne!(*db, k.enc);
        assert_ne!(*db, k.mac);
        assert_ne!(*db, *k.anchor_key());
        assert!(!lit.contains(&hex(&k.enc)) && !lit.contains(&hex(&k.mac)));
        // Deterministic for one key file, different for another.
        assert_eq!(*k.database_key_literal(), *lit);
        assert_ne!(*AuditKeys::generate().database_key_literal(), *lit);
    }

    #[test]
    fn key_file_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let k = AuditKeys::generate();
        k.save_new(&p).unwrap();
        let k2 = AuditKeys::load(&p).unwrap();
        assert_eq!(k.fingerprint(), k2.fingerprint());
        assert!(k.save_new(&p).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            for lax in [0o666, 0o640, 0o604, 0o620] {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(lax)).unwrap();
                assert!(
                    matches!(AuditKeys::load(&p), Err(AuditError::KeyPermissions { mode, .. }) if mode == lax),
                    "{lax:o}"
                );
            }
        }
    }
}

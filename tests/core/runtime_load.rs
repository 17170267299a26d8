//! A runtime load nothing can slip into: ONNX Runtime runs from a sealed in-memory copy of the
//! bytes that were verified (a library swapped on disk afterwards is not what runs), and a
//! models folder others can write to, or one holding an extra shared library next to the
//! runtime (the loader would take `librt.so.1` from there), is refused with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kyc_core::inference::{self, InferenceModel, Runtime, Tensor};
use kyc_core::models::{self, Manifest};

/// A models folder of its own in a temporary directory: the runtime copied, every model a
/// symbolic link to the fetched one (their bytes are verified when read).
fn private_models() -> (tempfile::TempDir, PathBuf) {
    let src = models::models_dir();
    let manifest = Manifest::embedded().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models");
    let lib = dir.join(&manifest.runtime.file);
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    std::fs::copy(src.join(&manifest.runtime.file), &lib).unwrap();
    for entry in &manifest.model {
        let to = dir.join(&entry.file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::os::unix::fs::symlink(src.join(&entry.file), &to).unwrap();
    }
    for d in [&dir, &lib.parent().unwrap().to_path_buf()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (tmp, dir)
}

fn refusal(dir: &Path) -> String {
    match Runtime::open(dir) {
        Ok(_) => panic!("{} was accepted", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_library_swapped_after_verification_is_not_what_runs() {
    let (_tmp, dir) = private_models();
    let manifest = Manifest::embedded().unwrap();
    let rt = Runtime::open(&dir).unwrap();
    let mut detector = rt.load("face_detector", 1).unwrap();
    // The attacker replaces the library on disk once it has been verified.
    let lib = dir.join(&manifest.runtime.file);
    std::fs::write(&lib, b"\x7fELF not onnxruntime at all").unwrap();
    // Models still load and run on the runtime that was verified.
    let rt = Runtime::open(&dir).unwrap();
    let mut embedder = rt.load("face_embedder", 1).unwrap();
    let out = detector
        .run(&Tensor::new(vec![1, 3, 64, 64], vec![0.0; 3 * 64 * 64]))
        .unwrap();
    assert!(!out.is_empty());
    let out = embedder
        .run(&Tensor::new(vec![1, 3, 112, 112], vec![0.5; 3 * 112 * 112]))
        .unwrap();
    assert_eq!(out[0].data.len(), 128);
    // What this process runs is the sealed copy: its bytes hash to the manifest's value, and
    // no file of the models folder (or any file path) is mapped as ONNX Runtime.
    let loaded = inference::loaded_runtime().unwrap().unwrap();
    assert_eq!(loaded.sha256, manifest.runtime.sha256);
    assert!(
        loaded.loaded_from.starts_with("/proc/self/fd/"),
        "{loaded:?}"
    );
    assert!(!loaded.mappings.is_empty(), "{loaded:?}");
    for m in &loaded.mappings {
        assert!(
            m.starts_with(&format!("/memfd:{}", inference::RUNTIME_MEMFD_NAME)),
            "ONNX Runtime mapped from a file: {m}"
        );
    }
    // The sealed copy refuses writes, even from this process.
    let fd_path = PathBuf::from(&loaded.loaded_from);
    let write = std::fs::OpenOptions::new()
        .write(true)
        .open(&fd_path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"));
    assert!(write.is_err(), "the sealed runtime copy took a write");
}

#[test]
fn an_extra_shared_library_in_the_models_folder_is_refused() {
    let manifest = Manifest::embedded().unwrap();
    for place in ["lib", ""] {
        let (_tmp, dir) = private_models();
        // What the runtime's `$ORIGIN` run path would have found before its system libraries.
        let planted = dir.join(place).join("librt.so.1");
        std::fs::write(&planted, b"\x7fELF").unwrap();
        let e = refusal(&dir);
        assert!(
            e.contains("unexpected shared library librt.so.1"),
            "{place:?}: {e}"
        );
        std::fs::remove_file(&planted).unwrap();
        assert!(Runtime::open(&dir).is_ok());
        // Any versioned or plain `.so` counts; the runtime itself does not.
        std::fs::write(dir.join(place).join("libhelper.so"), b"").unwrap();
        assert!(refusal(&dir).contains("libhelper.so"));
    }
    assert!(manifest.runtime.file.starts_with("lib/"));
}

#[test]
fn a_models_folder_others_can_write_to_is_refused() {
    let (_tmp, dir) = private_models();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = refusal(&dir);
    assert!(e.contains("writable by others") && e.contains("777"), "{e}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
    assert!(refusal(&dir).contains("writable by its group"));
    // The runtime's own folder too.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lib = dir.join("lib");
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(refusal(&dir).contains("lib is writable by others"));
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A parent anyone can write to (without the sticky bit) could swap the whole folder.
    let parent = dir.parent().unwrap();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = refusal(&dir);
    assert!(e.contains("a parent of the models folder"), "{e}");
    // With the sticky bit (as /tmp has it) others cannot rename what is in it: accepted.
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(Runtime::open(&dir).is_ok());
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(Runtime::open(&dir).is_ok());
}

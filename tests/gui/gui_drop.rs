//! Drag and drop, through egui's own input: files dropped on the window arrive as
//! `RawInput::dropped_files`, exactly as eframe hands them over from the display server. A
//! dropped document photo and selfie are imported; a dropped file that is not an image, a folder,
//! several files at once, and a drop before the customer's consent are each refused with their own
//! message, and nothing of them is kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;
use crate::kiosk;
use crate::session;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eframe::egui::{self, accesskit::Role};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::Role as UserRole;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::{AppOptions, KioskApp};

use kiosk::{click, type_into_role, wait_for};

/// A file dropped on the window, as the display server names it.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drop `paths` on the window in one gesture and run the frame that receives them.
fn drop_files(h: &mut Harness<'_, KioskApp>, paths: &[&Path]) {
    for p in paths {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(p.to_path_buf())));
    }
    h.step();
    h.step();
}

/// Wait until no import is decoding.
fn settle(h: &mut Harness<'_, KioskApp>) {
    wait_for(h, "the import to finish", |a| !a.ui.importing());
}

fn signed_in_kiosk(dir: &Path) -> Harness<'static, KioskApp> {
    let audit =
        session::store_with_users(dir, &[("ama", session::AGENT_PASSWORD, UserRole::Agent)]);
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    type_into_role(&mut h, Role::TextInput, EN.username, "ama");
    type_into_role(
        &mut h,
        Role::PasswordInput,
        EN.password,
        session::AGENT_PASSWORD,
    );
    click(&mut h, EN.log_in);
    wait_for(&mut h, "login", |a| a.state.user.is_some());
    h
}

fn document_name(h: &Harness<'_, KioskApp>) -> Option<String> {
    let s = h.state().state.session.as_ref()?;
    s.document.as_ref().map(|d| d.name.clone())
}

#[test]
fn dropped_files_are_imported_and_bad_drops_get_their_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = signed_in_kiosk(dir.path());
    let doc = data("obama.jpg");
    let selfie = data("obama2.jpg");

    // On the start screen nothing takes a file: a drop there starts nothing.
    drop_files(&mut h, &[&doc]);
    assert!(!h.state().ui.importing());
    assert!(h.state().state.session.is_none());
    assert_eq!(h.state().ui.document_path, "");

    h.state_mut().state.start.country = "GH".into();
    click(&mut h, EN.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);

    // A text file named like a photo: refused by content, with the core's own message.
    let fake = dir.path().join("scan.jpg");
    std::fs::write(&fake, "this is not a picture of a document\n").unwrap();
    drop_files(&mut h, &[&fake]);
    settle(&mut h);
    let e = h
        .state()
        .ui
        .import_error
        .clone()
        .expect("an error for the fake");
    assert_eq!(
        e,
        format!("{}: not an image (neither JPEG nor PNG)", fake.display())
    );
    assert!(h.query_by_label(&e).is_some(), "the error is on screen");
    assert_eq!(document_name(&h), None);

    // A folder dropped: refused before anything is read.
    let folder = dir.path().join("scans.jpg");
    std::fs::create_dir(&folder).unwrap();
    drop_files(&mut h, &[&folder]);
    settle(&mut h);
    let e = h
        .state()
        .ui
        .import_error
        .clone()
        .expect("an error for the folder");
    assert!(e.contains("a directory, not a regular file"), "{e}");
    assert_eq!(document_name(&h), None);

    // Two files in one drop (which one would be the document?): neither is taken.
    drop_files(&mut h, &[&doc, &selfie]);
    assert!(!h.state().ui.importing());
    assert_eq!(h.state().ui.import_error.as_deref(), Some(EN.drop_one_file));
    assert!(h.query_by_label(EN.drop_one_file).is_some());
    assert_eq!(document_name(&h), None);

    // The document photo dropped: imported, byte for byte, as the document's front.
    drop_files(&mut h, &[&doc]);
    wait_for(&mut h, "the dropped document", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    assert_eq!(h.state().ui.import_error, None);
    assert_eq!(h.state().ui.document_path, doc.display().to_string());
    let kept = h.state().state.session.as_ref().unwrap().document.clone();
    let kept = kept.unwrap();
    assert_eq!(kept.name, "obama.jpg");
    assert_eq!(
        kept.bytes.as_deref().map(Vec::as_slice),
        Some(std::fs::read(&doc).unwrap().as_slice())
    );

    // The selfie screen before consent: a dropped selfie is not taken.
    click(&mut h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    drop_files(&mut h, &[&selfie]);
    assert!(!h.state().ui.importing());
    assert!(h.state().state.session.as_ref().unwrap().selfie.is_none());
    assert_eq!(h.state().ui.selfie_path, "");

    // After consent the dropped selfie is imported (a still: no liveness result).
    click(&mut h, EN.consent_agree);
    drop_files(&mut h, &[&selfie]);
    wait_for(&mut h, "the dropped selfie", |a| {
        a.state.session.as_ref().is_some_and(|s| s.selfie.is_some())
    });
    let s = h.state().state.session.as_ref().unwrap();
    assert_eq!(s.selfie.as_ref().unwrap().name, "obama2.jpg");
    assert!(s.liveness.is_none());
    // The document is still the one dropped first.
    assert_eq!(s.document.as_ref().unwrap().name, "obama.jpg");
}

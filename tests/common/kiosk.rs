//! Driving the kiosk headless with egui_kittest: wait for a state, click a button, type into a
//! field found by its accessible label. Shared by the GUI tests and the frame-time example.
#![allow(dead_code, clippy::panic)]

use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_kiosk::gui::KioskApp;

/// Step the UI until `done` holds, then once more. The bound only guards against a hang;
/// nothing is timed.
pub fn wait_for(h: &mut Harness<'_, KioskApp>, what: &str, done: impl Fn(&KioskApp) -> bool) {
    for _ in 0..12_000 {
        h.step();
        if done(h.state()) {
            h.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting for {what}");
}

/// Click the button with this label.
pub fn click(h: &mut Harness<'_, KioskApp>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.step();
    h.step();
}

/// Focus the widget with this role and label and type `text` into it.
pub fn type_into_role(h: &mut Harness<'_, KioskApp>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.step();
    h.get_by_role_and_label(role, label).type_text(text);
    h.step();
}

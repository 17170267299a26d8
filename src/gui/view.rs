//! Drawing: one function per screen over the state machine. Returns the jobs the user's clicks
//! asked for; never blocks (file imports decode on a short-lived thread).

use eframe::egui;
use kyc_core::logs::WarnOnErr;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use egui::{Color32, RichText, TextureHandle, TextureOptions, Vec2};

use kyc_core::audit::{self, CustomerType};
use kyc_core::document::idnumber::IdType;
use kyc_core::liveness::challenge::{ChallengeState, Step};
use kyc_core::result::{Decision, VerificationResult};

use super::capture::{self, Frame};
use super::messages::{Captured, Job, Stage};
use super::meter::{AutoCapture, Hint, Side};
use super::state::{
    AppState, DecisionError, FieldForm, FormError, MAX_CHALLENGE_ATTEMPTS, ModelStatus, Screen,
    StoreStatus,
};
use super::strings::{Lang, Strings};
use kyc_core::document::reader::meter::FrameAssessment;

/// Which image an import or capture is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The ID document.
    Document,
    /// The selfie.
    Selfie,
}

/// The document screen's live quality meter, as the UI shows it.
#[derive(Default)]
pub struct MeterView {
    /// The detector is loaded (`None`: loading or no live source).
    pub ready: Option<Result<(), String>>,
    /// The latest assessment and the size of the frame it measured.
    pub latest: Option<(Box<FrameAssessment>, u32, u32)>,
    /// Automatic capture's streak and hint.
    pub auto: AutoCapture,
    /// The agent turned automatic capture off (manual capture only).
    pub manual_only: bool,
    /// The document on screen was captured automatically.
    pub auto_captured: bool,
    /// The side being watched (the streak restarts when it changes).
    pub side: Option<Side>,
    /// Assessments made, and their summed time (ms), for the frame-time figures.
    pub assessed: usize,
    /// Summed assessment time, ms.
    pub assess_ms: f64,
}

impl MeterView {
    /// Forget the latest assessment and the streak (screen left, document kept or retaken).
    pub fn clear(&mut self) {
        self.latest = None;
        self.auto.reset();
    }
}

/// UI-only state: text fields, textures, the latest frame, imports in flight.
#[derive(Default)]
pub struct UiState {
    /// Document file path field.
    pub document_path: String,
    /// Selfie file path field.
    pub selfie_path: String,
    /// Latest frame from the source.
    pub frame: Option<Frame>,
    /// The source's error, if it stopped (or, with `source_retrying`, while it is reopened).
    pub source_error: Option<String>,
    /// The camera failed and is being opened again.
    pub source_retrying: bool,
    /// Import problem.
    pub import_error: Option<String>,
    /// Set when a supervisor asks to leave the kiosk.
    pub exit_requested: bool,
    /// The agent asked for a liveness challenge (taken by the app, which issues it).
    pub challenge_requested: bool,
    /// The live document meter: its state, the latest assessment and automatic capture.
    pub meter: MeterView,
    /// The document back-side step's own fields.
    pub back: BackSideUi,
    /// Limits of imported image files: the configured ones, as the command line uses them.
    pub limits: kyc_core::imaging::ImageLimits,
    frame_tex: Option<TextureHandle>,
    textures: HashMap<String, TextureHandle>,
    import: Option<(Target, Receiver<Result<Frame, String>>)>,
}

impl UiState {
    /// Take a new frame from the source and upload its preview.
    pub fn set_frame(&mut self, ctx: &egui::Context, f: Frame) {
        match self.frame_tex.as_mut() {
            Some(t) => t.set(Arc::clone(&f.preview), TextureOptions::LINEAR),
            None => {
                self.frame_tex =
                    Some(ctx.load_texture("frame", Arc::clone(&f.preview), TextureOptions::LINEAR));
            }
        }
        self.source_error = None;
        self.source_retrying = false;
        self.frame = Some(f);
    }

    /// Whether an import is decoding.
    #[must_use]
    pub fn importing(&self) -> bool {
        self.import.is_some()
    }

    fn texture(&mut self, ctx: &egui::Context, key: &str, img: &egui::ColorImage) -> TextureHandle {
        self.textures
            .entry(key.to_string())
            .or_insert_with(|| ctx.load_texture(key, img.clone(), TextureOptions::LINEAR))
            .clone()
    }

    fn start_import(
        &mut self,
        target: Target,
        path: String,
        limits: kyc_core::imaging::ImageLimits,
    ) {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let r = capture::load_frame(std::path::Path::new(path.trim()), &limits, 0, 0.0);
            tx.send(r)
                .warn_on_err("handing an imported image to the window");
        });
        self.import_error = None;
        self.import = Some((target, rx));
    }
}

/// UI state of the document back-side step ([`back_side_panel`]): its file field and import.
#[derive(Default)]
pub struct BackSideUi {
    /// Back-side file path field.
    pub path: String,
    /// Import problem.
    pub error: Option<String>,
    import: Option<Receiver<Result<Frame, String>>>,
    /// The session these fields belong to (a new customer starts with them empty).
    ticket: u64,
}

/// A frame or imported file as the back side's image and preview (as `keep` does for the
/// front).
pub(crate) fn back_image(frame: &Frame) -> (Captured, egui::ColorImage) {
    (
        Captured {
            name: frame.name.clone(),
            bytes: frame.encoded.clone(),
            pixels: frame.encoded.is_none().then(|| Arc::clone(&frame.rgb)),
        },
        (*frame.preview).clone(),
    )
}

/// The document's back side on the Document screen, once the front is kept: "Add back side"
/// (when optional), then capture from the live frame, import a file, retake, or skip (when
/// the claimed type does not require it). Everything the step needs is here, so that the
/// capture screen calls it with one line.
fn back_side_panel(
    ui: &mut egui::Ui,
    st: &mut AppState,
    us: &mut UiState,
    has_source: bool,
    target: Target,
) {
    use super::state::BackSide;
    if target != Target::Document {
        return;
    }
    let Some(ticket) = st.session.as_ref().map(|s| s.ticket) else {
        return;
    };
    if us.back.ticket != ticket {
        us.back = BackSideUi {
            ticket,
            ..BackSideUi::default()
        };
    }
    if let Some(rx) = us.back.import.as_ref() {
        match rx.try_recv() {
            Ok(Ok(frame)) => {
                us.back.import = None;
                let (image, preview) = back_image(&frame);
                st.set_document_back(image, preview);
            }
            Ok(Err(msg)) => {
                us.back.import = None;
                us.back.error = Some(msg);
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                us.back.import = None;
                us.back.error = Some("import failed".into());
            }
        }
    }
    let s = st.lang.s();
    let (Some(rule), Some(session)) = (st.back_side(), st.session.as_ref()) else {
        return;
    };
    if session.document.is_none() {
        return;
    }
    let open = session.back_step;
    let kept = session.document_back_preview.clone();
    let kept_name = session
        .document_back
        .as_ref()
        .map_or_else(String::new, |c| c.name.clone());
    ui.separator();
    ui.label(RichText::new(s.back_title).strong());
    ui.label(match rule {
        BackSide::Required => s.back_guide_required,
        BackSide::Optional => s.back_guide_optional,
    });
    if !open {
        if ui.button(s.add_back).clicked() {
            st.add_back_side();
        }
        return;
    }
    ui.horizontal(|ui| {
        if has_source
            && ui
                .add_enabled(us.frame.is_some(), egui::Button::new(s.capture_back))
                .clicked()
            && let Some(f) = us.frame.as_ref()
        {
            let (image, preview) = back_image(f);
            st.set_document_back(image, preview);
        }
        if let Some(img) = kept.as_ref() {
            // Keyed by name and size too, so that a retaken back shows its own image.
            let key = format!(
                "session-{ticket}-back-{kept_name}-{}",
                img.size[0] * 100_000 + img.size[1]
            );
            let tex = us.texture(ui.ctx(), &key, img);
            show_image(ui, &tex, Vec2::new(240.0, 160.0));
            if ui.button(s.retake_back).clicked() {
                st.clear_document_back();
            }
        }
        if rule == BackSide::Optional && ui.button(s.skip_back).clicked() {
            st.skip_back_side();
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label(s.back_file);
        ui.add(egui::TextEdit::singleline(&mut us.back.path).desired_width(420.0))
            .labelled_by(l.id);
        let busy = us.back.import.is_some();
        if ui
            .add_enabled(
                !busy && !us.back.path.trim().is_empty(),
                egui::Button::new(s.import_back),
            )
            .clicked()
        {
            let (tx, rx) = channel();
            let path = us.back.path.trim().to_string();
            let limits = us.limits;
            std::thread::spawn(move || {
                tx.send(capture::load_frame(
                    std::path::Path::new(&path),
                    &limits,
                    0,
                    0.0,
                ))
                .warn_on_err("handing the imported back side to the window");
            });
            us.back.error = None;
            us.back.import = Some(rx);
        }
        if busy {
            ui.spinner();
        }
    });
    if let Some(e) = &us.back.error {
        error_text(ui, e);
    }
    if rule == BackSide::Required && kept.is_none() {
        error_text(ui, s.back_required);
    }
}

/// Larger text and controls for a touch screen.
pub fn setup_style(ctx: &egui::Context) {
    ctx.global_style_mut(|style| {
        use egui::{FontId, TextStyle};
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(30.0)),
            (TextStyle::Body, FontId::proportional(19.0)),
            (TextStyle::Button, FontId::proportional(21.0)),
            (TextStyle::Monospace, FontId::monospace(17.0)),
            (TextStyle::Small, FontId::proportional(15.0)),
        ]
        .into();
        style.spacing.button_padding = Vec2::new(18.0, 10.0);
        style.spacing.item_spacing = Vec2::new(12.0, 10.0);
        style.spacing.interact_size.y = 40.0;
    });
}

fn decision_color(d: Decision) -> Color32 {
    match d {
        Decision::Approve => Color32::from_rgb(40, 160, 70),
        Decision::Refer => Color32::from_rgb(220, 150, 20),
        Decision::Reject => Color32::from_rgb(210, 50, 50),
        Decision::Abandoned => Color32::from_rgb(120, 120, 120),
    }
}

fn decision_word(s: &Strings, d: Decision) -> &'static str {
    match d {
        Decision::Approve => s.approve,
        Decision::Refer => s.refer,
        Decision::Reject => s.reject,
        Decision::Abandoned => s.abandoned,
    }
}

fn audit_decision_word(s: &Strings, d: audit::Decision) -> &'static str {
    match d {
        audit::Decision::Approve => s.approve,
        audit::Decision::Refer => s.refer,
        audit::Decision::Reject => s.reject,
        audit::Decision::Abandoned => s.abandoned,
    }
}

/// The record ids in a stored result's `previousAttempts` (repeated attempts for one claim).
#[must_use]
pub fn previous_attempts(result: &serde_json::Value) -> Vec<i64> {
    result["previousAttempts"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default()
}

fn big_button(ui: &mut egui::Ui, text: &str, enabled: bool) -> bool {
    ui.add_enabled(
        enabled,
        egui::Button::new(RichText::new(text).size(22.0)).min_size(Vec2::new(180.0, 52.0)),
    )
    .clicked()
}

fn error_text(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(Color32::from_rgb(230, 70, 70)));
}

fn labelled_edit(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    password: bool,
) -> egui::Response {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(360.0),
    )
    .labelled_by(l.id)
}

fn show_image(ui: &mut egui::Ui, tex: &TextureHandle, max: Vec2) -> egui::Rect {
    let size = tex.size_vec2();
    let scale = (max.x / size.x).min(max.y / size.y).min(1.0);
    ui.image((tex.id(), size * scale)).rect
}

/// Draw the whole window for one frame; returns the jobs to send to the worker.
pub fn draw(
    ui: &mut egui::Ui,
    st: &mut AppState,
    us: &mut UiState,
    has_source: bool,
    kiosk: bool,
    now_ms: f64,
) -> Vec<Job> {
    let _ = now_ms;
    let mut jobs = Vec::new();
    poll_import(st, us);
    egui::Panel::top("top").show(ui, |ui| top_bar(ui, st, us, kiosk, &mut jobs));
    egui::Panel::bottom("status").show(ui, |ui| status_bar(ui, st));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| match st.screen {
            Screen::Login => login(ui, st, &mut jobs),
            Screen::Start => start(ui, st),
            Screen::Document => capture_screen(ui, st, us, has_source, Target::Document, &mut jobs),
            Screen::Selfie => capture_screen(ui, st, us, has_source, Target::Selfie, &mut jobs),
            Screen::Processing => processing(ui, st),
            Screen::Result => result_screen(ui, st, us, &mut jobs),
            Screen::Review => review(ui, st, us, &mut jobs),
            Screen::Settings => jobs.extend(super::admin_view::draw(ui, st)),
        });
    });
    if st.session.is_none() {
        us.textures.retain(|k, _| !k.starts_with("session-"));
    }
    jobs
}

fn poll_import(st: &mut AppState, us: &mut UiState) {
    let Some((target, rx)) = us.import.as_ref() else {
        return;
    };
    let target = *target;
    match rx.try_recv() {
        Ok(Ok(frame)) => {
            us.import = None;
            if target == Target::Document {
                us.meter.auto_captured = false;
            }
            keep(st, target, &frame);
        }
        Ok(Err(msg)) => {
            us.import = None;
            us.import_error = Some(msg);
        }
        Err(std::sync::mpsc::TryRecvError::Empty) => {}
        Err(std::sync::mpsc::TryRecvError::Disconnected) => {
            us.import = None;
            us.import_error = Some("import failed".into());
        }
    }
}

/// Keep a frame or an imported image as the document or the selfie.
pub(crate) fn keep(st: &mut AppState, target: Target, frame: &Frame) {
    let captured = Captured {
        name: frame.name.clone(),
        bytes: frame.encoded.clone(),
        pixels: frame.encoded.is_none().then(|| Arc::clone(&frame.rgb)),
    };
    let preview = (*frame.preview).clone();
    match target {
        Target::Document => st.set_document(captured, preview),
        Target::Selfie => st.set_selfie(captured, preview),
    }
}

fn top_bar(
    ui: &mut egui::Ui,
    st: &mut AppState,
    us: &mut UiState,
    kiosk: bool,
    jobs: &mut Vec<Job>,
) {
    let s = st.lang.s();
    ui.horizontal(|ui| {
        ui.heading(s.app_title);
        ui.separator();
        ui.label(s.language);
        ui.selectable_value(&mut st.lang, Lang::En, "English");
        ui.selectable_value(&mut st.lang, Lang::Fr, "Français");
        if let Some(user) = st.user.clone() {
            ui.separator();
            ui.label(format!("{} ({})", user.username, user.role.as_str()));
            if ui.button(s.log_out).clicked() {
                jobs.extend(st.logout());
            }
            if st.screen != Screen::Settings && ui.button(s.settings).clicked() {
                jobs.extend(super::admin::open(st));
            }
            if user.is_supervisor() {
                if st.screen == Screen::Review {
                    if ui.button(s.verifications).clicked() {
                        st.screen = if st.session.is_some() {
                            Screen::Document
                        } else {
                            Screen::Start
                        };
                    }
                } else if ui.button(s.review_queue).clicked() {
                    jobs.extend(st.open_review());
                }
                if kiosk && ui.button(s.exit).clicked() {
                    us.exit_requested = true;
                }
            }
        }
    });
}

fn status_bar(ui: &mut egui::Ui, st: &AppState) {
    let s = st.lang.s();
    ui.horizontal_wrapped(|ui| {
        match &st.models {
            ModelStatus::Loading => {
                ui.spinner();
                ui.label(s.models_loading);
            }
            ModelStatus::Ready { load_ms } => {
                ui.label(format!("{} ({load_ms:.0} ms)", s.models_ready));
            }
            ModelStatus::Failed(m) => error_text(ui, &format!("{}: {m}", s.models_failed)),
        }
        if let StoreStatus::Ready { db_path, .. } = &st.store {
            ui.separator();
            ui.label(RichText::new(db_path).small());
        }
        if let Some(n) = &st.notice {
            ui.separator();
            ui.label(RichText::new(n).strong());
        }
    });
}

fn login(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    ui.add_space(30.0);
    ui.heading(s.login_title);
    ui.add_space(10.0);
    match &st.store {
        StoreStatus::Opening => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(s.store_opening);
            });
        }
        StoreStatus::Failed(m) => error_text(ui, &format!("{}: {m}", s.store_failed)),
        StoreStatus::Ready {
            has_admin: false, ..
        } => {
            ui.label(RichText::new(s.no_users).monospace());
        }
        StoreStatus::Ready { .. } => {}
    }
    let store_ready = matches!(st.store, StoreStatus::Ready { .. });
    labelled_edit(ui, s.username, &mut st.login.username, false);
    let pw = labelled_edit(ui, s.password, &mut st.login.password, true);
    let enter = pw.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        if (big_button(ui, s.log_in, store_ready && !st.login.busy) || (enter && store_ready))
            && let Some(job) = st.submit_login()
        {
            jobs.push(job);
        }
        if st.login.busy {
            ui.spinner();
        }
    });
    if let Some(e) = &st.login.error {
        error_text(ui, e);
    }
}

fn start(ui: &mut egui::Ui, st: &mut AppState) {
    let s = st.lang.s();
    ui.heading(s.start_title);
    ui.add_space(8.0);
    ui.label(s.customer_type);
    ui.horizontal(|ui| {
        ui.selectable_value(
            &mut st.start.customer_type,
            CustomerType::Individual,
            s.individual,
        );
        ui.selectable_value(
            &mut st.start.customer_type,
            CustomerType::Business,
            s.business,
        );
    });
    labelled_edit(ui, s.country, &mut st.start.country, false);
    ui.label(s.id_type);
    egui::ComboBox::from_id_salt("id_type")
        .selected_text(st.start.id_type.map_or(s.id_type_none, IdType::name))
        .width(360.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut st.start.id_type, None, s.id_type_none);
            for t in IdType::ALL {
                ui.selectable_value(&mut st.start.id_type, Some(t), t.name());
            }
        });
    labelled_edit(ui, s.id_number, &mut st.start.id_number, false);
    for e in &st.start_errors {
        match e {
            FormError::Country => error_text(ui, s.err_country),
            FormError::IdTypeMissing => error_text(ui, s.err_id_type_missing),
            FormError::IdFormat(r) => error_text(ui, &format!("{}: {r}", s.err_id_format)),
        }
    }
    ui.add_space(10.0);
    if big_button(ui, s.start_verification, true) {
        st.begin_verification(kyc_core::record::now_ms());
    }
}

fn capture_screen(
    ui: &mut egui::Ui,
    st: &mut AppState,
    us: &mut UiState,
    has_source: bool,
    target: Target,
    jobs: &mut Vec<Job>,
) {
    let s = st.lang.s();
    let Some(session) = st.session.as_ref() else {
        st.screen = Screen::Start;
        return;
    };
    let ticket = session.ticket;
    let (title, guide) = match target {
        Target::Document => (s.document_title, s.document_guide),
        Target::Selfie => (s.selfie_title, s.selfie_guide),
    };
    let kept = match target {
        Target::Document => session.document_preview.clone(),
        Target::Selfie => session.selfie_preview.clone(),
    };
    let error = session.error.clone();
    ui.heading(title);
    if !has_source {
        egui::Frame::new()
            .fill(Color32::from_rgb(120, 80, 0))
            .inner_margin(10.0)
            .show(ui, |ui| {
                ui.label(RichText::new(s.no_camera).color(Color32::WHITE))
            });
    }
    if let Some(e) = &us.source_error {
        let what = if us.source_retrying {
            s.camera_retrying
        } else {
            s.source_ended
        };
        error_text(ui, &format!("{what}: {e}"));
    }
    ui.label(guide);
    ui.horizontal(|ui| {
        // Live preview with the guide shape.
        if has_source {
            ui.vertical(|ui| match us.frame_tex.as_ref() {
                Some(tex) => {
                    let tex = tex.clone();
                    let shown = show_image(ui, &tex, Vec2::new(560.0, 420.0));
                    let r = ui.min_rect();
                    let rect = egui::Rect::from_center_size(
                        r.center(),
                        match target {
                            Target::Document => Vec2::new(r.width() * 0.8, r.width() * 0.8 / 1.586),
                            Target::Selfie => Vec2::new(r.height() * 0.55, r.height() * 0.75),
                        },
                    );
                    let stroke = egui::Stroke::new(
                        if target == Target::Selfie { 5.0 } else { 3.0 },
                        guide_color(st, us, target),
                    );
                    match target {
                        Target::Document => {
                            ui.painter()
                                .rect_stroke(rect, 12.0, stroke, egui::StrokeKind::Middle);
                        }
                        Target::Selfie => {
                            ui.painter().add(egui::Shape::ellipse_stroke(
                                rect.center(),
                                rect.size() / 2.0,
                                stroke,
                            ));
                        }
                    }
                    match target {
                        Target::Document => {
                            document_outline(ui, us, shown);
                            document_meter(ui, st, us);
                        }
                        Target::Selfie => challenge_panel(ui, st, us),
                    }
                }
                None => {
                    ui.spinner();
                    ui.label(s.waiting_frame);
                }
            });
        }
        ui.vertical(|ui| {
            if let Some(img) = kept.as_ref() {
                let key = format!(
                    "session-{ticket}-{target:?}-{}",
                    img.size[0] * 100_000 + img.size[1]
                );
                let tex = us.texture(ui.ctx(), &key, img);
                ui.label(RichText::new(s.captured).strong());
                show_image(ui, &tex, Vec2::new(420.0, 320.0));
            }
        });
    });
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let path = match target {
            Target::Document => &mut us.document_path,
            Target::Selfie => &mut us.selfie_path,
        };
        let l = ui.label(s.image_file);
        ui.add(egui::TextEdit::singleline(path).desired_width(420.0))
            .labelled_by(l.id);
        let path = path.clone();
        if ui
            .add_enabled(
                !us.importing() && !path.trim().is_empty(),
                egui::Button::new(s.import),
            )
            .clicked()
        {
            let limits = us.limits;
            us.start_import(target, path, limits);
        }
        if us.importing() {
            ui.spinner();
        }
    });
    if let Some(e) = &us.import_error {
        error_text(ui, e);
    }
    if let Some(e) = &error {
        error_text(ui, e);
    }
    back_side_panel(ui, st, us, has_source, target);
    ui.add_space(10.0);
    ui.horizontal(|ui| {
        if ui.button(s.cancel).clicked() {
            jobs.extend(st.clear_session());
            return;
        }
        match target {
            Target::Document => {
                if kept.is_some()
                    && ui.button(s.retake).clicked()
                    && let Some(sess) = st.session.as_mut()
                {
                    sess.document = None;
                    sess.document_preview = None;
                    us.meter.auto_captured = false;
                    us.meter.clear();
                }
                if big_button(ui, s.next, kept.is_some()) {
                    st.go(Screen::Selfie);
                }
            }
            Target::Selfie => {
                if ui.button(s.back).clicked() {
                    st.go(Screen::Document);
                }
                if kept.is_some() && ui.button(s.retake).clicked() {
                    st.clear_selfie();
                }
                if big_button(ui, s.verify, kept.is_some())
                    && let Some(job) = st.process()
                {
                    jobs.push(job);
                }
            }
        }
    });
}

fn guide_color(st: &AppState, us: &UiState, target: Target) -> Color32 {
    let neutral = Color32::from_rgb(80, 200, 255);
    if target == Target::Document {
        return match us.meter.auto.hint {
            Some(Hint::Steadying { .. } | Hint::Capture) => GOOD,
            Some(Hint::NoDocument) | None => neutral,
            Some(_) => WARN,
        };
    }
    match st.session.as_ref().and_then(|s| s.challenge.as_ref()) {
        Some(c) if c.result.as_ref().is_some_and(|r| r.is_live) => Color32::from_rgb(40, 190, 80),
        Some(c) if !c.running() => Color32::from_rgb(220, 60, 60),
        Some(c) if c.current_step().is_some() => Color32::from_rgb(250, 190, 40),
        _ => neutral,
    }
}

const GOOD: Color32 = Color32::from_rgb(40, 190, 80);
const WARN: Color32 = Color32::from_rgb(250, 190, 40);

/// The document's edges as the meter found them, drawn over the live preview.
fn document_outline(ui: &egui::Ui, us: &UiState, shown: egui::Rect) {
    let Some((a, w, h)) = us.meter.latest.as_ref() else {
        return;
    };
    let Some(q) = a.quad.as_ref() else {
        return;
    };
    if *w == 0 || *h == 0 {
        return;
    }
    let (sx, sy) = (shown.width() / *w as f32, shown.height() / *h as f32);
    let points: Vec<egui::Pos2> = q
        .corners
        .iter()
        .map(|c| shown.min + Vec2::new(c[0] * sx, c[1] * sy))
        .collect();
    let color = if a.quality.acceptable { GOOD } else { WARN };
    ui.painter().add(egui::Shape::closed_line(
        points,
        egui::Stroke::new(3.0, color),
    ));
}

fn hint_text(s: &Strings, hint: Hint, manual: bool) -> String {
    match hint {
        Hint::NoDocument => s.hint_no_document.into(),
        Hint::MoveCloser => s.hint_move_closer.into(),
        Hint::TooDark => s.hint_too_dark.into(),
        Hint::TooBright => s.hint_too_bright.into(),
        Hint::Glare => s.hint_glare.into(),
        Hint::Blurry => s.hint_blurry.into(),
        Hint::HoldStill => s.hint_hold_still.into(),
        Hint::Steadying { .. } | Hint::Capture if manual => s.hint_ready.into(),
        Hint::Steadying { done, needed } => format!("{} ({done}/{needed})", s.hint_steadying),
        Hint::Capture => s.auto_captured.into(),
    }
}

/// Under the document preview: the prompt from the live meter, the meters, the automatic-capture
/// switch and the capture button.
fn document_meter(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState) {
    let s = st.lang.s();
    let side = st.meter_side();
    if side.is_none() {
        if us.meter.auto_captured {
            ui.label(RichText::new(s.auto_captured).size(20.0).color(GOOD));
        }
    } else {
        match (&us.meter.ready, us.meter.auto.hint) {
            (Some(Err(e)), _) => error_text(ui, &format!("{}: {e}", s.meter_unavailable)),
            (_, Some(hint)) => {
                let color = match hint {
                    Hint::Steadying { .. } | Hint::Capture => GOOD,
                    Hint::NoDocument => Color32::from_gray(200),
                    _ => WARN,
                };
                let text = hint_text(s, hint, us.meter.manual_only);
                let text = if side == Some(Side::Back) {
                    format!("{}: {text}", s.back_title)
                } else {
                    text
                };
                ui.label(RichText::new(text).size(22.0).color(color));
            }
            (Some(Ok(())), None) => {
                ui.label(RichText::new(s.hint_no_document).size(22.0));
            }
            (None, None) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(s.models_loading);
                });
            }
        }
        if let Some((a, _, _)) = us
            .meter
            .latest
            .as_ref()
            .filter(|_| us.meter.auto.hint != Some(Hint::NoDocument))
        {
            let q = &a.quality;
            let has = |r: &str| q.reasons.iter().any(|x| x == r);
            ui.horizontal_wrapped(|ui| {
                meter_bar(
                    ui,
                    s.meter_sharpness,
                    q.sharpness / 100.0,
                    format!("{:.0}", q.sharpness),
                    !has("blurry"),
                );
                meter_bar(
                    ui,
                    s.meter_brightness,
                    q.brightness / 100.0,
                    format!("{:.0}", q.brightness),
                    !has("too_dark") && !has("too_bright"),
                );
                meter_bar(
                    ui,
                    s.meter_glare,
                    (q.glare_percent / 10.0).min(1.0),
                    format!("{:.1} %", q.glare_percent),
                    !has("glare") && !has("glare_on_text"),
                );
                meter_bar(
                    ui,
                    s.meter_fill,
                    q.fill_percent / 100.0,
                    format!("{:.0} %", q.fill_percent),
                    !has("document_too_small"),
                );
            });
        }
    }
    ui.horizontal(|ui| {
        let mut auto = !us.meter.manual_only;
        if ui.checkbox(&mut auto, s.auto_capture).changed() {
            us.meter.manual_only = !auto;
            us.meter.auto.reset();
        }
        if big_button(ui, s.capture, us.frame.is_some())
            && let Some(f) = us.frame.clone()
        {
            if side == Some(Side::Back) {
                let (image, preview) = back_image(&f);
                st.set_document_back(image, preview);
            } else {
                keep(st, Target::Document, &f);
            }
            us.meter.auto_captured = false;
            us.meter.clear();
        }
    });
}

/// One labelled meter: a bar (0–1) with its value, green when it passes.
fn meter_bar(ui: &mut egui::Ui, label: &str, fraction: f32, value: String, ok: bool) {
    ui.vertical(|ui| {
        ui.label(RichText::new(label).small());
        ui.add(
            egui::ProgressBar::new(fraction.clamp(0.0, 1.0))
                .desired_width(120.0)
                .fill(if ok { GOOD } else { WARN })
                .text(value),
        );
    });
}

fn step_prompt(s: &Strings, step: Step) -> &'static str {
    match step {
        Step::TurnLeft => s.prompt_turn_left,
        Step::TurnRight => s.prompt_turn_right,
        Step::LookUp => s.prompt_look_up,
        Step::ComeCloser => s.prompt_come_closer,
        Step::Smile => s.prompt_smile,
        Step::Blink => s.prompt_blink,
    }
}

/// The liveness challenge under the selfie preview: start button, one prompt per step, progress
/// (step k of n), countdowns, and the outcome.
fn challenge_panel(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState) {
    let s = st.lang.s();
    let models = st.liveness_models.clone();
    let Some(session) = st.session.as_mut() else {
        return;
    };
    let mut start = false;
    match session.challenge.as_ref() {
        Some(c) if c.running() => {
            let n = c.challenge.steps.len();
            let (prompt, k) = match c.state {
                ChallengeState::InProgress { step } => (
                    c.challenge
                        .steps
                        .get(step)
                        .map_or(s.prompt_face, |&x| step_prompt(s, x)),
                    step + 1,
                ),
                _ => (s.prompt_face, 0),
            };
            ui.label(RichText::new(prompt).size(30.0).strong());
            ui.horizontal(|ui| {
                ui.label(format!("{} {} {} {n}", s.step, k.max(1), s.of));
                ui.add(
                    egui::ProgressBar::new(if n == 0 {
                        0.0
                    } else {
                        (k.saturating_sub(1)) as f32 / n as f32
                    })
                    .desired_width(200.0),
                );
            });
            let mut times = Vec::new();
            if let Some(ms) = c.step_remaining_ms() {
                times.push(format!(
                    "{}: {:.0} s",
                    s.step_time_left,
                    (ms / 1000.0).ceil()
                ));
            }
            if let Some(ms) = c.total_remaining_ms() {
                times.push(format!(
                    "{}: {:.0} s",
                    s.total_time_left,
                    (ms / 1000.0).ceil()
                ));
            }
            if !times.is_empty() {
                ui.label(times.join("   "));
            }
            if ui.button(s.stop_challenge).clicked() {
                session.challenge = None;
            }
        }
        Some(c) => {
            if let Some(e) = &c.error {
                error_text(ui, &format!("{}: {e}", s.challenge_failed));
            } else if let Some(r) = &c.result {
                if r.is_live {
                    ui.label(
                        RichText::new(s.challenge_passed)
                            .size(24.0)
                            .strong()
                            .color(Color32::from_rgb(40, 160, 70)),
                    );
                } else {
                    error_text(ui, s.challenge_failed);
                    for reason in &r.reasons {
                        error_text(ui, &format!("• {}", reason.message));
                    }
                }
            }
            let failed = session.failed_challenges;
            if failed > 0 {
                ui.label(format!(
                    "{}: {failed} {} {MAX_CHALLENGE_ATTEMPTS}",
                    s.failed_attempts, s.of
                ));
            }
            if failed >= MAX_CHALLENGE_ATTEMPTS {
                error_text(ui, s.too_many_attempts);
            } else if big_button(ui, s.try_again, matches!(models, ModelStatus::Ready { .. })) {
                start = true;
            }
        }
        None => match &models {
            ModelStatus::Loading => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(s.liveness_loading);
                });
            }
            ModelStatus::Failed(m) => error_text(ui, &format!("{}: {m}", s.liveness_unavailable)),
            ModelStatus::Ready { .. } => {
                start = big_button(ui, s.start_challenge, us.frame.is_some());
            }
        },
    }
    if start {
        us.challenge_requested = true;
    }
}

fn processing(ui: &mut egui::Ui, st: &AppState) {
    let s = st.lang.s();
    ui.add_space(40.0);
    ui.heading(s.processing);
    let stage = st.session.as_ref().and_then(|x| x.stage);
    let (text, frac) = match stage {
        Some(Stage::WaitingForModels) => (s.stage_waiting_models, 0.05),
        Some(Stage::Decoding) | None => (s.stage_decoding, 0.2),
        Some(Stage::Analysing) => (s.stage_analysing, 0.5),
        Some(Stage::Duplicates) => (s.stage_duplicates, 0.9),
    };
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(text);
    });
    ui.add(
        egui::ProgressBar::new(frac)
            .desired_width(500.0)
            .animate(true),
    );
}

/// What was read from the document: each field with its confidence and source, the MRZ and its
/// checks, the flags the agent must look at, and the capture quality.
fn document_extras(
    ui: &mut egui::Ui,
    s: &Strings,
    result: &VerificationResult,
    fields: &mut [FieldForm],
    editable: bool,
) {
    ui.label(RichText::new(s.fields).strong());
    let Some(reading) = result.document.reading.as_ref() else {
        ui.label(RichText::new(s.no_fields).italics());
        return;
    };
    let present = reading.assembled.fields.present();
    if !reading.found || present.is_empty() {
        ui.label(RichText::new(reading.reason.as_deref().unwrap_or(s.no_fields)).italics());
        return;
    }
    egui::Grid::new("doc_fields")
        .striped(true)
        .min_row_height(24.0)
        .show(ui, |ui| {
            for (name, field) in present {
                let name_label = ui.label(name);
                // The value: an edit box starting at the value read, for the agent to correct
                // (its accessible name is the field's name), until the decision is saved.
                let form = fields.iter_mut().find(|f| f.name == name);
                let corrected = form.as_ref().is_some_and(|f| f.corrected());
                match form {
                    Some(f) if editable => {
                        // A grid cell's available width is last frame's column width, which
                        // a plain desired width is clipped to: ask for the size outright.
                        ui.add_sized(
                            [250.0, 24.0],
                            egui::TextEdit::singleline(&mut f.value)
                                .id(ui.make_persistent_id(("correct", name))),
                        )
                        .labelled_by(name_label.id);
                    }
                    Some(f) if corrected => {
                        ui.label(RichText::new(f.value.trim()).strong());
                    }
                    _ => {
                        ui.label(RichText::new(field.value.as_str()).strong());
                    }
                }
                ui.label(format!("{:.0}", field.confidence));
                ui.label(match field.source {
                    kyc_core::document::fields::FieldSource::Mrz => s.mrz,
                    kyc_core::document::fields::FieldSource::Visual => "visual",
                });
                if corrected {
                    ui.label(
                        RichText::new(format!("{} ({})", s.corrected, field.value))
                            .color(decision_color(Decision::Refer)),
                    );
                }
                ui.end_row();
            }
        });
    if let Some(mrz) = &reading.mrz {
        let failed: Vec<&str> = mrz.failed_checks.iter().map(|c| c.as_str()).collect();
        let text = if mrz.valid {
            format!("{} {}: {}", s.mrz, mrz.format.as_str(), s.mrz_valid)
        } else {
            format!(
                "{} {}: {} {}",
                s.mrz,
                mrz.format.as_str(),
                s.mrz_invalid,
                failed.join(", ")
            )
        };
        if mrz.valid {
            ui.label(text);
        } else {
            error_text(ui, &text);
        }
    }
    for flag in &reading.assembled.flags {
        error_text(ui, &format!("• {} ({})", flag.message, flag.code));
    }
    let q = &reading.quality;
    ui.label(
        RichText::new(format!(
            "{}: sharpness {:.0}, brightness {:.0}, glare {:.1} %, fill {:.0} %, {}°",
            s.document_quality,
            q.sharpness,
            q.brightness,
            q.glare_percent,
            q.fill_percent,
            q.rotation_degrees
        ))
        .small(),
    );
    if let Some(b) = &reading.back {
        let q = &b.quality;
        let text = format!(
            "{}: sharpness {:.0}, brightness {:.0}, glare {:.1} %, fill {:.0} %{}",
            s.back_quality,
            q.sharpness,
            q.brightness,
            q.glare_percent,
            q.fill_percent,
            if q.acceptable {
                String::new()
            } else {
                format!(" — {}", q.reasons.join(", "))
            }
        );
        if q.acceptable && b.found {
            ui.label(RichText::new(text).small());
        } else {
            error_text(ui, &text);
        }
    }
}

/// The liveness outcome on the result screen: the challenge's steps, or the passive check alone.
fn liveness_line(ui: &mut egui::Ui, s: &Strings, r: &VerificationResult) {
    let Some(l) = r.liveness.as_ref() else {
        return;
    };
    let verdict = if l.is_live { s.live } else { s.not_live };
    let score = l
        .passive
        .score
        .map_or_else(|| "–".into(), |x| format!("{x:.0}"));
    let how = match (&l.mode, &l.challenge) {
        (kyc_core::result::LivenessMode::Sequence, Some(c)) => format!(
            "{}: {}",
            s.challenge,
            c.steps
                .iter()
                .map(|x| x.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => s.passive_only.to_string(),
    };
    let text = format!("{}: {verdict} ({how}; passive {score})", s.liveness);
    if l.is_live {
        ui.label(RichText::new(text).color(decision_color(Decision::Approve)));
    } else {
        error_text(ui, &text);
    }
}

fn fmt_opt(v: Option<f32>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.0}"))
}

fn result_screen(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let Some(session) = st.session.as_mut() else {
        st.screen = Screen::Start;
        return;
    };
    let Some(view) = session.result.as_ref() else {
        st.screen = Screen::Selfie;
        return;
    };
    let r = &view.result;
    let ticket = session.ticket;
    ui.heading(s.result_title);
    ui.horizontal(|ui| {
        for (caption, img, key) in [
            (s.document_portrait, view.portrait.as_ref(), "portrait"),
            (s.selfie, Some(&view.selfie), "selfie"),
        ] {
            ui.vertical(|ui| {
                ui.label(RichText::new(caption).strong());
                match img {
                    Some(img) => {
                        let tex = us.texture(ui.ctx(), &format!("session-{ticket}-{key}"), img);
                        show_image(ui, &tex, Vec2::new(280.0, 280.0));
                    }
                    None => {
                        ui.label(s.no_image);
                    }
                }
            });
        }
        // Two-sided document: front and back side by side.
        if let Some(back) = view.document_back.as_ref() {
            for (caption, img, key) in [
                (s.document_front, &view.document, "front"),
                (s.document_back, back, "back"),
            ] {
                ui.vertical(|ui| {
                    ui.label(RichText::new(caption).strong());
                    let tex = us.texture(ui.ctx(), &format!("session-{ticket}-{key}"), img);
                    show_image(ui, &tex, Vec2::new(220.0, 160.0));
                });
            }
        }
        ui.vertical(|ui| {
            ui.label(RichText::new(s.suggested).strong());
            ui.label(
                RichText::new(decision_word(s, r.decision))
                    .size(28.0)
                    .strong()
                    .color(decision_color(r.decision)),
            );
            ui.label(format!(
                "{}: {:.1}",
                s.overall_confidence, r.overall_confidence
            ));
            ui.add(
                egui::ProgressBar::new(r.overall_confidence / 100.0)
                    .desired_width(260.0)
                    .show_percentage(),
            );
            let fm = &r.face_match;
            if fm.computed {
                ui.label(format!(
                    "{}: {:.1} ({} {:.1}, {} {}, {} {})",
                    s.face_match,
                    fm.outcome.confidence,
                    s.threshold,
                    fm.outcome.threshold,
                    s.match_level,
                    fm.outcome.match_level,
                    s.minimum,
                    fm.outcome.minimum_match_level
                ));
            } else {
                ui.label(format!(
                    "{}: – ({})",
                    s.face_match,
                    fm.reason.as_deref().unwrap_or("")
                ));
            }
            liveness_line(ui, s, r);
            ui.label(RichText::new(s.quality).strong());
            egui::Grid::new("quality")
                .min_row_height(26.0)
                .show(ui, |ui| {
                    ui.label("");
                    ui.label(s.sharpness);
                    ui.label(s.brightness);
                    ui.end_row();
                    ui.label(s.document_portrait);
                    ui.label(fmt_opt(r.quality.id_face_sharpness));
                    ui.label(fmt_opt(r.quality.id_face_brightness));
                    ui.end_row();
                    ui.label(s.selfie);
                    ui.label(fmt_opt(r.quality.selfie_face_sharpness));
                    ui.label(fmt_opt(r.quality.selfie_face_brightness));
                    ui.end_row();
                });
            ui.label(RichText::new(format!("{:.0} ms", view.pipeline_ms)).small());
        });
    });
    ui.separator();
    let suggested = r.decision;
    let receipt = session.receipt.clone();
    let saving = session.decision.saving;
    let mut chosen = None;
    let mut next_customer = false;
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        ui.label(RichText::new(s.reasons).strong());
        for reason in &r.reasons {
            ui.label(format!("• {} ({})", reason.message, reason.code));
        }
        if view.duplicates.flagged() {
            ui.label(RichText::new(s.duplicates).strong());
            for id in &view.duplicates.same_face_different_id {
                error_text(ui, &format!("• duplicate_face: {} #{id}", s.record));
            }
            for id in &view.duplicates.same_id_different_face {
                error_text(ui, &format!("• id_number_other_face: {} #{id}", s.record));
            }
        }
        document_extras(
            ui,
            s,
            r,
            &mut session.decision.fields,
            receipt.is_none() && !saving,
        );
        let ui = &mut cols[1];
        if let Some(receipt) = &receipt {
            ui.label(
                RichText::new(format!(
                    "{} #{} — {} ({})",
                    s.saved,
                    receipt.id,
                    audit_decision_word(s, receipt.current_decision),
                    receipt.review_status.as_str()
                ))
                .size(22.0)
                .strong(),
            );
            next_customer = big_button(ui, s.next_customer, true);
            return;
        }
        labelled_edit(ui, s.reason, &mut session.decision.reason, false);
        match &session.decision.error {
            Some(DecisionError::ReasonMissing) => error_text(ui, s.err_reason),
            Some(DecisionError::NeedsSupervisor) => error_text(ui, s.approve_needs_supervisor),
            Some(DecisionError::EmptyField(f)) => {
                error_text(ui, &format!("{}: {f}", s.err_empty_field));
            }
            Some(DecisionError::Store(m)) => error_text(ui, m),
            None => {}
        }
        if suggested != Decision::Approve {
            ui.label(RichText::new(s.approve_needs_supervisor).small());
        }
        ui.horizontal_wrapped(|ui| {
            if big_button(ui, s.approve, !saving && suggested == Decision::Approve) {
                chosen = Some(Decision::Approve);
            }
            if big_button(ui, s.reject, !saving) {
                chosen = Some(Decision::Reject);
            }
            if big_button(ui, s.refer, !saving) {
                chosen = Some(Decision::Refer);
            }
            if saving {
                ui.spinner();
                ui.label(s.saving);
            }
        });
    });
    if next_customer {
        jobs.extend(st.clear_session());
        return;
    }
    if let Some(d) = chosen
        && let Some(job) = st.decide(d)
    {
        jobs.push(job);
    }
}

fn review(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    ui.horizontal(|ui| {
        ui.heading(s.review_title);
        if ui.button(s.refresh).clicked() {
            jobs.extend(st.load_queue());
        }
        if st.review.busy {
            ui.spinner();
        }
    });
    queue_filters(ui, st, jobs);
    if let Some(m) = &st.review.message {
        ui.label(RichText::new(m).strong());
    }
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        if st.review.queue.is_empty() {
            ui.label(s.queue_empty);
        }
        egui::Grid::new("queue").striped(true).show(ui, |ui| {
            for rec in &st.review.queue {
                ui.label(format!("#{}", rec.id));
                ui.label(&rec.operator);
                ui.label(audit_decision_word(s, rec.decision));
                ui.label(
                    rec.overall_confidence
                        .map_or_else(|| "–".into(), |c| format!("{c:.1}")),
                );
                if ui.button(format!("{} #{}", s.open, rec.id)).clicked() {
                    st.review.busy = true;
                    jobs.push(Job::LoadRecord { id: rec.id });
                }
                ui.end_row();
            }
        });
        ui.separator();
        stats(ui, st);
        let ui = &mut cols[1];
        record_detail(ui, st, us, jobs);
    });
}

fn small_edit(ui: &mut egui::Ui, label: &str, value: &mut String, width: f32) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(width))
        .labelled_by(l.id);
}

/// Filters over the review queue: pending only or every record, decision, date range, agent,
/// and free text (name or ID number).
fn queue_filters(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let f = &mut st.review.filter;
    let mut apply = false;
    let mut clear = false;
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut f.pending_only, s.pending_only);
        ui.label(s.decision);
        egui::ComboBox::from_id_salt("filter_decision")
            .selected_text(f.decision.map_or(s.any, |d| audit_decision_word(s, d)))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.decision, None, s.any);
                for d in [
                    audit::Decision::Approve,
                    audit::Decision::Refer,
                    audit::Decision::Reject,
                ] {
                    ui.selectable_value(&mut f.decision, Some(d), audit_decision_word(s, d));
                }
            });
        small_edit(ui, s.from_day, &mut f.from, 110.0);
        small_edit(ui, s.to_day, &mut f.to, 110.0);
        small_edit(ui, s.agent, &mut f.agent, 110.0);
        small_edit(ui, s.name_or_id, &mut f.text, 180.0);
        apply = ui.button(s.apply_filters).clicked();
        clear = ui.button(s.clear_filters).clicked();
    });
    if clear {
        st.review.filter = super::state::QueueFilterForm::default();
    }
    if apply || clear {
        jobs.extend(st.load_queue());
    }
    if let Some(e) = &st.review.filter_error {
        error_text(ui, &format!("{}: {e}", s.bad_filter));
    }
}

fn stats(ui: &mut egui::Ui, st: &AppState) {
    let s = st.lang.s();
    let Some(stats) = &st.review.stats else {
        return;
    };
    ui.label(RichText::new(s.statistics).strong());
    ui.label(format!(
        "{}: {}   {}: {}",
        s.total, stats.total, s.pending, stats.pending_review
    ));
    let max = stats
        .per_decision
        .values()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    for (name, n) in &stats.per_decision {
        let d = audit::Decision::parse(name).ok();
        ui.horizontal(|ui| {
            let label = d.map_or(name.as_str(), |d| audit_decision_word(s, d));
            ui.add_sized([200.0, 24.0], egui::Label::new(label));
            let (rect, _) = ui.allocate_exact_size(Vec2::new(260.0, 20.0), egui::Sense::hover());
            let w = rect.width() * (*n as f32 / max as f32);
            let color = match d {
                Some(audit::Decision::Approve) => decision_color(Decision::Approve),
                Some(audit::Decision::Reject) => decision_color(Decision::Reject),
                _ => decision_color(Decision::Refer),
            };
            ui.painter().rect_filled(
                egui::Rect::from_min_size(rect.min, Vec2::new(w, rect.height())),
                3.0,
                color,
            );
            ui.label(n.to_string());
        });
    }
    if let Some(p) = &stats.processing {
        ui.label(format!(
            "{}: {:.1} s / {:.1} s",
            s.processing_time,
            p.median_ms as f64 / 1000.0,
            p.p95_ms as f64 / 1000.0
        ));
    }
    time_histogram(ui, &stats.processing_histogram);
}

/// The processing-time histogram as vertical bars, each labelled with its upper bound.
fn time_histogram(ui: &mut egui::Ui, bars: &[audit::TimeBucket]) {
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0);
    if max == 0 {
        return;
    }
    let (w, h) = (44.0, 90.0);
    ui.horizontal(|ui| {
        for b in bars {
            ui.vertical(|ui| {
                ui.label(RichText::new(b.count.to_string()).small());
                let (rect, _) = ui.allocate_exact_size(Vec2::new(w, h), egui::Sense::hover());
                let bar = h * b.count as f32 / max as f32;
                ui.painter().rect_filled(
                    egui::Rect::from_min_max(
                        egui::pos2(rect.min.x + 6.0, rect.max.y - bar),
                        egui::pos2(rect.max.x - 6.0, rect.max.y),
                    ),
                    2.0,
                    Color32::from_rgb(80, 160, 230),
                );
                let label = b.up_to_ms.map_or_else(
                    || {
                        let last = audit::TIME_BUCKETS_MS.last().copied().unwrap_or(0);
                        format!(">{}s", last / 1000)
                    },
                    |ms| format!("≤{}s", ms / 1000),
                );
                ui.label(RichText::new(label).small());
            });
        }
    });
}

fn record_detail(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let Some(view) = st.review.selected.as_ref() else {
        return;
    };
    let sum = &view.detail.summary;
    let id = sum.id;
    ui.label(
        RichText::new(format!("{} #{id}", s.record))
            .size(24.0)
            .strong(),
    );
    ui.horizontal(|ui| {
        for (caption, img, key) in [
            (s.document_portrait, view.portrait.as_ref(), "portrait"),
            (s.selfie, view.selfie.as_ref(), "selfie"),
            (s.document_back, view.document_back.as_ref(), "back"),
        ] {
            if key == "back" && img.is_none() {
                continue;
            }
            ui.vertical(|ui| {
                ui.label(caption);
                match img {
                    Some(img) => {
                        let tex = us.texture(ui.ctx(), &format!("record-{id}-{key}"), img);
                        show_image(ui, &tex, Vec2::new(170.0, 170.0));
                    }
                    None => {
                        ui.label(s.no_image);
                    }
                }
            });
        }
        ui.vertical(|ui| {
            ui.label(format!("{}: {}", s.operator, sum.operator));
            ui.label(format!(
                "{}: {}",
                s.id_number,
                sum.claimed_id_number.as_deref().unwrap_or("–")
            ));
            ui.label(format!(
                "{}: {}",
                s.country,
                sum.country.as_deref().unwrap_or("–")
            ));
            ui.label(format!(
                "{}: {}",
                s.overall_confidence,
                sum.overall_confidence
                    .map_or_else(|| "–".into(), |c| format!("{c:.1}"))
            ));
        });
    });
    ui.label(RichText::new(s.reasons).strong());
    for r in sum.decision_reason.split("; ") {
        ui.label(format!("• {r}"));
    }
    let earlier = previous_attempts(&view.detail.result);
    if !earlier.is_empty() {
        let ids: Vec<String> = earlier.iter().map(|id| format!("#{id}")).collect();
        ui.label(format!("{}: {}", s.previous_attempts, ids.join(", ")));
    }
    if !view.detail.supervisor_actions.is_empty() {
        ui.label(RichText::new(s.actions).strong());
        for a in &view.detail.supervisor_actions {
            ui.label(format!(
                "• {} {} {:?}: {}",
                a.supervisor, a.action, a.decision, a.note
            ));
        }
    }
    ui.separator();
    ui.label(RichText::new(s.override_title).strong());
    let busy = st.review.busy;
    labelled_edit(ui, s.note, &mut st.review.note, false);
    if st.review.note_missing {
        error_text(ui, s.err_note);
    }
    let mut chosen = None;
    ui.horizontal(|ui| {
        if big_button(ui, s.approve, !busy) {
            chosen = Some(audit::Decision::Approve);
        }
        if big_button(ui, s.reject, !busy) {
            chosen = Some(audit::Decision::Reject);
        }
    });
    if let Some(d) = chosen
        && let Some(job) = st.override_case(d)
    {
        jobs.push(job);
    }
}

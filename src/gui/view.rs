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
use super::settings_file::Theme;
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
    /// The in-window file picker, while open.
    pub picker: Option<super::picker::FilePicker>,
    /// The folder the picker last imported from.
    pub last_dir: Option<std::path::PathBuf>,
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

    /// The live frame's texture, once a frame arrived.
    #[must_use]
    pub fn frame_texture(&self) -> Option<&TextureHandle> {
        self.frame_tex.as_ref()
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

impl UiState {
    /// Decode `path` on a short-lived thread as the document's back side.
    pub fn start_back_import(&mut self, path: String) {
        let (tx, rx) = channel();
        let limits = self.limits;
        std::thread::spawn(move || {
            tx.send(capture::load_frame(
                std::path::Path::new(&path),
                &limits,
                0,
                0.0,
            ))
            .warn_on_err("handing the imported back side to the window");
        });
        self.back.error = None;
        self.back.import = Some(rx);
    }

    /// Open the file picker for `pick_for`, in the folder last used.
    pub fn open_picker(&mut self, pick_for: super::picker::PickFor) {
        self.picker = Some(super::picker::FilePicker::open(
            pick_for,
            super::picker::start_dir(self.last_dir.as_deref()),
        ));
    }

    /// A drop that was not imported: say why beside the field it was meant for.
    fn drop_refused(&mut self, target: super::picker::PickFor, why: &str) {
        match target {
            super::picker::PickFor::Back => self.back.error = Some(why.to_string()),
            _ => self.import_error = Some(why.to_string()),
        }
    }

    /// Import `path` as `pick_for` (from the picker or a file dropped on the window).
    pub fn import_file(&mut self, pick_for: super::picker::PickFor, path: &std::path::Path) {
        use super::picker::PickFor;
        let text = path.display().to_string();
        let limits = self.limits;
        match pick_for {
            PickFor::Document => {
                self.document_path.clone_from(&text);
                self.start_import(Target::Document, text, limits);
            }
            PickFor::Selfie => {
                self.selfie_path.clone_from(&text);
                self.start_import(Target::Selfie, text, limits);
            }
            PickFor::Back => {
                self.back.path.clone_from(&text);
                self.start_back_import(text);
            }
        }
    }
}

/// What a file dropped on the window becomes on the screen showing: the document's front
/// until it is kept, then the back while its step is open and empty; the selfie once the
/// customer consented; nothing elsewhere.
#[must_use]
pub fn drop_target(st: &AppState) -> Option<super::picker::PickFor> {
    use super::picker::PickFor;
    let s = st.session.as_ref()?;
    match st.screen {
        Screen::Document if s.document.is_none() => Some(PickFor::Document),
        Screen::Document if s.back_step && s.document_back.is_none() => Some(PickFor::Back),
        Screen::Document => Some(PickFor::Document),
        Screen::Selfie if s.consent == Some(true) => Some(PickFor::Selfie),
        _ => None,
    }
}

/// Files dropped on the window and the file picker: import what was chosen.
fn imports(ctx: &egui::Context, st: &AppState, us: &mut UiState) {
    let dropped: Vec<std::path::PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .collect()
    });
    if !dropped.is_empty()
        && let Some(target) = drop_target(st)
    {
        let s = st.lang.s();
        match dropped.as_slice() {
            _ if us.importing() || us.back.import.is_some() => {
                us.drop_refused(target, s.drop_busy);
            }
            [path] => us.import_file(target, path),
            _ => us.drop_refused(target, s.drop_one_file),
        }
    }
    let Some(picker) = us.picker.as_mut() else {
        return;
    };
    let valid = match picker.pick_for {
        super::picker::PickFor::Selfie => st.screen == Screen::Selfie,
        _ => st.screen == Screen::Document,
    };
    if !valid {
        us.picker = None;
        return;
    }
    match super::picker::show(ctx, picker, st.lang.s()) {
        super::picker::PickerAnswer::Open => {}
        super::picker::PickerAnswer::Closed => us.picker = None,
        super::picker::PickerAnswer::Chosen(path) => {
            let pick_for = picker.pick_for;
            us.last_dir = path.parent().map(std::path::Path::to_path_buf);
            us.picker = None;
            us.import_file(pick_for, &path);
        }
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
    ui.horizontal_wrapped(|ui| {
        let l = ui.label(s.back_file);
        ui.add(egui::TextEdit::singleline(&mut us.back.path).desired_width(240.0))
            .labelled_by(l.id);
        let busy = us.back.import.is_some();
        if ui
            .add_enabled(
                !busy && !us.back.path.trim().is_empty(),
                egui::Button::new(s.import_back),
            )
            .clicked()
        {
            let path = us.back.path.trim().to_string();
            us.start_back_import(path);
        }
        if ui.button(s.browse).clicked() {
            us.open_picker(super::picker::PickFor::Back);
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

/// Larger text and controls for a touch screen (both themes).
pub fn setup_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
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

/// The text and background colours of a theme: body text on the panel background has a
/// contrast ratio of at least 12:1 in both (WCAG asks 4.5:1 for body text).
#[must_use]
pub fn theme_colors(theme: Theme) -> (Color32, Color32) {
    match theme {
        Theme::Light => (
            Color32::from_rgb(20, 20, 20),
            Color32::from_rgb(246, 246, 246),
        ),
        Theme::Dark => (
            Color32::from_rgb(235, 235, 235),
            Color32::from_rgb(24, 24, 24),
        ),
    }
}

/// WCAG contrast ratio of two colours (1–21).
#[must_use]
pub fn contrast_ratio(a: Color32, b: Color32) -> f32 {
    let lum = |c: Color32| {
        let ch = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c.r()) + 0.7152 * ch(c.g()) + 0.0722 * ch(c.b())
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// Switch the window to `theme`: egui's light or dark visuals with the high-contrast text and
/// panel colours of [`theme_colors`], and the touch-screen sizes of [`setup_style`].
pub fn apply_theme(ctx: &egui::Context, theme: Theme) {
    setup_style(ctx);
    let (text, panel) = theme_colors(theme);
    let mut v = match theme {
        Theme::Light => egui::Visuals::light(),
        Theme::Dark => egui::Visuals::dark(),
    };
    v.override_text_color = Some(text);
    v.panel_fill = panel;
    v.window_fill = panel;
    let which = match theme {
        Theme::Light => egui::Theme::Light,
        Theme::Dark => egui::Theme::Dark,
    };
    ctx.set_visuals_of(which, v);
    ctx.set_theme(which);
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

pub(crate) fn audit_decision_word(s: &Strings, d: audit::Decision) -> &'static str {
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

pub(crate) fn big_button(ui: &mut egui::Ui, text: &str, enabled: bool) -> bool {
    ui.add_enabled(
        enabled,
        egui::Button::new(RichText::new(text).size(22.0)).min_size(Vec2::new(180.0, 52.0)),
    )
    .clicked()
}

pub(crate) fn error_text(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(Color32::from_rgb(230, 70, 70)));
}

pub(crate) fn labelled_edit(
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

pub(crate) fn show_image(ui: &mut egui::Ui, tex: &TextureHandle, max: Vec2) -> egui::Rect {
    let size = tex.size_vec2();
    let scale = (max.x / size.x).min(max.y / size.y).min(1.0);
    ui.image((tex.id(), size * scale)).rect
}

/// A row of numbered steps, the current one highlighted and those done ticked: where the
/// customer (or the set-up) is in the flow.
pub fn step_indicator(ui: &mut egui::Ui, steps: &[&str], current: usize) {
    let visuals = ui.visuals().clone();
    ui.horizontal(|ui| {
        for (i, name) in steps.iter().enumerate() {
            if i > 0 {
                // An arrow drawn as shapes (no font needs the glyph).
                let (rect, _) = ui.allocate_exact_size(Vec2::new(28.0, 28.0), egui::Sense::hover());
                let color = visuals.weak_text_color();
                let y = rect.center().y;
                let (x0, x1) = (rect.left() + 4.0, rect.right() - 4.0);
                ui.painter()
                    .line_segment([egui::pos2(x0, y), egui::pos2(x1 - 6.0, y)], (2.5, color));
                ui.painter().add(egui::Shape::convex_polygon(
                    vec![
                        egui::pos2(x1, y),
                        egui::pos2(x1 - 9.0, y - 6.0),
                        egui::pos2(x1 - 9.0, y + 6.0),
                    ],
                    color,
                    egui::Stroke::NONE,
                ));
            }
            let done = Color32::from_rgb(40, 140, 70);
            let (fill, color) = match i.cmp(&current) {
                std::cmp::Ordering::Less => (done, Color32::WHITE),
                std::cmp::Ordering::Equal => {
                    (visuals.selection.bg_fill, visuals.selection.stroke.color)
                }
                std::cmp::Ordering::Greater => (visuals.extreme_bg_color, visuals.text_color()),
            };
            egui::Frame::new()
                .fill(fill)
                .corner_radius(16.0)
                .inner_margin(Vec2::new(14.0, 6.0))
                .show(ui, |ui| {
                    let mut t = RichText::new(format!("{}. {name}", i + 1))
                        .size(20.0)
                        .color(color);
                    if i == current {
                        t = t.strong();
                    }
                    ui.label(t);
                });
        }
    });
}

/// The customer flow's step indicator (claim → document → selfie → result) for `screen`.
fn flow_steps(ui: &mut egui::Ui, s: &Strings, screen: Screen) {
    let at = match screen {
        Screen::Start => 0,
        Screen::Document => 1,
        Screen::Selfie | Screen::Processing => 2,
        Screen::Result => 3,
        _ => return,
    };
    step_indicator(
        ui,
        &[s.flow_claim, s.flow_document, s.flow_selfie, s.flow_result],
        at,
    );
    ui.add_space(4.0);
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
    if matches!(
        st.screen,
        Screen::Document | Screen::Selfie | Screen::Result | Screen::Review
    ) {
        egui::Panel::bottom("actions")
            .frame(
                egui::Frame::side_top_panel(&ui.ctx().global_style())
                    .inner_margin(egui::Margin::symmetric(12, 10)),
            )
            .show(ui, |ui| match st.screen {
                Screen::Document | Screen::Selfie => capture_actions(ui, st, us, &mut jobs),
                Screen::Result => result_actions(ui, st, &mut jobs),
                Screen::Review => review_actions(ui, st, &mut jobs),
                _ => {}
            });
    }
    egui::CentralPanel::default().show(ui, |ui| {
        flow_steps(ui, st.lang.s(), st.screen);
        // The working screens fit the window (only their lists scroll); the forms scroll.
        match st.screen {
            Screen::Document => {
                capture_screen(ui, st, us, has_source, Target::Document, &mut jobs);
                return;
            }
            Screen::Selfie => {
                capture_screen(ui, st, us, has_source, Target::Selfie, &mut jobs);
                return;
            }
            Screen::Result => {
                result_screen(ui, st, us);
                return;
            }
            Screen::Review => {
                review(ui, st, &mut jobs);
                return;
            }
            _ => {}
        }
        egui::ScrollArea::vertical().show(ui, |ui| match st.screen {
            Screen::Setup => jobs.extend(super::setup::draw(ui, st, us, has_source)),
            Screen::Login => login(ui, st, &mut jobs),
            Screen::Start => start(ui, st),
            Screen::Document => capture_screen(ui, st, us, has_source, Target::Document, &mut jobs),
            Screen::Selfie => capture_screen(ui, st, us, has_source, Target::Selfie, &mut jobs),
            Screen::Processing => processing(ui, st),
            Screen::Result => result_screen(ui, st, us),
            Screen::Review => review(ui, st, &mut jobs),
            Screen::Settings => jobs.extend(super::admin_view::draw(ui, st)),
        });
    });
    imports(ui.ctx(), st, us);
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
        if let Some(f) = &st.fleet.status {
            ui.separator();
            ui.label(RichText::new(f.line(st.lang)).small());
        }
        if let Some(why) = &st.fleet.policy_error {
            ui.separator();
            error_text(ui, why);
        }
    });
}

fn login(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    ui.add_space(30.0);
    ui.heading(s.login_title);
    ui.add_space(10.0);
    // A configuration waiting for an administrator's confirmation: nobody can sign in until
    // then, so the confirmation takes the place of the sign-in form.
    if super::config_confirm::waiting_panel(ui, st, jobs) {
        return;
    }
    match &st.store {
        StoreStatus::Opening => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(s.store_opening);
            });
        }
        StoreStatus::Failed(m) => error_text(ui, &format!("{}: {m}", s.store_failed)),
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
    let lang = st.lang;
    let l = ui.label(s.country);
    let chosen = super::countries::by_code(&st.start.country);
    egui::ComboBox::from_id_salt("country")
        .selected_text(RichText::new(chosen.map_or(s.country_choose, |c| c.name(lang))).size(22.0))
        .width(360.0)
        .height(560.0)
        .show_ui(ui, |ui| {
            for c in super::countries::COUNTRIES {
                let picked = chosen.is_some_and(|x| x.code == c.code);
                if ui
                    .add(
                        egui::Button::selectable(picked, RichText::new(c.name(lang)).size(22.0))
                            .min_size(Vec2::new(340.0, 48.0)),
                    )
                    .clicked()
                {
                    st.start.country = c.code.to_string();
                    // Keep the ID type only if the new country supports it.
                    if let Some(t) = st.start.id_type
                        && !super::countries::id_types(c.code).contains(&t)
                    {
                        st.start.id_type = None;
                    }
                }
            }
        })
        .response
        .labelled_by(l.id);
    let l = ui.label(s.id_type);
    let types = super::countries::id_types(&st.start.country);
    egui::ComboBox::from_id_salt("id_type")
        .selected_text(
            RichText::new(
                st.start
                    .id_type
                    .map_or(s.id_type_none, |t| super::countries::id_type_label(t, lang)),
            )
            .size(22.0),
        )
        .width(360.0)
        .height(560.0)
        .show_ui(ui, |ui| {
            let mut choice = |ui: &mut egui::Ui, value: Option<IdType>, text: &str| {
                if ui
                    .add(
                        egui::Button::selectable(
                            st.start.id_type == value,
                            RichText::new(text).size(22.0),
                        )
                        .min_size(Vec2::new(340.0, 48.0)),
                    )
                    .clicked()
                {
                    st.start.id_type = value;
                }
            };
            choice(ui, None, s.id_type_none);
            if chosen.is_some() {
                for t in &types {
                    choice(ui, Some(*t), super::countries::id_type_label(*t, lang));
                }
            }
        })
        .response
        .labelled_by(l.id);
    labelled_edit(ui, s.id_number, &mut st.start.id_number, false);
    for e in &st.start_errors {
        match e {
            FormError::Country => error_text(ui, s.err_country),
            FormError::IdTypeMissing => error_text(ui, s.err_id_type_missing),
            FormError::IdTypeCountry => error_text(ui, s.err_id_type_country),
            FormError::IdFormat(r) => error_text(ui, &format!("{}: {r}", s.err_id_format)),
        }
    }
    ui.add_space(10.0);
    if big_button(ui, s.start_verification, true) {
        st.begin_verification(kyc_core::record::now_ms());
    }
    refusal_receipt(ui, st);
}

/// The receipt of the customer who just refused consent: being written, its file, or why not.
fn refusal_receipt(ui: &mut egui::Ui, st: &AppState) {
    let Some(r) = &st.refusal else {
        return;
    };
    let s = st.lang.s();
    ui.add_space(12.0);
    ui.group(|ui| {
        ui.label(RichText::new(s.consent_refused_notice).strong());
        match &r.pdf {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(s.receipt_writing);
                });
            }
            Some(Ok(path)) => {
                ui.label(RichText::new(s.receipt_written).strong());
                ui.label(RichText::new(path.display().to_string()).monospace());
            }
            Some(Err(e)) => error_text(ui, &format!("{}: {e}", s.receipt_failed)),
        }
    });
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
    if target == Target::Selfie && session.consent != Some(true) {
        consent_panel(ui, st, jobs);
        return;
    }
    ui.horizontal(|ui| {
        ui.heading(title);
        ui.label(guide);
    });
    if !has_source {
        egui::Frame::new()
            .fill(Color32::from_rgb(120, 80, 0))
            .inner_margin(8.0)
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
    // Two halves: the live picture on the left (sized to the height left), everything else
    // — the capture kept, the meter or challenge, imports, the back side — on the right.
    let avail = ui.available_size();
    let half = (avail.x - 16.0) / 2.0;
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(
            Vec2::new(half, avail.y),
            egui::Layout::top_down(egui::Align::Min),
            |ui| {
                if has_source {
                    live_view(
                        ui,
                        st,
                        us,
                        target,
                        Vec2::new(half, (avail.y - 40.0).max(200.0)),
                    );
                } else if let Some(img) = kept.as_ref() {
                    let key = format!(
                        "session-{ticket}-{target:?}-{}",
                        img.size[0] * 100_000 + img.size[1]
                    );
                    let tex = us.texture(ui.ctx(), &key, img);
                    ui.label(RichText::new(s.captured).strong());
                    show_image(ui, &tex, Vec2::new(half, (avail.y - 40.0).max(200.0)));
                } else {
                    drop_zone(ui, s, Vec2::new(half, (avail.y * 0.6).max(160.0)));
                }
            },
        );
        ui.allocate_ui_with_layout(
            Vec2::new(half, avail.y),
            egui::Layout::top_down(egui::Align::Min),
            |ui| {
                if has_source && let Some(img) = kept.as_ref() {
                    let key = format!(
                        "session-{ticket}-{target:?}-{}",
                        img.size[0] * 100_000 + img.size[1]
                    );
                    let tex = us.texture(ui.ctx(), &key, img);
                    ui.label(RichText::new(s.captured).strong());
                    show_image(ui, &tex, Vec2::new(half * 0.7, avail.y * 0.3));
                }
                if has_source && us.frame_tex.is_some() {
                    match target {
                        Target::Document => document_meter(ui, st, us),
                        Target::Selfie => challenge_panel(ui, st, us),
                    }
                }
                import_row(ui, s, us, target);
                if let Some(e) = &us.import_error {
                    error_text(ui, e);
                }
                if let Some(e) = &error {
                    error_text(ui, e);
                }
                back_side_panel(ui, st, us, has_source, target);
            },
        );
    });
}

/// The live picture with its guide shape (a card outline or a face oval), fitted in `max`.
fn live_view(ui: &mut egui::Ui, st: &AppState, us: &UiState, target: Target, max: Vec2) {
    let s = st.lang.s();
    let Some(tex) = us.frame_tex.clone() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(s.waiting_frame);
        });
        return;
    };
    let shown = show_image(ui, &tex, max);
    let r = shown;
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
            document_outline(ui, us, shown);
        }
        Target::Selfie => {
            ui.painter().add(egui::Shape::ellipse_stroke(
                rect.center(),
                rect.size() / 2.0,
                stroke,
            ));
        }
    }
}

/// Where a file can be dropped when there is no camera.
fn drop_zone(ui: &mut egui::Ui, s: &Strings, size: Vec2) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    let color = if hovering {
        Color32::from_rgb(30, 140, 230)
    } else {
        ui.visuals().weak_text_color()
    };
    ui.painter().rect_stroke(
        rect.shrink(6.0),
        12.0,
        egui::Stroke::new(if hovering { 4.0 } else { 2.0 }, color),
        egui::StrokeKind::Middle,
    );
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        s.drop_hint,
        egui::FontId::proportional(22.0),
        color,
    );
}

/// Import a file: the picker, the path typed (a fallback), and the drop hint.
fn import_row(ui: &mut egui::Ui, s: &Strings, us: &mut UiState, target: Target) {
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(
                !us.importing(),
                egui::Button::new(RichText::new(s.browse).size(21.0))
                    .min_size(Vec2::new(200.0, 48.0)),
            )
            .clicked()
        {
            us.open_picker(match target {
                Target::Document => super::picker::PickFor::Document,
                Target::Selfie => super::picker::PickFor::Selfie,
            });
        }
        ui.label(RichText::new(s.drop_hint).small());
    });
    ui.horizontal(|ui| {
        let path = match target {
            Target::Document => &mut us.document_path,
            Target::Selfie => &mut us.selfie_path,
        };
        let l = ui.label(s.image_file);
        ui.add(egui::TextEdit::singleline(path).desired_width(260.0))
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
}

/// The document and selfie screens' buttons, in the action bar at the bottom of the window
/// (always in view): cancel, retake, next / back, verify.
fn capture_actions(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let target = match st.screen {
        Screen::Document => Target::Document,
        Screen::Selfie => Target::Selfie,
        _ => return,
    };
    let Some(session) = st.session.as_ref() else {
        return;
    };
    if target == Target::Selfie && session.consent != Some(true) {
        return;
    }
    let kept = match target {
        Target::Document => session.document.is_some(),
        Target::Selfie => session.selfie.is_some(),
    };
    let ready = match target {
        Target::Document => st.document_ready(),
        Target::Selfie => kept,
    };
    ui.horizontal(|ui| {
        if big_button(ui, s.cancel, true) {
            jobs.extend(st.clear_session());
            return;
        }
        match target {
            Target::Document => {
                if kept
                    && big_button(ui, s.retake, true)
                    && let Some(sess) = st.session.as_mut()
                {
                    sess.document = None;
                    sess.document_preview = None;
                    us.meter.auto_captured = false;
                    us.meter.clear();
                }
                if big_button(ui, s.next, ready) {
                    st.go(Screen::Selfie);
                }
            }
            Target::Selfie => {
                if big_button(ui, s.back, true) {
                    st.go(Screen::Document);
                }
                if kept && big_button(ui, s.retake, true) {
                    st.clear_selfie();
                }
                if big_button(ui, s.verify, kept)
                    && let Some(job) = st.process()
                {
                    jobs.push(job);
                }
            }
        }
    });
}

fn consent_panel(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    ui.heading(s.consent_title);
    ui.add_space(8.0);
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .inner_margin(18.0)
        .corner_radius(8.0)
        .show(ui, |ui| {
            ui.set_max_width(980.0);
            ui.label(RichText::new(s.consent_text).size(22.0));
        });
    ui.add_space(14.0);
    ui.horizontal(|ui| {
        let agree = ui.add(
            egui::Button::new(RichText::new(s.consent_agree).size(26.0).strong())
                .fill(Color32::from_rgb(30, 120, 60))
                .min_size(Vec2::new(280.0, 72.0)),
        );
        ui.add_space(30.0);
        let refuse = ui.add(
            egui::Button::new(RichText::new(s.consent_refuse).size(26.0))
                .min_size(Vec2::new(280.0, 72.0)),
        );
        let answer = if agree.clicked() {
            Some(true)
        } else if refuse.clicked() {
            Some(false)
        } else {
            None
        };
        if let Some(given) = answer
            && let Some(job) = st.answer_consent(given, s.consent_text)
        {
            jobs.push(job);
        }
    });
    ui.add_space(10.0);
    if ui.button(s.back).clicked() {
        st.go(Screen::Document);
    }
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

/// A pictogram for a liveness step, drawn with egui shapes in a `size` square: a face outline
/// (an oval) with an arrow for a turn (left or right) or looking up, a smile, closed eyes for a
/// blink, a zoom-in frame for coming closer; `None` (no face yet) is the bare outline.
pub fn pictogram(ui: &mut egui::Ui, step: Option<Step>, size: f32) -> egui::Response {
    use egui::{Pos2, Shape, Stroke, pos2};
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), egui::Sense::hover());
    let color = ui.visuals().strong_text_color();
    let accent = Color32::from_rgb(30, 140, 230);
    let stroke = Stroke::new(size / 24.0, color);
    let bold = Stroke::new(size / 14.0, accent);
    let p = ui.painter_at(rect);
    let c = rect.center();
    let u = size / 2.0;
    let at = |x: f32, y: f32| pos2(c.x + x * u, c.y + y * u);
    let face = |p: &egui::Painter, center: Pos2| {
        p.add(Shape::ellipse_stroke(
            center,
            Vec2::new(0.42 * u, 0.55 * u),
            stroke,
        ));
    };
    let arrow = |p: &egui::Painter, from: Pos2, to: Pos2| {
        p.line_segment([from, to], bold);
        let dir = (to - from).normalized();
        let side = Vec2::new(-dir.y, dir.x);
        let head = 0.22 * u;
        p.add(Shape::convex_polygon(
            vec![
                to + dir * head * 0.4,
                to - dir * head + side * head * 0.7,
                to - dir * head - side * head * 0.7,
            ],
            accent,
            Stroke::NONE,
        ));
    };
    let eyes = |p: &egui::Painter, dx: f32, closed: bool| {
        for x in [-0.16, 0.16] {
            if closed {
                p.line_segment([at(x + dx - 0.07, -0.15), at(x + dx + 0.07, -0.15)], stroke);
            } else {
                p.circle_filled(at(x + dx, -0.15), size / 30.0, color);
            }
        }
    };
    match step {
        None => {
            face(&p, c);
            eyes(&p, 0.0, false);
        }
        Some(Step::TurnLeft) | Some(Step::TurnRight) => {
            let sign = if step == Some(Step::TurnLeft) {
                -1.0
            } else {
                1.0
            };
            face(&p, at(-0.25 * sign, 0.1));
            eyes(&p, -0.35 * sign + 0.1 * sign, false);
            arrow(&p, at(0.05 * sign, -0.75), at(0.85 * sign, -0.75));
        }
        Some(Step::LookUp) => {
            face(&p, at(0.0, 0.25));
            eyes(&p, 0.0, false);
            arrow(&p, at(0.75, 0.6), at(0.75, -0.85));
        }
        Some(Step::Smile) => {
            face(&p, c);
            eyes(&p, 0.0, false);
            let mouth: Vec<Pos2> = (0..=12)
                .map(|i| {
                    let t = std::f32::consts::PI * (0.15 + 0.7 * i as f32 / 12.0);
                    at(0.22 * t.cos(), 0.12 + 0.2 * t.sin())
                })
                .collect();
            p.add(Shape::line(mouth, bold));
        }
        Some(Step::Blink) => {
            face(&p, c);
            eyes(&p, 0.0, true);
        }
        Some(Step::ComeCloser) => {
            face(&p, c);
            eyes(&p, 0.0, false);
            // A zoom-in frame: corner brackets around the face, arrows pointing out.
            let r = 0.85;
            let l = 0.3;
            for (sx, sy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                let corner = at(sx * r, sy * r);
                p.line_segment([corner, at(sx * (r - l), sy * r)], bold);
                p.line_segment([corner, at(sx * r, sy * (r - l))], bold);
            }
        }
    }
    response
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
            let step_now = match c.state {
                ChallengeState::InProgress { step } => c.challenge.steps.get(step).copied(),
                _ => None,
            };
            ui.horizontal(|ui| {
                pictogram(ui, step_now, 96.0);
                ui.label(RichText::new(prompt).size(34.0).strong());
            });
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
                super::evidence::challenge_checks(ui, st.lang, r);
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

fn result_screen(ui: &mut egui::Ui, st: &mut AppState, us: &mut UiState) {
    let s = st.lang.s();
    let lang = st.lang;
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
    let central = receipt
        .as_ref()
        .and_then(|r| st.fleet.findings.get(&r.id).cloned());
    let saving = session.decision.saving;
    egui::ScrollArea::vertical()
        .id_salt("result_body")
        .show(ui, |ui| {
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
                super::evidence::result_liveness(ui, lang, r);
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
                    if let Some(f) = &central {
                        super::fleet_panel::draw(ui, lang, f);
                    }
                    match &session.receipt_pdf {
                        None => {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label(s.receipt_writing);
                            });
                        }
                        Some(Ok(path)) => {
                            ui.label(RichText::new(s.receipt_written).strong());
                            ui.label(RichText::new(path.display().to_string()).monospace());
                        }
                        Some(Err(e)) => error_text(ui, &format!("{}: {e}", s.receipt_failed)),
                    }
                    return;
                }
                labelled_edit(ui, s.reason, &mut session.decision.reason, false);
                match &session.decision.error {
                    Some(DecisionError::ReasonMissing) => error_text(ui, s.err_reason),
                    Some(DecisionError::NeedsSupervisor) => {
                        error_text(ui, s.approve_needs_supervisor)
                    }
                    Some(DecisionError::EmptyField(f)) => {
                        error_text(ui, &format!("{}: {f}", s.err_empty_field));
                    }
                    Some(DecisionError::Store(m)) => error_text(ui, m),
                    None => {}
                }
                if suggested != Decision::Approve {
                    ui.label(RichText::new(s.approve_needs_supervisor).small());
                }
                if saving {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(s.saving);
                    });
                }
            });
        });
}

/// The result screen's buttons, in the action bar: approve, reject, refer; once recorded,
/// next customer.
fn result_actions(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let Some(session) = st.session.as_ref() else {
        return;
    };
    let Some(view) = session.result.as_ref() else {
        return;
    };
    let suggested = view.result.decision;
    let saving = session.decision.saving;
    let recorded = session.receipt.is_some();
    let mut chosen = None;
    let mut next_customer = false;
    ui.horizontal(|ui| {
        if recorded {
            next_customer = big_button(ui, s.next_customer, true);
            return;
        }
        if big_button(ui, s.approve, !saving && suggested == Decision::Approve) {
            chosen = Some(Decision::Approve);
        }
        if big_button(ui, s.reject, !saving) {
            chosen = Some(Decision::Reject);
        }
        if big_button(ui, s.refer, !saving) {
            chosen = Some(Decision::Refer);
        }
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

fn review(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
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
    // An open case takes most of the width (its evidence is long); the queue keeps the rest.
    let share = if st.review.selected.is_some() {
        0.34
    } else {
        0.5
    };
    let left_w = (ui.available_width() * share).max(360.0);
    let height = ui.available_height();
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(
            Vec2::new(left_w, height),
            egui::Layout::top_down(egui::Align::Min),
            |ui| {
                ui.set_width(left_w);
                ui.set_height(height);
                queue_column(ui, st, jobs);
            },
        );
        ui.separator();
        ui.allocate_ui_with_layout(
            Vec2::new(ui.available_width(), height),
            egui::Layout::top_down(egui::Align::Min),
            |ui| record_detail(ui, st),
        );
    });
}

/// The queue's list and statistics (the review screen's left column).
fn queue_column(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    if st.review.queue.is_empty() {
        ui.label(s.queue_empty);
    }
    let list_h = (ui.available_height() * 0.55).max(160.0);
    egui::ScrollArea::vertical()
        .id_salt("queue_list")
        .max_height(list_h)
        .show(ui, |ui| {
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
        });
    ui.separator();
    egui::CollapsingHeader::new(RichText::new(s.statistics).strong())
        .id_salt("review_stats")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("stats_scroll")
                .max_height(ui.available_height().max(120.0))
                .show(ui, |ui| stats(ui, st));
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

fn record_detail(ui: &mut egui::Ui, st: &mut AppState) {
    let s = st.lang.s();
    let lang = st.lang;
    let Some(view) = st.review.selected.as_ref() else {
        return;
    };
    let id = view.detail.summary.id;
    ui.label(
        RichText::new(format!("{} #{id}", s.record))
            .size(24.0)
            .strong(),
    );
    // The note first, so that it stays in view above the evidence list, which scrolls.
    labelled_edit(ui, s.note, &mut st.review.note, false);
    if st.review.note_missing {
        error_text(ui, s.err_note);
    }
    if let Some(f) = st.fleet.findings.get(&id) {
        super::fleet_panel::draw(ui, lang, f);
    }
    ui.separator();
    if let Some(view) = st.review.selected.as_ref() {
        super::evidence::case_evidence(ui, lang, &view.case);
    }
}

/// The supervisor's buttons on an open case, in the action bar: approve, reject.
fn review_actions(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    if st.review.selected.is_none() {
        return;
    }
    let busy = st.review.busy;
    let mut chosen = None;
    ui.horizontal(|ui| {
        if let Some(v) = &st.review.selected {
            ui.label(
                RichText::new(format!("{} #{}", s.record, v.detail.summary.id))
                    .size(22.0)
                    .strong(),
            );
        }
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

//! Drawing the central review mode ([`super::central`]): the "not enrolled" screen with the
//! enrol command, the sign-in form, the fleet queue with its filters and pages, and an open case
//! with its whole evidence, the reason field and the Approve / Reject buttons. Its text is one
//! table per language (English, French): a missing translation is a compile error.

use eframe::egui::{self, Color32, RichText, Vec2};
use kyc_core::fleet::supervisor::Refusal;

use super::central::{CentralState, Phase, STATUSES, Working};
use super::strings::Lang;

/// What the screen asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Sign in with the fields.
    SignIn,
    /// Sign out.
    SignOut,
    /// Load the first page with the filters.
    Search,
    /// Load the page at this offset.
    Page(i64),
    /// Open a case.
    Open(String, i64),
    /// Close the open case.
    Close,
    /// Decide the open case: `approve` or `reject`.
    Decide(&'static str),
}

/// The mode's text in one language.
#[derive(Debug)]
pub struct CentralText {
    /// Window heading.
    pub title: &'static str,
    /// "Workstation".
    pub workstation: &'static str,
    /// Not enrolled heading.
    pub not_enrolled: &'static str,
    /// What to do about it.
    pub enrol_how: &'static str,
    /// The file looked for.
    pub file: &'static str,
    /// Sign-in heading.
    pub sign_in_title: &'static str,
    /// User name field.
    pub username: &'static str,
    /// Password field.
    pub password: &'static str,
    /// Sign-in button.
    pub sign_in: &'static str,
    /// Sign-out button.
    pub sign_out: &'static str,
    /// Signed in as.
    pub signed_in_as: &'static str,
    /// Working states.
    pub signing_in: &'static str,
    /// Loading the queue.
    pub loading_queue: &'static str,
    /// Opening a case.
    pub opening_case: &'static str,
    /// Storing a decision.
    pub deciding: &'static str,
    /// Filter labels.
    pub kiosk: &'static str,
    /// Branch filter.
    pub branch: &'static str,
    /// Status filter.
    pub status: &'static str,
    /// From date.
    pub from: &'static str,
    /// To date.
    pub to: &'static str,
    /// Reason filter.
    pub reason_contains: &'static str,
    /// Search button.
    pub search: &'static str,
    /// Queue empty.
    pub no_cases: &'static str,
    /// Newer page.
    pub newer: &'static str,
    /// Older page.
    pub older: &'static str,
    /// Cases n to m.
    pub cases: &'static str,
    /// Open button.
    pub open: &'static str,
    /// Column heads.
    pub recorded: &'static str,
    /// Agent column.
    pub agent: &'static str,
    /// Decision column.
    pub decision: &'static str,
    /// Reason column.
    pub reason: &'static str,
    /// Confidence column.
    pub confidence: &'static str,
    /// Case heading.
    pub case: &'static str,
    /// Why field.
    pub why: &'static str,
    /// Reason required.
    pub why_required: &'static str,
    /// Approve.
    pub approve: &'static str,
    /// Reject.
    pub reject: &'static str,
    /// Close case.
    pub close: &'static str,
    /// Decided centrally already.
    pub decided_by: &'static str,
    /// Decision stored.
    pub stored: &'static str,
    /// Sent to the kiosk.
    pub goes_back: &'static str,
    /// Refusals in plain words.
    pub r_wrong_password: &'static str,
    /// Disabled account.
    pub r_disabled: &'static str,
    /// Role may not review.
    pub r_not_supervisor: &'static str,
    /// Unreachable.
    pub r_unreachable: &'static str,
    /// Workstation unknown centrally.
    pub r_unknown_ws: &'static str,
    /// Quarantined.
    pub r_quarantined: &'static str,
    /// Not enrolled.
    pub r_not_enrolled: &'static str,
    /// Session ended.
    pub r_session: &'static str,
    /// Own case.
    pub r_own_case: &'static str,
    /// Decided already.
    pub r_decided: &'static str,
    /// Not pending.
    pub r_not_pending: &'static str,
    /// Not found.
    pub r_not_found: &'static str,
    /// Bad reason.
    pub r_bad_reason: &'static str,
    /// Another error.
    pub r_other: &'static str,
}

/// English.
pub static EN: CentralText = CentralText {
    title: "Central review queue",
    workstation: "Workstation",
    not_enrolled: "This workstation is not enrolled with the central service",
    enrol_how: "Ask a central administrator for a one-time token (kyc-central enroll-workstation), \
                then run on this computer:",
    file: "Workstation file",
    sign_in_title: "Supervisor sign-in (central service)",
    username: "Central user name",
    password: "Central password",
    sign_in: "Sign in",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    signing_in: "Signing in…",
    loading_queue: "Loading the queue…",
    opening_case: "Opening the case…",
    deciding: "Storing the decision…",
    kiosk: "Kiosk",
    branch: "Branch",
    status: "Status",
    from: "From (YYYY-MM-DD)",
    to: "To (YYYY-MM-DD)",
    reason_contains: "Reason contains",
    search: "Search",
    no_cases: "No case matches these filters.",
    newer: "« Newer",
    older: "Older »",
    cases: "Cases",
    open: "Open",
    recorded: "Recorded",
    agent: "Agent",
    decision: "Decision",
    reason: "Reason",
    confidence: "Confidence",
    case: "Case",
    why: "Reason for the decision",
    why_required: "A reason is required before deciding.",
    approve: "Approve",
    reject: "Reject",
    close: "Close the case",
    decided_by: "Decided centrally",
    stored: "Decision stored centrally",
    goes_back: "it reaches the kiosk at its next sync",
    r_wrong_password: "Wrong user name or password.",
    r_disabled: "This central account is disabled.",
    r_not_supervisor: "This account is not a supervisor: it may not review cases.",
    r_unreachable: "The central service cannot be reached. Check the network and try again.",
    r_unknown_ws: "The central service does not know this workstation: enrol it again.",
    r_quarantined: "The central service refuses this workstation (quarantined).",
    r_not_enrolled: "This workstation is not enrolled.",
    r_session: "Your session ended: sign in again.",
    r_own_case: "You recorded this case at the kiosk: another supervisor must decide it \
                 (four-eyes rule). Nothing was stored.",
    r_decided: "This case was decided centrally already.",
    r_not_pending: "This case is not waiting for review.",
    r_not_found: "The central service has no such case.",
    r_bad_reason: "A reason is required (at most 500 characters).",
    r_other: "The central service refused",
};

/// French.
pub static FR: CentralText = CentralText {
    title: "File de revue centrale",
    workstation: "Poste",
    not_enrolled: "Ce poste n'est pas enrôlé auprès du service central",
    enrol_how: "Demandez un jeton à usage unique à un administrateur central \
                (kyc-central enroll-workstation), puis lancez sur cet ordinateur :",
    file: "Fichier du poste",
    sign_in_title: "Connexion superviseur (service central)",
    username: "Nom d'utilisateur central",
    password: "Mot de passe central",
    sign_in: "Se connecter",
    sign_out: "Se déconnecter",
    signed_in_as: "Connecté en tant que",
    signing_in: "Connexion…",
    loading_queue: "Chargement de la file…",
    opening_case: "Ouverture du dossier…",
    deciding: "Enregistrement de la décision…",
    kiosk: "Kiosque",
    branch: "Agence",
    status: "Statut",
    from: "Du (AAAA-MM-JJ)",
    to: "Au (AAAA-MM-JJ)",
    reason_contains: "Motif contenant",
    search: "Rechercher",
    no_cases: "Aucun dossier ne correspond à ces filtres.",
    newer: "« Plus récents",
    older: "Plus anciens »",
    cases: "Dossiers",
    open: "Ouvrir",
    recorded: "Enregistré",
    agent: "Agent",
    decision: "Décision",
    reason: "Motif",
    confidence: "Confiance",
    case: "Dossier",
    why: "Motif de la décision",
    why_required: "Un motif est requis avant de décider.",
    approve: "Approuver",
    reject: "Rejeter",
    close: "Fermer le dossier",
    decided_by: "Décidé au central",
    stored: "Décision enregistrée au central",
    goes_back: "elle parvient au kiosque à sa prochaine synchronisation",
    r_wrong_password: "Nom d'utilisateur ou mot de passe incorrect.",
    r_disabled: "Ce compte central est désactivé.",
    r_not_supervisor: "Ce compte n'est pas superviseur : il ne peut pas revoir de dossiers.",
    r_unreachable: "Le service central est injoignable. Vérifiez le réseau et réessayez.",
    r_unknown_ws: "Le service central ne connaît pas ce poste : enrôlez-le à nouveau.",
    r_quarantined: "Le service central refuse ce poste (quarantaine).",
    r_not_enrolled: "Ce poste n'est pas enrôlé.",
    r_session: "Votre session a pris fin : reconnectez-vous.",
    r_own_case: "Vous avez enregistré ce dossier au kiosque : un autre superviseur doit le \
                 décider (règle des quatre yeux). Rien n'a été enregistré.",
    r_decided: "Ce dossier a déjà été décidé au central.",
    r_not_pending: "Ce dossier n'attend pas de revue.",
    r_not_found: "Le service central n'a pas ce dossier.",
    r_bad_reason: "Un motif est requis (500 caractères au plus).",
    r_other: "Le service central a refusé",
};

/// The text table for `lang`.
#[must_use]
pub fn text(lang: Lang) -> &'static CentralText {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// A refusal in plain words.
#[must_use]
pub fn refusal_words(t: &CentralText, r: &Refusal) -> String {
    match r {
        Refusal::WrongPassword => t.r_wrong_password.into(),
        Refusal::Disabled => t.r_disabled.into(),
        Refusal::NotSupervisor => t.r_not_supervisor.into(),
        Refusal::Unreachable(why) => format!("{} ({why})", t.r_unreachable),
        Refusal::UnknownWorkstation => t.r_unknown_ws.into(),
        Refusal::Quarantined(why) => format!("{} {why}", t.r_quarantined),
        Refusal::NotEnrolled => t.r_not_enrolled.into(),
        Refusal::SessionEnded => t.r_session.into(),
        Refusal::OwnCase => t.r_own_case.into(),
        Refusal::Decided => t.r_decided.into(),
        Refusal::NotPending => t.r_not_pending.into(),
        Refusal::NotFound => t.r_not_found.into(),
        Refusal::BadReason => t.r_bad_reason.into(),
        Refusal::Other(m) => format!("{}: {m}", t.r_other),
    }
}

const BAD: Color32 = Color32::from_rgb(220, 60, 60);
const GOOD: Color32 = Color32::from_rgb(40, 150, 70);

fn error_line(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(BAD).strong());
}

fn edit(ui: &mut egui::Ui, label: &str, value: &mut String, width: f32, password: bool) {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(width),
    )
    .labelled_by(l.id);
}

/// Draw the mode; returns what the user asked for.
pub fn draw(ui: &mut egui::Ui, st: &mut CentralState) -> Vec<Ask> {
    let mut asks = Vec::new();
    let t = text(st.lang);
    egui::Panel::top("central_top").show(ui, |ui| top_bar(ui, st, t, &mut asks));
    egui::CentralPanel::default().show(ui, |ui| match st.phase.clone() {
        Phase::NotEnrolled { path, why } => not_enrolled(ui, t, &path, &why),
        Phase::SignIn => sign_in(ui, st, t, &mut asks),
        Phase::Queue => queue_screen(ui, st, t, &mut asks),
    });
    asks
}

fn top_bar(ui: &mut egui::Ui, st: &CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    ui.horizontal(|ui| {
        ui.heading(t.title);
        if let Some((id, url)) = &st.workstation {
            ui.label(format!("{} {id} — {url}", t.workstation));
        }
        if let Some(w) = st.working {
            ui.spinner();
            ui.label(match w {
                Working::SignIn => t.signing_in,
                Working::Queue => t.loading_queue,
                Working::Case => t.opening_case,
                Working::Decide => t.deciding,
            });
        }
        if let Some((user, role)) = &st.user {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(t.sign_out).clicked() {
                    asks.push(Ask::SignOut);
                }
                ui.label(format!("{} {user} ({role})", t.signed_in_as));
            });
        }
    });
}

fn not_enrolled(ui: &mut egui::Ui, t: &CentralText, path: &std::path::Path, why: &str) {
    ui.add_space(24.0);
    ui.heading(RichText::new(t.not_enrolled).strong());
    ui.label(format!("{}: {}", t.file, path.display()));
    if !why.is_empty() {
        error_line(ui, why);
    }
    ui.add_space(12.0);
    ui.label(t.enrol_how);
    ui.code(format!(
        "KYC_FLEET_TOKEN=… kyc-kiosk supervisor --server URL \
         --workstation-file {} enroll --workstation-id WORKSTATION_ID",
        path.display()
    ));
}

fn sign_in(ui: &mut egui::Ui, st: &mut CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    ui.add_space(24.0);
    ui.heading(t.sign_in_title);
    ui.add_space(8.0);
    edit(ui, t.username, &mut st.username, 320.0, false);
    let l = ui.label(t.password);
    let pw = ui
        .add(
            egui::TextEdit::singleline(&mut *st.password)
                .password(true)
                .desired_width(320.0),
        )
        .labelled_by(l.id);
    let enter = pw.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    let ready = st.working.is_none() && !st.username.trim().is_empty() && !st.password.is_empty();
    let clicked = ui
        .add_enabled(ready, egui::Button::new(t.sign_in))
        .clicked();
    if ready && (clicked || enter) {
        asks.push(Ask::SignIn);
    }
    if let Some(e) = &st.error {
        error_line(ui, &refusal_words(t, e));
    }
}

fn filters(ui: &mut egui::Ui, st: &mut CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    let f = &mut st.filters;
    ui.horizontal_wrapped(|ui| {
        edit(ui, t.kiosk, &mut f.kiosk, 90.0, false);
        edit(ui, t.branch, &mut f.branch, 90.0, false);
        ui.label(t.status);
        egui::ComboBox::from_id_salt("central_status")
            .selected_text(f.status.clone())
            .show_ui(ui, |ui| {
                for s in STATUSES {
                    ui.selectable_value(&mut f.status, s.to_string(), s);
                }
            });
        edit(ui, t.from, &mut f.from, 100.0, false);
        edit(ui, t.to, &mut f.to, 100.0, false);
        edit(ui, t.reason_contains, &mut f.reason, 120.0, false);
        if ui
            .add_enabled(st.working.is_none(), egui::Button::new(t.search))
            .clicked()
        {
            asks.push(Ask::Search);
        }
    });
    if let Some(e) = &st.input_error {
        error_line(ui, e);
    }
}

fn queue_screen(ui: &mut egui::Ui, st: &mut CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    filters(ui, st, t, asks);
    if let Some(e) = &st.error {
        error_line(ui, &refusal_words(t, e));
    }
    if let Some(d) = &st.decided {
        ui.label(
            RichText::new(format!(
                "{}: {}:{} — {} ({}) — {}",
                t.stored, d.kiosk_id, d.record_id, d.decision, d.reason, t.goes_back
            ))
            .color(GOOD)
            .strong(),
        );
    }
    let share = if st.case.is_some() { 0.36 } else { 1.0 };
    let left_w = (ui.available_width() * share).max(360.0);
    let height = ui.available_height();
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(
            Vec2::new(left_w, height),
            egui::Layout::top_down(egui::Align::Min),
            |ui| {
                ui.set_width(left_w);
                queue_list(ui, st, t, asks);
            },
        );
        if st.case.is_some() {
            ui.separator();
            ui.allocate_ui_with_layout(
                Vec2::new(ui.available_width(), height),
                egui::Layout::top_down(egui::Align::Min),
                |ui| case_panel(ui, st, t, asks),
            );
        }
    });
}

fn queue_list(ui: &mut egui::Ui, st: &CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    let Some(page) = &st.page else {
        return;
    };
    ui.horizontal(|ui| {
        let first = page.offset + 1;
        let last = page.offset + page.cases.len() as i64;
        ui.label(RichText::new(format!("{} {first}–{last}", t.cases)).strong());
        let idle = st.working.is_none();
        if ui
            .add_enabled(idle && page.offset > 0, egui::Button::new(t.newer))
            .clicked()
        {
            asks.push(Ask::Page(page.offset - super::central::PAGE_SIZE));
        }
        if ui
            .add_enabled(idle && page.more, egui::Button::new(t.older))
            .clicked()
        {
            asks.push(Ask::Page(page.offset + super::central::PAGE_SIZE));
        }
    });
    if page.cases.is_empty() {
        ui.label(t.no_cases);
        return;
    }
    let wide = st.case.is_none();
    egui::ScrollArea::both()
        .id_salt("central_queue")
        .max_height(ui.available_height())
        .show(ui, |ui| {
            egui::Grid::new("central_queue_grid")
                .striped(true)
                .show(ui, |ui| {
                    for h in [t.case, t.branch, t.recorded, t.decision, t.status] {
                        ui.label(RichText::new(h).strong());
                    }
                    if wide {
                        for h in [t.agent, t.confidence, t.reason] {
                            ui.label(RichText::new(h).strong());
                        }
                    }
                    ui.end_row();
                    for c in &page.cases {
                        let name = format!("{}:{}", c.kiosk_id, c.record_id);
                        if ui
                            .add_enabled(
                                st.working.is_none(),
                                egui::Button::new(format!("{} {name}", t.open)),
                            )
                            .clicked()
                        {
                            asks.push(Ask::Open(c.kiosk_id.clone(), c.record_id));
                        }
                        ui.label(c.branch.as_deref().unwrap_or("–"));
                        ui.label(super::central::utc(c.created_ms));
                        ui.label(&c.current_decision);
                        ui.label(&c.review_status);
                        if wide {
                            ui.label(c.operator.as_deref().unwrap_or("–"));
                            ui.label(
                                c.confidence
                                    .map_or_else(|| "–".into(), |x| format!("{x:.1}")),
                            );
                            ui.label(c.reason.as_deref().unwrap_or(""));
                        }
                        ui.end_row();
                    }
                });
        });
}

fn case_panel(ui: &mut egui::Ui, st: &mut CentralState, t: &CentralText, asks: &mut Vec<Ask>) {
    let lang = st.lang;
    let Some(case) = &st.case else {
        return;
    };
    let s = &case.summary;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("{} {}:{}", t.case, s.kiosk_id, s.record_id))
                .size(22.0)
                .strong(),
        );
        ui.label(format!(
            "{} {} — {}",
            t.branch,
            s.branch.as_deref().unwrap_or("–"),
            s.operator.as_deref().unwrap_or("–")
        ));
        if ui.button(t.close).clicked() {
            asks.push(Ask::Close);
        }
    });
    if let Some(d) = &case.central_decision {
        ui.label(
            RichText::new(format!(
                "{}: {} — {} — {} ({})",
                t.decided_by,
                d.decision,
                d.supervisor,
                super::central::utc(d.decided_ms),
                d.reason
            ))
            .strong(),
        );
    } else if s.review_status == "pending" {
        edit(ui, t.why, &mut st.reason, 420.0, false);
        let has_reason = !st.reason.trim().is_empty();
        let idle = st.working.is_none();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(idle && has_reason, egui::Button::new(t.approve))
                .clicked()
            {
                asks.push(Ask::Decide("approve"));
            }
            if ui
                .add_enabled(idle && has_reason, egui::Button::new(t.reject))
                .clicked()
            {
                asks.push(Ask::Decide("reject"));
            }
            if !has_reason {
                ui.label(RichText::new(t.why_required).italics());
            }
        });
    }
    ui.separator();
    if let Some(case) = &st.case {
        super::evidence::case_evidence(ui, lang, &case.view);
    }
}

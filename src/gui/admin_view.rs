//! Drawing of the settings screen: the kiosk settings tab (everyone; thresholds editable by
//! administrators) and the users tab (administrators). State and rules are in `admin.rs`.

use eframe::egui;
use egui::{Color32, RichText, Vec2};

use kyc_core::audit::Role;

use super::admin::{
    self, AdminTab, RESOLUTIONS, SettingsField, SettingsNotice, UserAction, can_edit_thresholds,
    can_manage_users,
};
use super::messages::Job;
use super::settings_file::{Theme, source_arg};
use super::state::AppState;
use super::strings::{Lang, Strings};

fn error_text(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(Color32::from_rgb(230, 70, 70)));
}

fn ok_text(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(Color32::from_rgb(60, 170, 90)));
}

/// The role's name in the UI language.
#[must_use]
pub fn role_word(s: &Strings, r: Role) -> &'static str {
    match r {
        Role::Agent => s.role_agent,
        Role::Supervisor => s.role_supervisor,
        Role::Admin => s.role_admin,
    }
}

fn resolution_text(s: &Strings, r: Option<(u32, u32)>) -> String {
    r.map_or_else(
        || s.resolution_default.to_string(),
        |(w, h)| format!("{w}×{h}"),
    )
}

/// The settings screen; returns the jobs its buttons asked for.
pub fn draw(ui: &mut egui::Ui, st: &mut AppState) -> Vec<Job> {
    let mut jobs = Vec::new();
    let Some(role) = st.user.as_ref().map(|u| u.role) else {
        return jobs;
    };
    let s = st.lang.s();
    st.admin.poll_cameras();
    // Heading, back, and the tabs (administrators) on one row.
    ui.horizontal(|ui| {
        ui.heading(s.settings);
        if ui.button(s.back).clicked() {
            admin::close(st);
        }
        if can_manage_users(role) {
            ui.separator();
            if ui
                .selectable_label(st.admin.tab == AdminTab::Settings, s.tab_settings)
                .clicked()
            {
                st.admin.tab = AdminTab::Settings;
            }
            if ui
                .selectable_label(st.admin.tab == AdminTab::Users, s.tab_users)
                .clicked()
            {
                jobs.extend(admin::open_users(st));
            }
            if ui
                .selectable_label(st.admin.tab == AdminTab::System, s.tab_system)
                .clicked()
            {
                super::system::open(st);
            }
        }
    });
    ui.separator();
    match st.admin.tab {
        AdminTab::Users if can_manage_users(role) => users_tab(ui, st, &mut jobs),
        AdminTab::System if can_manage_users(role) => super::system::draw(ui, st),
        _ => settings_tab(ui, st, role, &mut jobs),
    }
    jobs
}

fn field_errors(ui: &mut egui::Ui, errors: &[(SettingsField, String)], field: SettingsField) {
    for (f, m) in errors {
        if *f == field {
            error_text(ui, m);
        }
    }
}

/// A labelled number field (editable) or its value (read-only), with the key and any error.
fn number_row(
    ui: &mut egui::Ui,
    label: &str,
    key: &str,
    value: &mut String,
    editable: bool,
    errors: &[(SettingsField, String)],
    field: SettingsField,
) {
    let l = ui.label(label);
    if editable {
        ui.add(egui::TextEdit::singleline(value).desired_width(120.0))
            .labelled_by(l.id);
    } else {
        ui.label(RichText::new(value.as_str()).strong());
    }
    ui.label(RichText::new(key).monospace().small().weak());
    ui.vertical(|ui| field_errors(ui, errors, field));
    ui.end_row();
}

fn settings_tab(ui: &mut egui::Ui, st: &mut AppState, role: Role, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let editable = can_edit_thresholds(role);
    let a = &mut st.admin;
    let current_source = a.current.as_ref().and_then(|c| c.source.clone());
    let Some(form) = a.form.as_mut() else {
        return;
    };

    // Frame source: the cameras the system lists, the source given at start, or none.
    match &a.cameras {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(s.cameras_searching);
            });
        }
        Some(list) if list.is_empty() => {
            ui.label(s.no_camera_listed);
        }
        Some(_) => {}
    }
    let other = current_source
        .as_ref()
        .filter(|src| !matches!(src, super::capture::SourceSpec::Camera { .. }));
    let selected_text = if form.no_source {
        s.source_none.to_string()
    } else if let Some(i) = form.camera {
        format!("{} {i}", s.camera)
    } else if let Some(o) = other {
        format!("{}: {}", s.source_other, source_arg(Some(o)))
    } else {
        s.source_none.to_string()
    };
    ui.horizontal_wrapped(|ui| {
        let l = ui.label(s.frame_source);
        egui::ComboBox::from_id_salt("settings_source")
            .selected_text(selected_text)
            .width(360.0)
            .show_ui(ui, |ui| {
                if ui.selectable_label(form.no_source, s.source_none).clicked() {
                    form.no_source = true;
                    form.camera = None;
                }
                if let Some(o) = other
                    && ui
                        .selectable_label(
                            !form.no_source && form.camera.is_none(),
                            format!("{}: {}", s.source_other, source_arg(Some(o))),
                        )
                        .clicked()
                {
                    form.no_source = false;
                    form.camera = None;
                }
                for cam in a.cameras.iter().flatten() {
                    if ui
                        .selectable_label(
                            form.camera == Some(cam.index),
                            format!("{} {}: {}", s.camera, cam.index, cam.name),
                        )
                        .clicked()
                    {
                        form.no_source = false;
                        form.camera = Some(cam.index);
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if form.camera.is_some() && !form.no_source {
            let l = ui.label(s.resolution);
            egui::ComboBox::from_id_salt("settings_resolution")
                .selected_text(resolution_text(s, form.resolution))
                .show_ui(ui, |ui| {
                    for r in RESOLUTIONS {
                        ui.selectable_value(&mut form.resolution, r, resolution_text(s, r));
                    }
                })
                .response
                .labelled_by(l.id);
        }
        ui.separator();
        let l = ui.label(s.language);
        egui::ComboBox::from_id_salt("settings_lang")
            .selected_text(match form.lang {
                Lang::En => "English",
                Lang::Fr => "Français",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut form.lang, Lang::En, "English");
                ui.selectable_value(&mut form.lang, Lang::Fr, "Français");
            })
            .response
            .labelled_by(l.id);
    });
    field_errors(ui, &a.errors, SettingsField::Source);

    ui.add_space(6.0);
    ui.label(RichText::new(s.thresholds).strong());
    if !editable {
        ui.label(RichText::new(s.admin_only).italics());
    }
    let errors = a.errors.clone();
    // The thresholds scroll when the window is short, so Apply / Undo and their notice always
    // stay in view below them.
    egui::ScrollArea::vertical()
        .id_salt("settings_thresholds_scroll")
        .max_height((ui.available_height() - 120.0).max(160.0))
        .show(ui, |ui| {
            egui::Grid::new("settings_thresholds")
                .striped(true)
                .min_row_height(30.0)
                .show(ui, |ui| {
                    number_row(
                        ui,
                        s.approve_at,
                        "decision.approveAt",
                        &mut form.approve_at,
                        editable,
                        &errors,
                        SettingsField::ApproveAt,
                    );
                    number_row(
                        ui,
                        s.reject_match_below,
                        "decision.rejectMatchBelow",
                        &mut form.reject_match_below,
                        editable,
                        &errors,
                        SettingsField::RejectMatchBelow,
                    );
                    let levels = a.config.matching.levels.clone();
                    let level_text = |n: u8| {
                        levels.get(usize::from(n.max(1)) - 1).map_or_else(
                            || n.to_string(),
                            |l| {
                                format!(
                                    "{n} (cosine {:.2}, FMR {:.0e})",
                                    l.cosine, l.false_match_rate
                                )
                            },
                        )
                    };
                    let l = ui.label(s.minimum_level);
                    if editable {
                        egui::ComboBox::from_id_salt("settings_level")
                            .selected_text(level_text(form.minimum_level))
                            .width(240.0)
                            .show_ui(ui, |ui| {
                                for n in 1..=5u8 {
                                    ui.selectable_value(&mut form.minimum_level, n, level_text(n));
                                }
                            })
                            .response
                            .labelled_by(l.id);
                    } else {
                        ui.label(RichText::new(level_text(form.minimum_level)).strong());
                    }
                    ui.label(
                        RichText::new("matching.minimumLevel")
                            .monospace()
                            .small()
                            .weak(),
                    );
                    ui.vertical(|ui| field_errors(ui, &errors, SettingsField::MinimumLevel));
                    ui.end_row();
                    number_row(
                        ui,
                        s.min_sharpness,
                        "decision.minSharpness",
                        &mut form.min_sharpness,
                        editable,
                        &errors,
                        SettingsField::MinSharpness,
                    );
                    number_row(
                        ui,
                        s.brightness_min,
                        "decision.brightnessRange[0]",
                        &mut form.brightness_min,
                        editable,
                        &[],
                        SettingsField::Brightness,
                    );
                    number_row(
                        ui,
                        s.brightness_max,
                        "decision.brightnessRange[1]",
                        &mut form.brightness_max,
                        editable,
                        &errors,
                        SettingsField::Brightness,
                    );
                    number_row(
                        ui,
                        s.idle_timeout,
                        "--idle-timeout",
                        &mut form.idle_timeout,
                        editable,
                        &errors,
                        SettingsField::IdleTimeout,
                    );
                    let w = a.config.weights;
                    ui.label(s.weights);
                    ui.label(format!(
                        "{:.2} / {:.2} / {:.2}",
                        w.document, w.selfie_detection, w.face_match
                    ));
                    ui.label(RichText::new("weights").monospace().small().weak());
                    ui.label("");
                    ui.end_row();
                    let l = ui.label(s.theme);
                    if editable {
                        ui.horizontal(|ui| {
                            ui.selectable_value(&mut form.theme, Theme::Light, s.theme_light)
                                .labelled_by(l.id);
                            ui.selectable_value(&mut form.theme, Theme::Dark, s.theme_dark);
                        });
                    } else {
                        ui.label(match form.theme {
                            Theme::Light => s.theme_light,
                            Theme::Dark => s.theme_dark,
                        });
                    }
                    ui.label(RichText::new("kiosk.theme").monospace().small().weak());
                    ui.label("");
                    ui.end_row();
                });
        });
    field_errors(ui, &errors, SettingsField::Other);

    ui.add_space(6.0);
    let mut apply = false;
    let mut undo = false;
    ui.horizontal(|ui| {
        apply = ui
            .add_enabled(
                !a.busy,
                egui::Button::new(RichText::new(s.apply_settings).size(21.0))
                    .min_size(Vec2::new(200.0, 48.0)),
            )
            .clicked();
        undo = ui.button(s.undo_changes).clicked();
        if a.busy {
            ui.spinner();
        }
    });
    if undo {
        a.reset_form();
        a.notice = None;
    }
    match &a.notice {
        Some(SettingsNotice::Saved(p)) => {
            ok_text(ui, &format!("{} {}", s.settings_saved, p.display()));
        }
        Some(SettingsNotice::NoFile) => ok_text(ui, s.settings_no_file),
        Some(SettingsNotice::Unchanged) => {
            ui.label(s.settings_unchanged);
        }
        Some(SettingsNotice::NotSaved(e)) => {
            error_text(ui, &format!("{}: {e}", s.settings_not_saved))
        }
        Some(SettingsNotice::Failed(e)) => error_text(ui, &format!("{}: {e}", s.settings_refused)),
        None => {}
    }
    if apply {
        jobs.extend(admin::apply_form(st));
    }
}

fn labelled(ui: &mut egui::Ui, label: &str, value: &mut String, password: bool) {
    let l = ui.label(label);
    // A fixed size: inside a grid a text field would otherwise keep the column's first width.
    ui.add_sized(
        [260.0, 36.0],
        egui::TextEdit::singleline(value).password(password),
    )
    .labelled_by(l.id);
}

fn role_combo(ui: &mut egui::Ui, s: &Strings, id: &str, label: &str, role: &mut Role) {
    let l = ui.label(label);
    egui::ComboBox::from_id_salt(id)
        .selected_text(role_word(s, *role))
        .show_ui(ui, |ui| {
            for r in [Role::Agent, Role::Supervisor, Role::Admin] {
                ui.selectable_value(role, r, role_word(s, r));
            }
        })
        .response
        .labelled_by(l.id);
}

fn users_tab(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let s = st.lang.s();
    let me = st
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let now = kyc_core::record::now_ms();
    let mut select: Option<String> = None;
    if st.admin.users.busy {
        ui.spinner();
    }
    egui::Grid::new("users")
        .striped(true)
        .min_row_height(30.0)
        .show(ui, |ui| {
            for h in [s.username, s.role, s.status, s.failed_logins, ""] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for u in &st.admin.users.list {
                let name = if u.username == me {
                    format!("{} {}", u.username, s.you)
                } else {
                    u.username.clone()
                };
                ui.label(name);
                ui.label(role_word(s, u.role));
                let status = if u.disabled {
                    s.disabled.to_string()
                } else if u.locked_at(now) {
                    format!("{} ({})", s.locked, s.active)
                } else {
                    s.active.to_string()
                };
                ui.label(status);
                ui.label(u.failed_attempts.to_string());
                if ui.button(format!("{} {}", s.manage, u.username)).clicked() {
                    select = Some(u.username.clone());
                }
                ui.end_row();
            }
        });
    if let Some(name) = select {
        admin::select_user(st, &name);
    }
    match &st.admin.users.message {
        Some(Ok(m)) => ok_text(ui, m),
        Some(Err(m)) => error_text(ui, m),
        None => {}
    }
    ui.add_space(8.0);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| new_user(ui, st, s, jobs));
        if st.admin.users.selected.is_some() {
            ui.separator();
            ui.vertical(|ui| selected_user(ui, st, s, now, jobs));
        }
    });
}

fn selected_user(
    ui: &mut egui::Ui,
    st: &mut AppState,
    s: &'static Strings,
    now: i64,
    jobs: &mut Vec<Job>,
) {
    let u = &mut st.admin.users;
    let Some(name) = u.selected.clone() else {
        return;
    };
    let Some(info) = u.list.iter().find(|x| x.username == name).cloned() else {
        return;
    };
    ui.label(RichText::new(format!("{} {}", s.manage, info.username)).strong());
    let mut action = None;
    egui::Grid::new("manage_user")
        .min_row_height(30.0)
        .show(ui, |ui| {
            let mut role = u.role.unwrap_or(info.role);
            role_combo(ui, s, "user_role", s.role, &mut role);
            u.role = Some(role);
            if ui
                .add_enabled(role != info.role, egui::Button::new(s.change_role))
                .clicked()
            {
                action = Some(UserAction::SetRole);
            }
            ui.end_row();
            ui.label(s.status);
            ui.horizontal(|ui| {
                if info.disabled {
                    if ui.button(s.enable_user).clicked() {
                        action = Some(UserAction::Enable);
                    }
                } else if ui.button(s.disable_user).clicked() {
                    action = Some(UserAction::Disable);
                }
                if (info.locked_at(now) || info.failed_attempts > 0)
                    && ui.button(s.unlock_user).clicked()
                {
                    action = Some(UserAction::Unlock);
                }
            });
            ui.end_row();
            labelled(ui, s.new_password, &mut u.password, true);
            ui.end_row();
            labelled(ui, s.new_password_again, &mut u.password2, true);
            if ui.button(s.reset_password).clicked() {
                action = Some(UserAction::ResetPassword);
            }
            ui.end_row();
        });
    if let Some(a) = action {
        jobs.extend(admin::user_action(st, a));
    }
}

fn new_user(ui: &mut egui::Ui, st: &mut AppState, s: &'static Strings, jobs: &mut Vec<Job>) {
    let f = &mut st.admin.users.new_user;
    ui.label(RichText::new(s.new_user).strong());
    egui::Grid::new("new_user")
        .min_row_height(30.0)
        .show(ui, |ui| {
            labelled(ui, s.username, &mut f.username, false);
            ui.end_row();
            role_combo(ui, s, "new_user_role", s.role, &mut f.role);
            ui.end_row();
            labelled(ui, s.password, &mut f.password, true);
            ui.end_row();
            labelled(ui, s.password_again, &mut f.password2, true);
            ui.end_row();
        });
    let busy = st.admin.users.busy;
    if ui
        .add_enabled(!busy, egui::Button::new(s.create_user))
        .clicked()
    {
        jobs.extend(admin::create_user(st));
    }
}

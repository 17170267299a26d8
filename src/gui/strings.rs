//! Every piece of UI text, in English and French (francophone West Africa), as one table per
//! language: a missing translation is a compile error, not a blank button.

/// The UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The text table for this language.
    #[must_use]
    pub fn s(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    /// Parse `en` / `fr`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Lang::En),
            "fr" | "french" | "français" => Some(Lang::Fr),
            _ => None,
        }
    }
}

/// One language's UI text.
#[derive(Debug)]
pub struct Strings {
    /// Window and header title.
    pub app_title: &'static str,
    /// Language switch label.
    pub language: &'static str,
    /// Login screen heading.
    pub login_title: &'static str,
    /// Username field.
    pub username: &'static str,
    /// Password field.
    pub password: &'static str,
    /// Login button.
    pub log_in: &'static str,
    /// Logout button.
    pub log_out: &'static str,
    /// Empty username or password.
    pub login_empty: &'static str,
    /// Store being opened.
    pub store_opening: &'static str,
    /// Store failed to open.
    pub store_failed: &'static str,
    /// Models loading.
    pub models_loading: &'static str,
    /// Models failed.
    pub models_failed: &'static str,
    /// Models ready.
    pub models_ready: &'static str,
    /// Start screen heading.
    pub start_title: &'static str,
    /// Customer type label.
    pub customer_type: &'static str,
    /// Individual.
    pub individual: &'static str,
    /// Business.
    pub business: &'static str,
    /// Country field.
    pub country: &'static str,
    /// Claimed ID type.
    pub id_type: &'static str,
    /// No ID type chosen.
    pub id_type_none: &'static str,
    /// Claimed ID number.
    pub id_number: &'static str,
    /// Start button.
    pub start_verification: &'static str,
    /// Country must be two letters.
    pub err_country: &'static str,
    /// ID number without a type.
    pub err_id_type_missing: &'static str,
    /// ID number fails the format check.
    pub err_id_format: &'static str,
    /// Document capture heading.
    pub document_title: &'static str,
    /// Selfie heading.
    pub selfie_title: &'static str,
    /// Capture the current frame.
    pub capture: &'static str,
    /// Retake.
    pub retake: &'static str,
    /// File path field.
    pub image_file: &'static str,
    /// Import button.
    pub import: &'static str,
    /// Next button.
    pub next: &'static str,
    /// Back button.
    pub back: &'static str,
    /// Cancel the customer's session.
    pub cancel: &'static str,
    /// No camera banner.
    pub no_camera: &'static str,
    /// Frame source ended.
    pub source_ended: &'static str,
    /// The camera failed and is being opened again.
    pub camera_retrying: &'static str,
    /// Waiting for the first frame.
    pub waiting_frame: &'static str,
    /// Captured image label.
    pub captured: &'static str,
    /// Guide text for the document.
    pub document_guide: &'static str,
    /// Automatic capture toggle.
    pub auto_capture: &'static str,
    /// Meter: no document in view.
    pub hint_no_document: &'static str,
    /// Meter: the document is too small in the frame.
    pub hint_move_closer: &'static str,
    /// Meter: too dark.
    pub hint_too_dark: &'static str,
    /// Meter: too bright.
    pub hint_too_bright: &'static str,
    /// Meter: a reflection.
    pub hint_glare: &'static str,
    /// Meter: blurred.
    pub hint_blurry: &'static str,
    /// Meter: good but moving.
    pub hint_hold_still: &'static str,
    /// Meter: good and still, counting.
    pub hint_steadying: &'static str,
    /// Meter: good enough to capture (manual mode).
    pub hint_ready: &'static str,
    /// The document was captured automatically.
    pub auto_captured: &'static str,
    /// Meter label.
    pub meter_sharpness: &'static str,
    /// Meter label.
    pub meter_brightness: &'static str,
    /// Meter label.
    pub meter_glare: &'static str,
    /// Meter label.
    pub meter_fill: &'static str,
    /// The live quality meter could not start.
    pub meter_unavailable: &'static str,
    /// Guide text for the selfie.
    pub selfie_guide: &'static str,
    /// Run the checks.
    pub verify: &'static str,
    /// Processing heading.
    pub processing: &'static str,
    /// Stage: decoding.
    pub stage_decoding: &'static str,
    /// Stage: face analysis.
    pub stage_analysing: &'static str,
    /// Stage: duplicate search.
    pub stage_duplicates: &'static str,
    /// Stage: waiting for the models.
    pub stage_waiting_models: &'static str,
    /// Result heading.
    pub result_title: &'static str,
    /// Document portrait caption.
    pub document_portrait: &'static str,
    /// Selfie caption.
    pub selfie: &'static str,
    /// No image.
    pub no_image: &'static str,
    /// Suggested decision.
    pub suggested: &'static str,
    /// Overall confidence.
    pub overall_confidence: &'static str,
    /// Face match.
    pub face_match: &'static str,
    /// Threshold.
    pub threshold: &'static str,
    /// Match level.
    pub match_level: &'static str,
    /// Minimum (match level required).
    pub minimum: &'static str,
    /// Quality.
    pub quality: &'static str,
    /// Sharpness.
    pub sharpness: &'static str,
    /// Brightness.
    pub brightness: &'static str,
    /// Reasons.
    pub reasons: &'static str,
    /// Document fields.
    pub fields: &'static str,
    /// No fields read.
    pub no_fields: &'static str,
    /// The machine-readable zone.
    pub mrz: &'static str,
    /// Every MRZ check digit passed.
    pub mrz_valid: &'static str,
    /// An MRZ check failed (followed by the failing checks).
    pub mrz_invalid: &'static str,
    /// Document capture quality heading.
    pub document_quality: &'static str,
    /// Back-side capture step heading.
    pub back_title: &'static str,
    /// Guide when the claimed ID type needs its back side.
    pub back_guide_required: &'static str,
    /// Guide when the back side is optional.
    pub back_guide_optional: &'static str,
    /// Open the back-side step.
    pub add_back: &'static str,
    /// Capture the back side from the camera.
    pub capture_back: &'static str,
    /// Back-side file path field.
    pub back_file: &'static str,
    /// Import the back side from a file.
    pub import_back: &'static str,
    /// Retake the back side.
    pub retake_back: &'static str,
    /// Skip the back side.
    pub skip_back: &'static str,
    /// The back side is still missing.
    pub back_required: &'static str,
    /// Caption of the document's front image.
    pub document_front: &'static str,
    /// Caption of the document's back image.
    pub document_back: &'static str,
    /// Back-side capture quality heading.
    pub back_quality: &'static str,
    /// Duplicate warnings.
    pub duplicates: &'static str,
    /// Approve.
    pub approve: &'static str,
    /// Reject.
    pub reject: &'static str,
    /// Refer to supervisor.
    pub refer: &'static str,
    /// A verification ended without a decision.
    pub abandoned: &'static str,
    /// Earlier records of the same claim (repeated attempts).
    pub previous_attempts: &'static str,
    /// Reason field.
    pub reason: &'static str,
    /// Reason required.
    pub err_reason: &'static str,
    /// Approval needs a supervisor.
    pub approve_needs_supervisor: &'static str,
    /// Saving.
    pub saving: &'static str,
    /// Saved.
    pub saved: &'static str,
    /// Next customer.
    pub next_customer: &'static str,
    /// Session cleared by the idle timeout.
    pub idle_cleared: &'static str,
    /// Review screen heading.
    pub review_title: &'static str,
    /// Review queue button.
    pub review_queue: &'static str,
    /// Refresh.
    pub refresh: &'static str,
    /// Empty queue.
    pub queue_empty: &'static str,
    /// Open a case.
    pub open: &'static str,
    /// Override with reason.
    pub override_title: &'static str,
    /// Note field.
    pub note: &'static str,
    /// Note required.
    pub err_note: &'static str,
    /// Override saved.
    pub override_saved: &'static str,
    /// Statistics.
    pub statistics: &'static str,
    /// Total records.
    pub total: &'static str,
    /// Pending review.
    pub pending: &'static str,
    /// Processing time.
    pub processing_time: &'static str,
    /// Back to verifications.
    pub verifications: &'static str,
    /// Exit the kiosk.
    pub exit: &'static str,
    /// Record id label.
    pub record: &'static str,
    /// Operator label.
    pub operator: &'static str,
    /// Supervisor actions label.
    pub actions: &'static str,
    /// Settings heading.
    pub settings: &'static str,
    /// Settings tab.
    pub tab_settings: &'static str,
    /// Users tab.
    pub tab_users: &'static str,
    /// Frame source heading.
    pub frame_source: &'static str,
    /// A camera in the source list.
    pub camera: &'static str,
    /// Camera resolution.
    pub resolution: &'static str,
    /// The camera's default resolution.
    pub resolution_default: &'static str,
    /// No live source.
    pub source_none: &'static str,
    /// The source given on the command line.
    pub source_other: &'static str,
    /// Listing cameras.
    pub cameras_searching: &'static str,
    /// No camera listed.
    pub no_camera_listed: &'static str,
    /// Thresholds heading.
    pub thresholds: &'static str,
    /// decision.approveAt label.
    pub approve_at: &'static str,
    /// decision.rejectMatchBelow label.
    pub reject_match_below: &'static str,
    /// matching.minimumLevel label.
    pub minimum_level: &'static str,
    /// decision.minSharpness label.
    pub min_sharpness: &'static str,
    /// Lowest brightness label.
    pub brightness_min: &'static str,
    /// Highest brightness label.
    pub brightness_max: &'static str,
    /// Idle timeout label.
    pub idle_timeout: &'static str,
    /// Weights label (read-only).
    pub weights: &'static str,
    /// Non-admins: why the thresholds are read-only.
    pub admin_only: &'static str,
    /// Apply button.
    pub apply_settings: &'static str,
    /// Reset the form.
    pub undo_changes: &'static str,
    /// Applied and saved.
    pub settings_saved: &'static str,
    /// Applied, file not written.
    pub settings_not_saved: &'static str,
    /// Applied, no file.
    pub settings_no_file: &'static str,
    /// Nothing changed.
    pub settings_unchanged: &'static str,
    /// Refused.
    pub settings_refused: &'static str,
    /// Role.
    pub role: &'static str,
    /// Agent role.
    pub role_agent: &'static str,
    /// Supervisor role.
    pub role_supervisor: &'static str,
    /// Admin role.
    pub role_admin: &'static str,
    /// Account status.
    pub status: &'static str,
    /// Active account.
    pub active: &'static str,
    /// Disabled account.
    pub disabled: &'static str,
    /// Locked account.
    pub locked: &'static str,
    /// Failed logins.
    pub failed_logins: &'static str,
    /// Manage a user (button, followed by the name).
    pub manage: &'static str,
    /// Create-user heading.
    pub new_user: &'static str,
    /// Password confirmation.
    pub password_again: &'static str,
    /// Create button.
    pub create_user: &'static str,
    /// Change role button.
    pub change_role: &'static str,
    /// Disable button.
    pub disable_user: &'static str,
    /// Enable button.
    pub enable_user: &'static str,
    /// New password field.
    pub new_password: &'static str,
    /// New password confirmation.
    pub new_password_again: &'static str,
    /// Reset password button.
    pub reset_password: &'static str,
    /// Unlock button.
    pub unlock_user: &'static str,
    /// Marks the signed-in user.
    pub you: &'static str,
    /// Start the liveness challenge.
    pub start_challenge: &'static str,
    /// Prompt before the first step.
    pub prompt_face: &'static str,
    /// Prompt: turn left.
    pub prompt_turn_left: &'static str,
    /// Prompt: turn right.
    pub prompt_turn_right: &'static str,
    /// Prompt: look up.
    pub prompt_look_up: &'static str,
    /// Prompt: come closer.
    pub prompt_come_closer: &'static str,
    /// Prompt: smile.
    pub prompt_smile: &'static str,
    /// Prompt: blink.
    pub prompt_blink: &'static str,
    /// "Step" (k of n).
    pub step: &'static str,
    /// "of" (k of n).
    pub of: &'static str,
    /// Countdown for the step.
    pub step_time_left: &'static str,
    /// Countdown for the whole challenge.
    pub total_time_left: &'static str,
    /// Stop the challenge.
    pub stop_challenge: &'static str,
    /// Challenge passed.
    pub challenge_passed: &'static str,
    /// Challenge failed.
    pub challenge_failed: &'static str,
    /// Start the challenge again.
    pub try_again: &'static str,
    /// Failed challenge attempts so far ("k of n" follows).
    pub failed_attempts: &'static str,
    /// The customer used every challenge attempt.
    pub too_many_attempts: &'static str,
    /// Liveness models loading.
    pub liveness_loading: &'static str,
    /// Liveness models unavailable.
    pub liveness_unavailable: &'static str,
    /// Liveness (result screen).
    pub liveness: &'static str,
    /// Live.
    pub live: &'static str,
    /// Not live.
    pub not_live: &'static str,
    /// Challenge (result screen).
    pub challenge: &'static str,
    /// Single image, passive check only.
    pub passive_only: &'static str,
    /// A field the agent corrected.
    pub corrected: &'static str,
    /// A corrected field was emptied.
    pub err_empty_field: &'static str,
    /// Filter: pending cases only.
    pub pending_only: &'static str,
    /// Filter: decision.
    pub decision: &'static str,
    /// Filter: any decision.
    pub any: &'static str,
    /// Filter: first day.
    pub from_day: &'static str,
    /// Filter: last day.
    pub to_day: &'static str,
    /// Filter: agent.
    pub agent: &'static str,
    /// Filter: free text.
    pub name_or_id: &'static str,
    /// Apply the filters.
    pub apply_filters: &'static str,
    /// Clear the filters.
    pub clear_filters: &'static str,
    /// A filter could not be applied.
    pub bad_filter: &'static str,
    /// First-run set-up heading.
    pub setup_title: &'static str,
    /// Set-up step: the kiosk.
    pub setup_step_kiosk: &'static str,
    /// Set-up step: the administrator.
    pub setup_step_admin: &'static str,
    /// Set-up step: the camera.
    pub setup_step_camera: &'static str,
    /// What the identity step asks.
    pub setup_identity_help: &'static str,
    /// Kiosk name/ID field.
    pub setup_kiosk_id: &'static str,
    /// Branch field.
    pub setup_branch: &'static str,
    /// What the administrator step asks.
    pub setup_admin_help: &'static str,
    /// Create the first administrator.
    pub setup_create_admin: &'static str,
    /// The administrator was created.
    pub setup_admin_created: &'static str,
    /// What the camera step shows.
    pub setup_camera_help: &'static str,
    /// The camera gives frames.
    pub setup_camera_ok: &'static str,
    /// The camera gives no frames.
    pub setup_camera_failed: &'static str,
    /// No camera is connected.
    pub setup_no_camera: &'static str,
    /// Leave the set-up for sign-in.
    pub setup_continue: &'static str,
    /// Customer step indicator: the claim.
    pub flow_claim: &'static str,
    /// Customer step indicator: the document.
    pub flow_document: &'static str,
    /// Customer step indicator: the selfie.
    pub flow_selfie: &'static str,
    /// Customer step indicator: the result.
    pub flow_result: &'static str,
    /// Settings screen: the System tab.
    pub tab_system: &'static str,
    /// Settings: the theme.
    pub theme: &'static str,
    /// Light theme.
    pub theme_light: &'static str,
    /// Dark theme.
    pub theme_dark: &'static str,
    /// System tab heading.
    pub system_title: &'static str,
    /// Run the checks again.
    pub system_rerun: &'static str,
    /// Checks running.
    pub system_running: &'static str,
    /// Column: the check.
    pub system_check: &'static str,
    /// Column: its status.
    pub system_status: &'static str,
    /// Column: what was found.
    pub system_summary: &'static str,
    /// The worst status.
    pub system_overall: &'static str,
    /// Status OK.
    pub status_ok: &'static str,
    /// Status warning.
    pub status_warning: &'static str,
    /// Status error.
    pub status_error: &'static str,
    /// When the checks ran.
    pub system_checked_at: &'static str,
    /// Consent screen heading.
    pub consent_title: &'static str,
    /// The consent text shown to the customer (its SHA-256 is recorded).
    pub consent_text: &'static str,
    /// The customer agrees.
    pub consent_agree: &'static str,
    /// The customer refuses.
    pub consent_refuse: &'static str,
    /// Shown after a refusal.
    pub consent_refused_notice: &'static str,
    /// Shown once consent is given.
    pub consent_given: &'static str,
    /// The receipt file was written.
    pub receipt_written: &'static str,
    /// The receipt could not be written.
    pub receipt_failed: &'static str,
    /// The receipt is being written.
    pub receipt_writing: &'static str,
    /// Country picker placeholder.
    pub country_choose: &'static str,
    /// Drag-and-drop hint.
    pub drop_hint: &'static str,
    /// Several files dropped at once.
    pub drop_one_file: &'static str,
    /// A file dropped while another is being imported.
    pub drop_busy: &'static str,
    /// Open the file picker.
    pub browse: &'static str,
    /// File picker heading.
    pub picker_title: &'static str,
    /// Go to the parent folder.
    pub picker_up: &'static str,
    /// Import the chosen file.
    pub picker_open: &'static str,
    /// Close the picker.
    pub picker_close: &'static str,
    /// No folders or images here.
    pub picker_empty: &'static str,
    /// The ID type is another country's.
    pub err_id_type_country: &'static str,
}

/// English.
pub static EN: Strings = Strings {
    app_title: "KYC kiosk",
    language: "Language",
    login_title: "Sign in",
    username: "Username",
    password: "Password",
    log_in: "Log in",
    log_out: "Log out",
    login_empty: "Enter your username and password.",
    store_opening: "Opening the audit store…",
    store_failed: "The audit store could not be opened",
    models_loading: "Loading models…",
    models_failed: "Models could not be loaded",
    models_ready: "Models ready",
    start_title: "New verification",
    customer_type: "Customer type",
    individual: "Individual",
    business: "Business",
    country: "Country",
    id_type: "ID type",
    id_type_none: "(not given)",
    id_number: "ID number",
    start_verification: "Start verification",
    err_country: "Choose the customer's country.",
    err_id_type_missing: "Choose the ID type for this number.",
    err_id_format: "The ID number does not have the expected format",
    document_title: "ID document",
    selfie_title: "Selfie",
    capture: "Capture",
    retake: "Retake",
    image_file: "Image file",
    import: "Import",
    next: "Next",
    back: "Back",
    cancel: "Cancel",
    no_camera: "No camera: import an image file, or start with --source frames:<folder>.",
    source_ended: "The frame source stopped",
    camera_retrying: "Camera unavailable, trying again every 2 s",
    waiting_frame: "Waiting for the first frame…",
    captured: "Captured",
    document_guide: "Place the document inside the frame, photo side up.",
    auto_capture: "Automatic capture",
    hint_no_document: "Show the document to the camera",
    hint_move_closer: "Move the document closer",
    hint_too_dark: "Too dark: add light",
    hint_too_bright: "Too bright: move out of direct light",
    hint_glare: "Reflection on the document: tilt it slightly",
    hint_blurry: "Blurred: hold the document still",
    hint_hold_still: "Hold still",
    hint_steadying: "Good, hold still",
    hint_ready: "Ready to capture",
    auto_captured: "Captured automatically",
    meter_sharpness: "Sharpness",
    meter_brightness: "Brightness",
    meter_glare: "Glare",
    meter_fill: "Size in frame",
    meter_unavailable: "Live quality unavailable",
    selfie_guide: "Look at the camera, face inside the oval.",
    verify: "Run checks",
    processing: "Checking…",
    stage_decoding: "Reading the images",
    stage_analysing: "Finding and comparing faces",
    stage_duplicates: "Searching for earlier enrolments",
    stage_waiting_models: "Waiting for the models to load",
    result_title: "Result",
    document_portrait: "Document portrait",
    selfie: "Selfie",
    no_image: "(none)",
    suggested: "Suggested decision",
    overall_confidence: "Overall confidence",
    face_match: "Face match",
    threshold: "threshold",
    match_level: "level",
    minimum: "minimum",
    quality: "Quality",
    sharpness: "sharpness",
    brightness: "brightness",
    reasons: "Reasons",
    fields: "Document fields",
    no_fields: "No document fields in this result.",
    mrz: "MRZ",
    mrz_valid: "every check digit passed",
    mrz_invalid: "check failed:",
    document_quality: "Document capture",
    back_title: "Back side",
    back_guide_required: "This ID card carries its MRZ on the back: capture or import the back side too.",
    back_guide_optional: "If the card carries its MRZ or more fields on the back, add the back side.",
    add_back: "Add back side",
    capture_back: "Capture back side",
    back_file: "Back side image file",
    import_back: "Import back side",
    retake_back: "Retake back side",
    skip_back: "Skip back side",
    back_required: "The back side is needed before the selfie.",
    document_front: "Document front",
    document_back: "Document back",
    back_quality: "Back side capture",
    duplicates: "Duplicate check",
    approve: "Approve",
    reject: "Reject",
    refer: "Refer to supervisor",
    abandoned: "Abandoned",
    previous_attempts: "Earlier attempts for this ID number",
    reason: "Reason",
    err_reason: "Give a reason for this decision.",
    approve_needs_supervisor: "The checks did not all pass: only a supervisor can approve.",
    saving: "Saving…",
    saved: "Saved as record",
    next_customer: "Next customer",
    idle_cleared: "The session was idle and has been cleared.",
    review_title: "Review queue",
    review_queue: "Review queue",
    refresh: "Refresh",
    queue_empty: "No case is waiting for review.",
    open: "Open",
    override_title: "Decide this case",
    note: "Note",
    err_note: "Write a note explaining the decision.",
    override_saved: "Decision recorded",
    statistics: "Statistics",
    total: "Total",
    pending: "Pending review",
    processing_time: "Session time (median / p95)",
    verifications: "Verifications",
    exit: "Exit kiosk",
    record: "Record",
    operator: "Operator",
    actions: "Supervisor actions",
    settings: "Settings",
    tab_settings: "Kiosk settings",
    tab_users: "Users",
    frame_source: "Frame source",
    camera: "Camera",
    resolution: "Resolution",
    resolution_default: "Camera default (1280×720 asked)",
    source_none: "None: import files",
    source_other: "Source given at start",
    cameras_searching: "Looking for cameras…",
    no_camera_listed: "No camera is listed by this computer: documents and selfies are imported from files.",
    thresholds: "Decision thresholds",
    approve_at: "Approve at overall confidence (0–100)",
    reject_match_below: "Reject below face-match confidence (0–100)",
    minimum_level: "Minimum match level",
    min_sharpness: "Minimum face sharpness (0–100)",
    brightness_min: "Face brightness, lowest (0–100)",
    brightness_max: "Face brightness, highest (0–100)",
    idle_timeout: "Idle timeout (seconds)",
    weights: "Weights: document / selfie / match",
    admin_only: "Only an administrator can change the thresholds and the idle timeout.",
    apply_settings: "Apply settings",
    undo_changes: "Undo changes",
    settings_saved: "Settings applied and saved to",
    settings_not_saved: "Settings applied, but the settings file could not be written (they last until the kiosk restarts)",
    settings_no_file: "Settings applied for this session (no settings file)",
    settings_unchanged: "Nothing changed",
    settings_refused: "Settings not changed",
    role: "Role",
    role_agent: "Agent",
    role_supervisor: "Supervisor",
    role_admin: "Administrator",
    status: "Status",
    active: "active",
    disabled: "disabled",
    locked: "locked",
    failed_logins: "Failed logins",
    manage: "Manage",
    new_user: "New user",
    password_again: "Password again",
    create_user: "Create user",
    change_role: "Change role",
    disable_user: "Disable account",
    enable_user: "Enable account",
    new_password: "New password",
    new_password_again: "New password again",
    reset_password: "Reset password",
    unlock_user: "Unlock",
    you: "(you)",
    start_challenge: "Start the liveness check",
    prompt_face: "Look straight at the camera",
    prompt_turn_left: "Turn your head to your left",
    prompt_turn_right: "Turn your head to your right",
    prompt_look_up: "Look up",
    prompt_come_closer: "Come closer to the camera",
    prompt_smile: "Smile",
    prompt_blink: "Blink your eyes",
    step: "Step",
    of: "of",
    step_time_left: "Time left for this step",
    total_time_left: "in all",
    stop_challenge: "Stop the check",
    challenge_passed: "Liveness check passed",
    challenge_failed: "Liveness check failed",
    try_again: "Start again",
    failed_attempts: "Failed attempts",
    too_many_attempts: "Too many failed attempts: import a still selfie (the case will be referred) or cancel",
    liveness_loading: "Loading the liveness models…",
    liveness_unavailable: "Liveness check unavailable (import a still image)",
    liveness: "Liveness",
    live: "live",
    not_live: "not live",
    challenge: "challenge",
    passive_only: "single image, passive check only",
    corrected: "corrected",
    err_empty_field: "A corrected field cannot be empty",
    pending_only: "Pending review only",
    decision: "Decision",
    any: "any",
    from_day: "From (YYYY-MM-DD)",
    to_day: "To (YYYY-MM-DD)",
    agent: "Agent",
    name_or_id: "Name or ID number",
    apply_filters: "Apply filters",
    clear_filters: "Clear filters",
    bad_filter: "Check the filters",
    setup_title: "First-run set-up",
    setup_step_kiosk: "Kiosk",
    setup_step_admin: "Administrator",
    setup_step_camera: "Camera",
    setup_identity_help: "Name this kiosk and its branch. Both are written into every record.",
    setup_kiosk_id: "Kiosk name or ID",
    setup_branch: "Branch",
    setup_admin_help: "Create the first administrator. They create the agents and supervisors afterwards.",
    setup_create_admin: "Create administrator",
    setup_admin_created: "Administrator created:",
    setup_camera_help: "Camera test: the live picture should appear below.",
    setup_camera_ok: "The camera works",
    setup_camera_failed: "Warning: the camera gives no picture",
    setup_no_camera: "Warning: no camera found. You can go on: the kiosk verifies imported files until a camera is connected (then choose it in Settings).",
    setup_continue: "Continue to sign-in",
    flow_claim: "Claim",
    flow_document: "Document",
    flow_selfie: "Selfie",
    flow_result: "Result",
    tab_system: "System",
    theme: "Theme",
    theme_light: "Light",
    theme_dark: "Dark",
    system_title: "Kiosk health (the checks of kyc-kiosk doctor)",
    system_rerun: "Run the checks again",
    system_running: "Checking…",
    system_check: "Check",
    system_status: "Status",
    system_summary: "Finding",
    system_overall: "Overall",
    status_ok: "OK",
    status_warning: "Warning",
    status_error: "Error",
    system_checked_at: "Checked at",
    consent_title: "Your consent",
    consent_text: "To verify your identity, this kiosk compares a photo of your face taken now with the photo on your identity document. This uses biometric data: images of your face and a face template computed from them. They are used only to verify your identity, kept encrypted in the bank's audit record for as long as the law on customer identification requires, and never shared outside the bank except where the law requires it. You may refuse: the verification then stops and an agent will help you another way. You can ask to see your data, have it corrected, or ask for its erasure, quoting the case reference on your receipt.",
    consent_agree: "I agree",
    consent_refuse: "I do not agree",
    consent_refused_notice: "Consent refused: the verification was stopped and recorded as abandoned.",
    consent_given: "Consent to biometric processing given",
    receipt_written: "Receipt for the customer",
    receipt_failed: "The receipt could not be written",
    receipt_writing: "Writing the receipt…",
    country_choose: "Choose the country",
    drop_hint: "Or drop an image file onto this window.",
    drop_one_file: "Several files were dropped: drop one image file at a time.",
    drop_busy: "An image is still being imported: drop the file again once it is done.",
    browse: "Choose a file…",
    picker_title: "Choose an image",
    picker_up: "Up",
    picker_open: "Import this file",
    picker_close: "Close",
    picker_empty: "No folders or images here",
    err_id_type_country: "This ID type belongs to another country.",
};

/// French.
pub static FR: Strings = Strings {
    app_title: "Borne KYC",
    language: "Langue",
    login_title: "Connexion",
    username: "Identifiant",
    password: "Mot de passe",
    log_in: "Se connecter",
    log_out: "Se déconnecter",
    login_empty: "Saisissez votre identifiant et votre mot de passe.",
    store_opening: "Ouverture du registre d'audit…",
    store_failed: "Le registre d'audit n'a pas pu être ouvert",
    models_loading: "Chargement des modèles…",
    models_failed: "Les modèles n'ont pas pu être chargés",
    models_ready: "Modèles prêts",
    start_title: "Nouvelle vérification",
    customer_type: "Type de client",
    individual: "Particulier",
    business: "Entreprise",
    country: "Pays",
    id_type: "Type de pièce",
    id_type_none: "(non précisé)",
    id_number: "Numéro de pièce",
    start_verification: "Commencer la vérification",
    err_country: "Choisissez le pays du client.",
    err_id_type_missing: "Choisissez le type de pièce de ce numéro.",
    err_id_format: "Le numéro de pièce n'a pas le format attendu",
    document_title: "Pièce d'identité",
    selfie_title: "Selfie",
    capture: "Capturer",
    retake: "Reprendre",
    image_file: "Fichier image",
    import: "Importer",
    next: "Suivant",
    back: "Retour",
    cancel: "Annuler",
    no_camera: "Pas de caméra : importez un fichier image, ou lancez avec --source frames:<dossier>.",
    source_ended: "La source d'images s'est arrêtée",
    camera_retrying: "Caméra indisponible, nouvel essai toutes les 2 s",
    waiting_frame: "En attente de la première image…",
    captured: "Capturé",
    document_guide: "Placez la pièce dans le cadre, côté photo visible.",
    auto_capture: "Capture automatique",
    hint_no_document: "Présentez la pièce à la caméra",
    hint_move_closer: "Rapprochez la pièce",
    hint_too_dark: "Trop sombre : ajoutez de la lumière",
    hint_too_bright: "Trop lumineux : évitez la lumière directe",
    hint_glare: "Reflet sur la pièce : inclinez-la légèrement",
    hint_blurry: "Flou : tenez la pièce immobile",
    hint_hold_still: "Ne bougez plus",
    hint_steadying: "Bien, ne bougez plus",
    hint_ready: "Prêt pour la capture",
    auto_captured: "Capturée automatiquement",
    meter_sharpness: "Netteté",
    meter_brightness: "Luminosité",
    meter_glare: "Reflets",
    meter_fill: "Taille dans le cadre",
    meter_unavailable: "Qualité en direct indisponible",
    selfie_guide: "Regardez la caméra, le visage dans l'ovale.",
    verify: "Lancer les contrôles",
    processing: "Contrôle en cours…",
    stage_decoding: "Lecture des images",
    stage_analysing: "Détection et comparaison des visages",
    stage_duplicates: "Recherche d'inscriptions antérieures",
    stage_waiting_models: "En attente du chargement des modèles",
    result_title: "Résultat",
    document_portrait: "Photo de la pièce",
    selfie: "Selfie",
    no_image: "(aucune)",
    suggested: "Décision proposée",
    overall_confidence: "Confiance globale",
    face_match: "Correspondance du visage",
    threshold: "seuil",
    match_level: "niveau",
    minimum: "minimum requis",
    quality: "Qualité",
    sharpness: "netteté",
    brightness: "luminosité",
    reasons: "Motifs",
    fields: "Champs de la pièce",
    no_fields: "Aucun champ de pièce dans ce résultat.",
    mrz: "ZLA",
    mrz_valid: "tous les chiffres de contrôle sont bons",
    mrz_invalid: "contrôle en échec :",
    document_quality: "Prise de vue de la pièce",
    back_title: "Verso",
    back_guide_required: "Cette carte porte sa ZLA au verso : photographiez ou importez aussi le verso.",
    back_guide_optional: "Si la carte porte sa ZLA ou d'autres champs au verso, ajoutez le verso.",
    add_back: "Ajouter le verso",
    capture_back: "Photographier le verso",
    back_file: "Fichier image du verso",
    import_back: "Importer le verso",
    retake_back: "Reprendre le verso",
    skip_back: "Passer le verso",
    back_required: "Le verso est nécessaire avant le selfie.",
    document_front: "Recto de la pièce",
    document_back: "Verso de la pièce",
    back_quality: "Prise de vue du verso",
    duplicates: "Contrôle des doublons",
    approve: "Approuver",
    reject: "Rejeter",
    refer: "Transmettre au superviseur",
    abandoned: "Abandonnée",
    previous_attempts: "Tentatives précédentes pour ce numéro",
    reason: "Motif",
    err_reason: "Indiquez le motif de cette décision.",
    approve_needs_supervisor: "Tous les contrôles n'ont pas réussi : seul un superviseur peut approuver.",
    saving: "Enregistrement…",
    saved: "Enregistré sous le numéro",
    next_customer: "Client suivant",
    idle_cleared: "La session était inactive et a été effacée.",
    review_title: "File de revue",
    review_queue: "File de revue",
    refresh: "Actualiser",
    queue_empty: "Aucun dossier en attente de revue.",
    open: "Ouvrir",
    override_title: "Décider ce dossier",
    note: "Note",
    err_note: "Écrivez une note expliquant la décision.",
    override_saved: "Décision enregistrée",
    statistics: "Statistiques",
    total: "Total",
    pending: "En attente de revue",
    processing_time: "Durée de session (médiane / p95)",
    verifications: "Vérifications",
    exit: "Quitter la borne",
    record: "Dossier",
    operator: "Opérateur",
    actions: "Actions du superviseur",
    settings: "Réglages",
    tab_settings: "Réglages de la borne",
    tab_users: "Utilisateurs",
    frame_source: "Source d'images",
    camera: "Caméra",
    resolution: "Résolution",
    resolution_default: "Par défaut de la caméra (1280×720 demandé)",
    source_none: "Aucune : importer des fichiers",
    source_other: "Source donnée au démarrage",
    cameras_searching: "Recherche des caméras…",
    no_camera_listed: "Aucune caméra n'est détectée sur cet ordinateur : les documents et selfies sont importés depuis des fichiers.",
    thresholds: "Seuils de décision",
    approve_at: "Approuver à partir de la confiance globale (0–100)",
    reject_match_below: "Rejeter sous la confiance de correspondance (0–100)",
    minimum_level: "Niveau de correspondance minimal",
    min_sharpness: "Netteté minimale du visage (0–100)",
    brightness_min: "Luminosité du visage, minimum (0–100)",
    brightness_max: "Luminosité du visage, maximum (0–100)",
    idle_timeout: "Délai d'inactivité (secondes)",
    weights: "Pondérations : document / selfie / correspondance",
    admin_only: "Seul un administrateur peut modifier les seuils et le délai d'inactivité.",
    apply_settings: "Appliquer les réglages",
    undo_changes: "Annuler les modifications",
    settings_saved: "Réglages appliqués et enregistrés dans",
    settings_not_saved: "Réglages appliqués, mais le fichier de réglages n'a pas pu être écrit (ils valent jusqu'au redémarrage)",
    settings_no_file: "Réglages appliqués pour cette session (pas de fichier de réglages)",
    settings_unchanged: "Aucune modification",
    settings_refused: "Réglages non modifiés",
    role: "Rôle",
    role_agent: "Agent",
    role_supervisor: "Superviseur",
    role_admin: "Administrateur",
    status: "État",
    active: "actif",
    disabled: "désactivé",
    locked: "verrouillé",
    failed_logins: "Échecs de connexion",
    manage: "Gérer",
    new_user: "Nouvel utilisateur",
    password_again: "Mot de passe (confirmation)",
    create_user: "Créer l'utilisateur",
    change_role: "Changer le rôle",
    disable_user: "Désactiver le compte",
    enable_user: "Activer le compte",
    new_password: "Nouveau mot de passe",
    new_password_again: "Nouveau mot de passe (confirmation)",
    reset_password: "Réinitialiser le mot de passe",
    unlock_user: "Déverrouiller",
    you: "(vous)",
    start_challenge: "Lancer le contrôle de présence",
    prompt_face: "Regardez droit vers la caméra",
    prompt_turn_left: "Tournez la tête vers votre gauche",
    prompt_turn_right: "Tournez la tête vers votre droite",
    prompt_look_up: "Levez les yeux vers le haut",
    prompt_come_closer: "Approchez-vous de la caméra",
    prompt_smile: "Souriez",
    prompt_blink: "Clignez des yeux",
    step: "Étape",
    of: "sur",
    step_time_left: "Temps restant pour cette étape",
    total_time_left: "au total",
    stop_challenge: "Arrêter le contrôle",
    challenge_passed: "Contrôle de présence réussi",
    challenge_failed: "Échec du contrôle de présence",
    try_again: "Recommencer",
    failed_attempts: "Tentatives échouées",
    too_many_attempts: "Trop de tentatives échouées : importez un selfie (le dossier sera transmis à un superviseur) ou annulez",
    liveness_loading: "Chargement des modèles de présence…",
    liveness_unavailable: "Contrôle de présence indisponible (importez une image)",
    liveness: "Présence",
    live: "vivante",
    not_live: "non vivante",
    challenge: "défi",
    passive_only: "image unique, contrôle passif seul",
    corrected: "corrigé",
    err_empty_field: "Un champ corrigé ne peut pas être vide",
    pending_only: "En attente de revue seulement",
    decision: "Décision",
    any: "toutes",
    from_day: "Du (AAAA-MM-JJ)",
    to_day: "Au (AAAA-MM-JJ)",
    agent: "Agent",
    name_or_id: "Nom ou numéro de pièce",
    apply_filters: "Appliquer les filtres",
    clear_filters: "Effacer les filtres",
    bad_filter: "Vérifiez les filtres",
    setup_title: "Première mise en service",
    setup_step_kiosk: "Kiosque",
    setup_step_admin: "Administrateur",
    setup_step_camera: "Caméra",
    setup_identity_help: "Nommez ce kiosque et son agence. Les deux figurent dans chaque dossier.",
    setup_kiosk_id: "Nom ou identifiant du kiosque",
    setup_branch: "Agence",
    setup_admin_help: "Créez le premier administrateur. Il créera ensuite les agents et les superviseurs.",
    setup_create_admin: "Créer l'administrateur",
    setup_admin_created: "Administrateur créé :",
    setup_camera_help: "Test de la caméra : l'image en direct doit s'afficher ci-dessous.",
    setup_camera_ok: "La caméra fonctionne",
    setup_camera_failed: "Attention : la caméra ne donne pas d'image",
    setup_no_camera: "Attention : aucune caméra trouvée. Vous pouvez continuer : le kiosque vérifie des fichiers importés jusqu'à ce qu'une caméra soit branchée (choisissez-la alors dans Paramètres).",
    setup_continue: "Continuer vers la connexion",
    flow_claim: "Identité déclarée",
    flow_document: "Document",
    flow_selfie: "Selfie",
    flow_result: "Résultat",
    tab_system: "Système",
    theme: "Thème",
    theme_light: "Clair",
    theme_dark: "Sombre",
    system_title: "État du kiosque (les contrôles de kyc-kiosk doctor)",
    system_rerun: "Relancer les contrôles",
    system_running: "Contrôles en cours…",
    system_check: "Contrôle",
    system_status: "État",
    system_summary: "Constat",
    system_overall: "Bilan",
    status_ok: "OK",
    status_warning: "Attention",
    status_error: "Erreur",
    system_checked_at: "Contrôlé à",
    consent_title: "Votre consentement",
    consent_text: "Pour vérifier votre identité, ce kiosque compare une photo de votre visage prise maintenant à la photo de votre pièce d'identité. Cela utilise des données biométriques : des images de votre visage et un gabarit facial calculé à partir d'elles. Elles servent uniquement à vérifier votre identité, sont conservées chiffrées dans le registre d'audit de la banque aussi longtemps que la loi sur l'identification des clients l'exige, et ne sont jamais communiquées hors de la banque sauf obligation légale. Vous pouvez refuser : la vérification s'arrête alors et un agent vous aidera autrement. Vous pouvez demander à consulter vos données, à les faire rectifier ou à les faire effacer, en indiquant la référence du dossier figurant sur votre reçu.",
    consent_agree: "J'accepte",
    consent_refuse: "Je refuse",
    consent_refused_notice: "Consentement refusé : la vérification a été arrêtée et enregistrée comme abandonnée.",
    consent_given: "Consentement au traitement biométrique donné",
    receipt_written: "Reçu pour le client",
    receipt_failed: "Le reçu n'a pas pu être écrit",
    receipt_writing: "Écriture du reçu…",
    country_choose: "Choisissez le pays",
    drop_hint: "Ou déposez un fichier image sur cette fenêtre.",
    drop_one_file: "Plusieurs fichiers ont été déposés : déposez un seul fichier image à la fois.",
    drop_busy: "Une image est encore en cours d'import : déposez le fichier à nouveau une fois l'import terminé.",
    browse: "Choisir un fichier…",
    picker_title: "Choisir une image",
    picker_up: "Dossier parent",
    picker_open: "Importer ce fichier",
    picker_close: "Fermer",
    picker_empty: "Aucun dossier ni image ici",
    err_id_type_country: "Ce type de pièce appartient à un autre pays.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_differ() {
        assert_eq!(Lang::parse("FR"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_ne!(Lang::En.s().log_in, Lang::Fr.s().log_in);
        assert_eq!(Lang::Fr.s().approve, "Approuver");
    }
}

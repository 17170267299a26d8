//! The text of the case evidence, the liveness checks in plain words and the configuration
//! confirmation, in English and French: one table per language, so a missing translation is a
//! compile error.

use super::strings::Lang;

/// One language's text for the evidence screens.
#[derive(Debug)]
pub struct EvidenceText {
    /// Heading of the document images.
    pub images: &'static str,
    /// Caption: the document's front.
    pub front: &'static str,
    /// Caption: the document's back.
    pub back: &'static str,
    /// Caption: the portrait cropped from the document.
    pub portrait: &'static str,
    /// Caption: the selfie.
    pub selfie: &'static str,
    /// No image stored.
    pub no_image: &'static str,
    /// Heading: the claim and who ran the case.
    pub case: &'static str,
    /// Label: the operator.
    pub operator: &'static str,
    /// Label: the kiosk.
    pub kiosk: &'static str,
    /// Label: the claimed ID.
    pub claimed: &'static str,
    /// Label: the suggested decision.
    pub suggested: &'static str,
    /// Label: the decision on record now.
    pub current: &'static str,
    /// Heading: the reasons.
    pub reasons: &'static str,
    /// Heading: the document.
    pub document: &'static str,
    /// Label: the document type.
    pub document_type: &'static str,
    /// Label: the card layout.
    pub layout: &'static str,
    /// No document text was read.
    pub not_read: &'static str,
    /// Column: field.
    pub field: &'static str,
    /// Column: value.
    pub value: &'static str,
    /// Column: source.
    pub source: &'static str,
    /// Column: confidence.
    pub confidence: &'static str,
    /// Column: correction or mismatch.
    pub remark: &'static str,
    /// Source: the machine-readable zone.
    pub src_mrz: &'static str,
    /// Source: the printed (visual) zone.
    pub src_printed: &'static str,
    /// Source: a barcode.
    pub src_barcode: &'static str,
    /// Source: entered by the agent or the customer.
    pub src_entered: &'static str,
    /// A correction: "corrected by".
    pub corrected_by: &'static str,
    /// Read before the correction.
    pub was_read: &'static str,
    /// The printed zone disagrees with the MRZ.
    pub mismatch_printed: &'static str,
    /// The claimed number disagrees with the number read.
    pub mismatch_claimed: &'static str,
    /// Heading: the MRZ.
    pub mrz: &'static str,
    /// Every check digit passes.
    pub mrz_valid: &'static str,
    /// A check digit fails.
    pub mrz_invalid: &'static str,
    /// Check digit column: expected digit.
    pub expected: &'static str,
    /// Check digit column: printed digit.
    pub found: &'static str,
    /// Pass.
    pub pass: &'static str,
    /// Fail.
    pub fail: &'static str,
    /// MRZ characters repaired.
    pub repairs: &'static str,
    /// Heading: flags to look at.
    pub flags: &'static str,
    /// No flag raised.
    pub no_flags: &'static str,
    /// Heading: barcodes.
    pub barcodes: &'static str,
    /// Heading: face match.
    pub face_match: &'static str,
    /// Label: match level.
    pub level: &'static str,
    /// Label: the minimum level.
    pub minimum: &'static str,
    /// Label: cosine.
    pub cosine: &'static str,
    /// A level's meaning: "about 1 impostor in".
    pub level_meaning: &'static str,
    /// Below level 1.
    pub below_level_one: &'static str,
    /// Match not computed.
    pub not_computed: &'static str,
    /// Heading: liveness.
    pub liveness: &'static str,
    /// Capture source label.
    pub capture_source: &'static str,
    /// Source: a live challenge.
    pub live_challenge: &'static str,
    /// Source: a still image (never approved).
    pub still_image: &'static str,
    /// Live.
    pub live: &'static str,
    /// Not live.
    pub not_live: &'static str,
    /// Label: passive score.
    pub passive: &'static str,
    /// Heading: the challenge steps.
    pub steps: &'static str,
    /// Heading: the checks over the whole challenge.
    pub checks: &'static str,
    /// No challenge: passive check alone.
    pub no_challenge: &'static str,
    /// Challenges failed before this one.
    pub failed_before: &'static str,
    /// The selfie is the document's own picture.
    pub same_picture: &'static str,
    /// Step status words.
    pub step_passed: &'static str,
    /// Step failed.
    pub step_failed: &'static str,
    /// Step not reached.
    pub step_not_reached: &'static str,
    /// Step in progress.
    pub step_in_progress: &'static str,
    /// Label: the measured value against its limit.
    pub limit: &'static str,
    /// Heading: earlier attempts for the same claim.
    pub attempts: &'static str,
    /// No earlier attempt.
    pub no_attempts: &'static str,
    /// Heading: duplicate candidates.
    pub duplicates: &'static str,
    /// No duplicate candidate.
    pub no_duplicates: &'static str,
    /// Duplicate kind: the same face under another ID number.
    pub same_face_other_id: &'static str,
    /// Duplicate kind: the same ID number with another face.
    pub same_id_other_face: &'static str,
    /// Duplicate kind: a similar face (same ID number).
    pub similar_face: &'static str,
    /// Label: score.
    pub score: &'static str,
    /// Heading: this case (beside a candidate).
    pub this_case: &'static str,
    /// Heading: consent.
    pub consent: &'static str,
    /// Consent given.
    pub consent_given: &'static str,
    /// Consent refused.
    pub consent_refused: &'static str,
    /// No consent step.
    pub consent_none: &'static str,
    /// Heading: supervisor actions.
    pub actions: &'static str,
    /// Heading: what the customer is told after the challenge.
    pub your_checks: &'static str,
    /// Configuration confirmation heading.
    pub config_title: &'static str,
    /// Why the kiosk does not run.
    pub config_explain: &'static str,
    /// Column: key.
    pub config_key: &'static str,
    /// Column: value in force.
    pub config_value: &'static str,
    /// Column: safe range.
    pub config_safe: &'static str,
    /// Label: the configuration's hash.
    pub config_hash: &'static str,
    /// Only an administrator may confirm.
    pub config_admin_only: &'static str,
    /// Administrator's username.
    pub config_username: &'static str,
    /// Administrator's password (entered again).
    pub config_password: &'static str,
    /// The confirm button.
    pub config_confirm: &'static str,
    /// Confirmed: the kiosk now runs with it.
    pub config_confirmed: &'static str,
    /// Inside the safe range.
    pub config_safe_now: &'static str,
    /// Confirmed earlier by.
    pub config_confirmed_by: &'static str,
}

/// English.
pub static EN: EvidenceText = EvidenceText {
    images: "Document and selfie",
    front: "Document front",
    back: "Document back",
    portrait: "Document portrait",
    selfie: "Selfie",
    no_image: "(no image stored)",
    case: "Case",
    operator: "Agent",
    kiosk: "Kiosk",
    claimed: "Claimed ID",
    suggested: "Suggested by the checks",
    current: "Decision now",
    reasons: "Reasons",
    document: "Document",
    document_type: "Document type",
    layout: "Layout",
    not_read: "No document text was read",
    field: "Field",
    value: "Value",
    source: "Source",
    confidence: "Confidence",
    remark: "Correction / mismatch",
    src_mrz: "MRZ",
    src_printed: "printed zone",
    src_barcode: "barcode",
    src_entered: "entered",
    corrected_by: "corrected by",
    was_read: "read",
    mismatch_printed: "printed zone differs from the MRZ",
    mismatch_claimed: "differs from the number entered",
    mrz: "Machine-readable zone",
    mrz_valid: "every check digit passes",
    mrz_invalid: "check digits fail",
    expected: "expected",
    found: "printed",
    pass: "pass",
    fail: "FAIL",
    repairs: "characters repaired",
    flags: "Flags",
    no_flags: "No flag raised",
    barcodes: "Barcodes",
    face_match: "Face match",
    level: "Level",
    minimum: "required",
    cosine: "cosine",
    level_meaning: "about one impostor in",
    below_level_one: "below level 1: no match",
    not_computed: "not computed",
    liveness: "Liveness",
    capture_source: "Capture",
    live_challenge: "live camera with a challenge",
    still_image: "still image (never approved)",
    live: "live",
    not_live: "NOT live",
    passive: "passive score",
    steps: "Challenge steps",
    checks: "Checks over the whole challenge",
    no_challenge: "No challenge: the passive check alone",
    failed_before: "challenges failed before this one",
    same_picture: "The selfie is the document's own picture",
    step_passed: "done",
    step_failed: "FAILED",
    step_not_reached: "not reached",
    step_in_progress: "in progress",
    limit: "limit",
    attempts: "Earlier attempts for the same claim",
    no_attempts: "None: first attempt",
    duplicates: "Duplicate candidates",
    no_duplicates: "None found",
    same_face_other_id: "same face, other ID number",
    same_id_other_face: "same ID number, other face",
    similar_face: "similar face",
    score: "score",
    this_case: "This case",
    consent: "Consent",
    consent_given: "given",
    consent_refused: "refused",
    consent_none: "no consent step (command line)",
    actions: "Supervisor actions",
    your_checks: "What the camera checked",
    config_title: "Configuration needs an administrator's confirmation",
    config_explain: "The configuration in force lets more cases through than the shipped values. \
                     The kiosk does not verify anyone until an administrator confirms exactly \
                     this configuration (recorded in the audit trail).",
    config_key: "Setting",
    config_value: "In force",
    config_safe: "Safe range",
    config_hash: "Configuration sha256",
    config_admin_only: "Only an administrator can confirm: agents and supervisors are refused.",
    config_username: "Administrator",
    config_password: "Administrator password",
    config_confirm: "Confirm this configuration",
    config_confirmed: "Confirmed and recorded: the kiosk runs with this configuration",
    config_safe_now: "Every setting is inside its safe range: nothing to confirm",
    config_confirmed_by: "Outside the safe range, confirmed by",
};

/// French.
pub static FR: EvidenceText = EvidenceText {
    images: "Document et selfie",
    front: "Recto de la pièce",
    back: "Verso de la pièce",
    portrait: "Photo de la pièce",
    selfie: "Selfie",
    no_image: "(aucune image conservée)",
    case: "Dossier",
    operator: "Agent",
    kiosk: "Borne",
    claimed: "Pièce déclarée",
    suggested: "Proposé par les contrôles",
    current: "Décision actuelle",
    reasons: "Motifs",
    document: "Document",
    document_type: "Type de document",
    layout: "Modèle",
    not_read: "Aucun texte du document n'a été lu",
    field: "Champ",
    value: "Valeur",
    source: "Source",
    confidence: "Confiance",
    remark: "Correction / écart",
    src_mrz: "BLA (MRZ)",
    src_printed: "zone imprimée",
    src_barcode: "code-barres",
    src_entered: "saisi",
    corrected_by: "corrigé par",
    was_read: "lu",
    mismatch_printed: "la zone imprimée diffère de la MRZ",
    mismatch_claimed: "diffère du numéro saisi",
    mrz: "Bande de lecture automatique",
    mrz_valid: "tous les chiffres de contrôle sont justes",
    mrz_invalid: "chiffres de contrôle faux",
    expected: "attendu",
    found: "imprimé",
    pass: "juste",
    fail: "FAUX",
    repairs: "caractères réparés",
    flags: "Alertes",
    no_flags: "Aucune alerte",
    barcodes: "Codes-barres",
    face_match: "Comparaison faciale",
    level: "Niveau",
    minimum: "requis",
    cosine: "cosinus",
    level_meaning: "environ un imposteur sur",
    below_level_one: "sous le niveau 1 : pas de correspondance",
    not_computed: "non calculée",
    liveness: "Vivacité",
    capture_source: "Capture",
    live_challenge: "caméra en direct avec un défi",
    still_image: "image fixe (jamais approuvée)",
    live: "vivant",
    not_live: "NON vivant",
    passive: "score passif",
    steps: "Étapes du défi",
    checks: "Contrôles sur tout le défi",
    no_challenge: "Pas de défi : le contrôle passif seul",
    failed_before: "défis échoués avant celui-ci",
    same_picture: "Le selfie est la photo même du document",
    step_passed: "fait",
    step_failed: "ÉCHEC",
    step_not_reached: "non atteinte",
    step_in_progress: "en cours",
    limit: "limite",
    attempts: "Tentatives précédentes pour la même pièce",
    no_attempts: "Aucune : première tentative",
    duplicates: "Doublons possibles",
    no_duplicates: "Aucun",
    same_face_other_id: "même visage, autre numéro",
    same_id_other_face: "même numéro, autre visage",
    similar_face: "visage semblable",
    score: "score",
    this_case: "Ce dossier",
    consent: "Consentement",
    consent_given: "donné",
    consent_refused: "refusé",
    consent_none: "pas d'étape de consentement (ligne de commande)",
    actions: "Actions du superviseur",
    your_checks: "Ce que la caméra a vérifié",
    config_title: "La configuration doit être confirmée par un administrateur",
    config_explain: "La configuration en vigueur laisse passer plus de dossiers que les valeurs \
                     livrées. La borne ne vérifie personne tant qu'un administrateur n'a pas \
                     confirmé exactement cette configuration (inscrit au journal d'audit).",
    config_key: "Paramètre",
    config_value: "En vigueur",
    config_safe: "Plage sûre",
    config_hash: "sha256 de la configuration",
    config_admin_only: "Seul un administrateur peut confirmer : agents et superviseurs sont refusés.",
    config_username: "Administrateur",
    config_password: "Mot de passe de l'administrateur",
    config_confirm: "Confirmer cette configuration",
    config_confirmed: "Confirmée et inscrite : la borne fonctionne avec cette configuration",
    config_safe_now: "Chaque paramètre est dans sa plage sûre : rien à confirmer",
    config_confirmed_by: "Hors de la plage sûre, confirmée par",
};

/// The table for `lang`.
#[must_use]
pub fn text(lang: Lang) -> &'static EvidenceText {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// A whole-challenge check in plain words: its name for the agent, and what the customer is
/// told when it passed and when it failed. Unknown checks keep their name.
#[must_use]
pub fn check_words(lang: Lang, check: &str) -> (&'static str, &'static str, &'static str) {
    match (lang, check) {
        (Lang::En, "passive") => (
            "Passive anti-spoofing",
            "Real skin and light were seen",
            "The picture looked like a photo or a screen",
        ),
        (Lang::En, "movementOrder") => (
            "Movements asked, in order",
            "You made the moves asked, in order",
            "A move was not the one asked for",
        ),
        (Lang::En, "temporal") => (
            "Temporal: frame-to-frame change",
            "The camera saw you moving",
            "The camera picture did not change",
        ),
        (Lang::En, "frameRate") => (
            "Frame rate measured",
            "The camera ran smoothly",
            "The camera was too slow",
        ),
        (Lang::En, "planarMotion") => (
            "3D consistency (parallax of the face mesh)",
            "Your head turned in depth",
            "The head moved like a flat picture",
        ),
        (Lang::En, "outlineMotion") => (
            "Head outline motion",
            "Your head's outline moved with you",
            "The outline of the head did not move with the face",
        ),
        (Lang::En, "staticBackground") => (
            "Static background",
            "The background stayed still",
            "The whole picture moved",
        ),
        (Lang::Fr, "passive") => (
            "Anti-fraude passif",
            "Peau et lumière réelles détectées",
            "L'image ressemblait à une photo ou à un écran",
        ),
        (Lang::Fr, "movementOrder") => (
            "Mouvements demandés, dans l'ordre",
            "Vous avez fait les mouvements demandés, dans l'ordre",
            "Un mouvement n'était pas celui demandé",
        ),
        (Lang::Fr, "temporal") => (
            "Temporel : changement d'une image à l'autre",
            "La caméra vous a vu bouger",
            "L'image de la caméra ne changeait pas",
        ),
        (Lang::Fr, "frameRate") => (
            "Cadence d'images mesurée",
            "La caméra fonctionnait bien",
            "La caméra était trop lente",
        ),
        (Lang::Fr, "planarMotion") => (
            "Cohérence 3D (parallaxe du maillage du visage)",
            "Votre tête a tourné en profondeur",
            "La tête bougeait comme une image plate",
        ),
        (Lang::Fr, "outlineMotion") => (
            "Mouvement du contour de la tête",
            "Le contour de votre tête a suivi le mouvement",
            "Le contour de la tête n'a pas suivi le visage",
        ),
        (Lang::Fr, "staticBackground") => (
            "Arrière-plan immobile",
            "L'arrière-plan est resté immobile",
            "Toute l'image a bougé",
        ),
        (Lang::En, _) => ("Other check", "Check passed", "Check failed"),
        (Lang::Fr, _) => ("Autre contrôle", "Contrôle réussi", "Contrôle échoué"),
    }
}

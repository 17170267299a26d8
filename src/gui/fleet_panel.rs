//! The window's side of the fleet: the background sync cycle (push, pull central decisions and
//! the fleet policy) on its own thread with what it last did, the status line it feeds, and the
//! central duplicate findings of a record (flags the centre raised at sync, the online check
//! right after recording) in plain words, English and French.
//!
//! Offline is normal for a kiosk: a failed cycle is shown as "offline since …" and retried at
//! the next tick, never as an error dialog; the last fleet policy received stays in force.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eframe::egui::{self, RichText};
use kyc_core::audit::{AuditConfig, AuditError, AuditStore};
use kyc_core::fleet::client::BackgroundSync;
use kyc_core::fleet::dedup::{self, CentralCheck, DuplicateCandidate, DuplicateFlag};
use kyc_core::fleet::{CycleReport, FleetConfig, FleetError, SyncOptions};

use super::strings::Lang;

/// What the last sync cycles did, as the window shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetStatus {
    /// When the last cycle succeeded (ms since the epoch).
    pub last_ok_ms: Option<i64>,
    /// When the centre stopped answering (`None`: the last cycle reached it).
    pub offline_since_ms: Option<i64>,
    /// The centre refuses this kiosk (quarantine): why.
    pub quarantined: Option<String>,
    /// Another failure (refused, bad answer, local store): the message.
    pub error: Option<String>,
    /// The fleet policy version the kiosk holds after the last pull.
    pub policy_version: Option<i64>,
    /// Central decisions applied since the window opened.
    pub decisions_applied: u64,
    /// Cycles whose pull changed the local store (a decision, a policy): the window asks the
    /// worker to take them in when this grows.
    pub pulls: u64,
}

impl FleetStatus {
    /// Fold one cycle's outcome in at `now_ms`.
    pub fn observe(&mut self, r: &Result<CycleReport, FleetError>, now_ms: i64) {
        match r {
            Ok(rep) => {
                self.last_ok_ms = Some(now_ms);
                self.offline_since_ms = None;
                self.quarantined = None;
                self.error = None;
                self.policy_version = rep.inbox.policy_version;
                self.decisions_applied += rep.inbox.applied;
                if rep.pulled_anything() {
                    self.pulls += 1;
                }
            }
            Err(FleetError::Unreachable(_)) => {
                self.offline_since_ms.get_or_insert(now_ms);
                self.error = None;
            }
            Err(FleetError::Quarantined(why)) => {
                self.quarantined = Some(why.clone());
                self.offline_since_ms = None;
            }
            Err(e) => {
                self.offline_since_ms = None;
                self.error = Some(e.to_string());
            }
        }
    }

    /// The status line, e.g. "Fleet: synced 2026-12-03 14:02 UTC · policy version 3".
    #[must_use]
    pub fn line(&self, lang: Lang) -> String {
        let t = words(lang);
        let mut out = String::from(t.fleet);
        if let Some(why) = &self.quarantined {
            out.push_str(&format!("{} ({why})", t.quarantined));
        } else if let Some(ms) = self.offline_since_ms {
            out.push_str(&format!(
                "{} {}",
                t.offline_since,
                super::receipt::utc_text(ms)
            ));
        } else if let Some(e) = &self.error {
            out.push_str(&format!("{} ({e})", t.sync_failed));
        } else if let Some(ms) = self.last_ok_ms {
            out.push_str(&format!("{} {}", t.synced, super::receipt::utc_text(ms)));
        } else {
            out.push_str(t.not_synced_yet);
        }
        match self.policy_version {
            Some(v) => out.push_str(&format!(" · {} {v}", t.policy_version)),
            None => out.push_str(&format!(" · {}", t.no_policy)),
        }
        if self.decisions_applied > 0 {
            out.push_str(&format!(
                " · {} {}",
                t.decisions_applied, self.decisions_applied
            ));
        }
        out
    }
}

/// The fleet part of the window's state.
#[derive(Debug, Default)]
pub struct FleetState {
    /// What the background sync did (`None`: the kiosk is not in a fleet).
    pub status: Option<FleetStatus>,
    /// Central findings of the records shown, by record id.
    pub findings: std::collections::HashMap<i64, Findings>,
    /// A configuration the worker put in force after a pulled fleet policy, for the window
    /// to take (the challenge rules, the System tab).
    pub config_in_force: Option<Box<kyc_core::Config>>,
    /// The pulled policy could not be put in force (the last one stays): why.
    pub policy_error: Option<String>,
}

/// The window's background sync: the thread and what it last did.
pub struct FleetLink {
    status: Arc<Mutex<FleetStatus>>,
    _sync: BackgroundSync,
}

impl std::fmt::Debug for FleetLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetLink").finish_non_exhaustive()
    }
}

impl FleetLink {
    /// Start the cycle every `every` when the store at `audit` is enrolled (`None`: it is not,
    /// or the thread could not start, which is logged).
    #[must_use]
    pub fn start(audit: &AuditConfig, every: Duration) -> Option<Self> {
        let path = FleetConfig::path_for(&audit.db_path);
        if !path.exists() {
            return None;
        }
        let status = Arc::new(Mutex::new(FleetStatus::default()));
        let seen = Arc::clone(&status);
        let opts = SyncOptions {
            timeout: Duration::from_secs(20),
            ..SyncOptions::default()
        };
        let spawned = BackgroundSync::spawn(audit.clone(), path, every, opts, move |r| {
            if let Ok(mut s) = seen.lock() {
                s.observe(r, kyc_core::record::now_ms());
            }
        });
        match spawned {
            Ok(sync) => Some(FleetLink {
                status,
                _sync: sync,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "fleet: background sync not started");
                None
            }
        }
    }

    /// What the cycles did so far.
    #[must_use]
    pub fn status(&self) -> FleetStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// What the centre said about one record: its duplicate flags and the newest online check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The kiosk is enrolled in a fleet (else nothing is shown).
    pub enrolled: bool,
    /// Flags raised centrally, oldest first.
    pub flags: Vec<DuplicateFlag>,
    /// The online check right after recording (`None`: none was made).
    pub check: Option<CentralCheck>,
}

/// The findings of record `id` as chained in `store`.
///
/// # Errors
/// The store's.
pub fn findings(store: &AuditStore, id: i64) -> Result<Findings, AuditError> {
    let (flags, checks) = dedup::central_findings(store, id)?;
    Ok(Findings {
        enrolled: FleetConfig::path_for(store.db_path()).exists(),
        flags,
        check: checks.into_iter().last(),
    })
}

/// Where the fleet file of the store at `db` is, when the store is enrolled.
#[must_use]
pub fn fleet_file(db: &std::path::Path) -> Option<PathBuf> {
    Some(FleetConfig::path_for(db)).filter(|p| p.exists())
}

fn candidate_line(t: &Words, c: &DuplicateCandidate) -> String {
    let mut s = format!(
        "{} #{} {} {} ({} {:.3})",
        t.record, c.record_id, t.of_kiosk, c.kiosk_id, t.similarity, c.score
    );
    if c.same_id_number {
        s.push_str(&format!(", {}", t.same_id_number));
    }
    s
}

/// The findings in plain words, one line each: the online check's outcome first, then each
/// flag and its matching records.
#[must_use]
pub fn lines(f: &Findings, lang: Lang) -> Vec<String> {
    let t = words(lang);
    let mut out = Vec::new();
    if !f.enrolled && f.flags.is_empty() && f.check.is_none() {
        return out;
    }
    match &f.check {
        Some(CentralCheck::Checked { candidates, .. }) if candidates.is_empty() => {
            out.push(t.checked_none.to_string());
        }
        Some(CentralCheck::Checked { candidates, .. }) => {
            out.push(format!("{} {}", t.checked_found, candidates.len()));
            out.extend(
                candidates
                    .iter()
                    .map(|c| format!("  {}", candidate_line(t, c))),
            );
        }
        Some(CentralCheck::NotChecked { .. }) => out.push(t.not_checked.to_string()),
        None => out.push(t.not_checked_yet.to_string()),
    }
    for flag in &f.flags {
        out.push(format!(
            "{} ({})",
            t.flag_raised,
            super::receipt::utc_text(flag.raised_ms)
        ));
        out.extend(
            flag.candidates
                .iter()
                .map(|c| format!("  {}", candidate_line(t, c))),
        );
    }
    out
}

/// Draw the findings (nothing when the kiosk is not in a fleet and the centre said nothing).
pub fn draw(ui: &mut egui::Ui, lang: Lang, f: &Findings) {
    let lines = lines(f, lang);
    if lines.is_empty() {
        return;
    }
    let t = words(lang);
    ui.label(RichText::new(t.heading).strong());
    let warn = !f.flags.is_empty()
        || matches!(&f.check, Some(CentralCheck::Checked { candidates, .. }) if !candidates.is_empty());
    for l in lines {
        if warn {
            ui.label(RichText::new(l).color(egui::Color32::from_rgb(200, 120, 0)));
        } else {
            ui.label(l);
        }
    }
}

/// The fleet's words in one language.
pub struct Words {
    fleet: &'static str,
    synced: &'static str,
    not_synced_yet: &'static str,
    offline_since: &'static str,
    quarantined: &'static str,
    sync_failed: &'static str,
    policy_version: &'static str,
    no_policy: &'static str,
    decisions_applied: &'static str,
    /// The heading above a record's central findings.
    pub heading: &'static str,
    /// The online check found no match.
    pub checked_none: &'static str,
    /// The online check found this many matches.
    pub checked_found: &'static str,
    /// The online check could not be made.
    pub not_checked: &'static str,
    not_checked_yet: &'static str,
    /// A flag the centre raised at sync.
    pub flag_raised: &'static str,
    record: &'static str,
    of_kiosk: &'static str,
    similarity: &'static str,
    same_id_number: &'static str,
}

/// English.
pub const EN: Words = Words {
    fleet: "Fleet: ",
    synced: "synced",
    not_synced_yet: "not synced yet",
    offline_since: "offline since",
    quarantined: "this kiosk is quarantined by the central service",
    sync_failed: "sync failed",
    policy_version: "fleet policy version",
    no_policy: "no fleet policy",
    decisions_applied: "central decisions applied:",
    heading: "Fleet-wide duplicate check",
    checked_none: "Checked centrally: no matching face at another kiosk.",
    checked_found: "Checked centrally: matching faces found:",
    not_checked: "Not checked centrally (offline).",
    not_checked_yet: "Not checked centrally yet.",
    flag_raised: "Flagged by the central service as a possible duplicate",
    record: "record",
    of_kiosk: "at kiosk",
    similarity: "similarity",
    same_id_number: "same ID number",
};

/// French.
pub const FR: Words = Words {
    fleet: "Réseau : ",
    synced: "synchronisé le",
    not_synced_yet: "pas encore synchronisé",
    offline_since: "hors ligne depuis le",
    quarantined: "ce kiosque est mis en quarantaine par le service central",
    sync_failed: "échec de la synchronisation",
    policy_version: "règles du réseau, version",
    no_policy: "aucune règle du réseau",
    decisions_applied: "décisions centrales appliquées :",
    heading: "Contrôle des doublons sur tout le réseau",
    checked_none: "Vérifié centralement : aucun visage identique dans un autre kiosque.",
    checked_found: "Vérifié centralement : visages identiques trouvés :",
    not_checked: "Non vérifié centralement (hors ligne).",
    not_checked_yet: "Pas encore vérifié centralement.",
    flag_raised: "Signalé par le service central comme doublon possible",
    record: "dossier",
    of_kiosk: "du kiosque",
    similarity: "similarité",
    same_id_number: "même numéro de pièce",
};

/// The words for `lang`.
#[must_use]
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag() -> DuplicateFlag {
        DuplicateFlag {
            flag_id: 7,
            record_id: 3,
            raised_ms: 1_764_770_400_000,
            candidates: vec![DuplicateCandidate {
                kiosk_id: "branch-07".into(),
                record_id: 42,
                score: 0.91,
                same_id_number: false,
            }],
        }
    }

    #[test]
    fn findings_read_in_plain_words_in_both_languages() {
        let f = Findings {
            enrolled: true,
            flags: vec![flag()],
            check: Some(CentralCheck::NotChecked {
                reason: "not checked centrally: unreachable".into(),
            }),
        };
        let en = lines(&f, Lang::En);
        assert_eq!(en[0], EN.not_checked);
        assert!(en[1].starts_with(EN.flag_raised), "{en:?}");
        assert_eq!(en[2], "  record #42 at kiosk branch-07 (similarity 0.910)");
        let fr = lines(&f, Lang::Fr);
        assert_eq!(fr[0], FR.not_checked);
        assert_eq!(
            fr[2],
            "  dossier #42 du kiosque branch-07 (similarité 0.910)"
        );
        let checked = Findings {
            enrolled: true,
            flags: Vec::new(),
            check: Some(CentralCheck::Checked {
                indexed: 10,
                candidates: Vec::new(),
            }),
        };
        assert_eq!(lines(&checked, Lang::En), vec![EN.checked_none.to_string()]);
        // A kiosk outside any fleet shows nothing.
        assert!(lines(&Findings::default(), Lang::En).is_empty());
    }

    #[test]
    fn the_status_line_says_offline_since_and_keeps_the_policy() {
        let mut s = FleetStatus::default();
        let ok = CycleReport {
            inbox: kyc_core::fleet::supervisor::PullReport {
                applied: 1,
                policy_version: Some(3),
                policy_applied: true,
                ..Default::default()
            },
            ..Default::default()
        };
        s.observe(&Ok(ok), 1_764_770_400_000);
        assert_eq!(s.pulls, 1);
        assert_eq!(
            s.line(Lang::En),
            "Fleet: synced 2025-12-03 14:00 UTC · fleet policy version 3 · central decisions applied: 1"
        );
        s.observe(
            &Err(FleetError::Unreachable("refused".into())),
            1_764_770_460_000,
        );
        s.observe(
            &Err(FleetError::Unreachable("refused".into())),
            1_764_770_520_000,
        );
        assert_eq!(s.offline_since_ms, Some(1_764_770_460_000));
        assert!(
            s.line(Lang::En)
                .starts_with("Fleet: offline since 2025-12-03 14:01 UTC · fleet policy version 3"),
            "{}",
            s.line(Lang::En)
        );
        assert!(
            s.line(Lang::Fr)
                .starts_with("Réseau : hors ligne depuis le")
        );
        assert_eq!(s.pulls, 1);
    }
}

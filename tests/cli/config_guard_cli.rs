//! Protected configuration, as an attacker with the kiosk's files would try it: a lax
//! `config.toml` (a match threshold low enough to match another person's selfie, the duplicate
//! search off, a lower approval threshold) is refused at start; an administrator's chained
//! confirmation of exactly that configuration lets it run, and the chain says who confirmed;
//! any later edit needs a new confirmation; an agent cannot confirm, a hand-written
//! confirmation row confirms nothing, and a command-line flag cannot loosen the policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kyc_core::audit::{AuditConfig, AuditStore, Role};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "admin-pass-1";
const AGENT_PASSWORD: &str = "agent-pass-1";

/// Levels 2–5 as measured; level 1 relabelled down to a cosine impostors reach.
const LAX: &str = "[matching]\nminimumLevel = 1\n\
[[matching.levels]]\nlevel = 1\ncosine = 0.05\nfalseMatchRate = 0.01\n\
[[matching.levels]]\nlevel = 2\ncosine = 0.43\nfalseMatchRate = 0.001\n\
[[matching.levels]]\nlevel = 3\ncosine = 0.5\nfalseMatchRate = 0.0001\n\
[[matching.levels]]\nlevel = 4\ncosine = 0.55\nfalseMatchRate = 0.00001\n\
[[matching.levels]]\nlevel = 5\ncosine = 0.6\nfalseMatchRate = 0.000001\n\
[decision]\napproveAt = 20.0\nrejectMatchBelow = 0.0\n\
[duplicates]\nsearch = false\n";

struct Kiosk {
    dir: tempfile::TempDir,
}

impl Kiosk {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let k = Kiosk { dir };
        let mut store = AuditStore::open(AuditConfig::at(k.db()).with_fast_hashing()).unwrap();
        store.create_first_admin("root", ADMIN_PASSWORD).unwrap();
        let root = store.login("root", ADMIN_PASSWORD).unwrap();
        store
            .create_user(&root, "ama", AGENT_PASSWORD, Role::Agent)
            .unwrap();
        store.logout(root).unwrap();
        k
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("audit.sqlite3")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn run(&self, args: &[&str], password: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("KYC_KIOSK_PASSWORD", password)
            .env(
                "KYC_KIOSK_SETTINGS",
                self.dir.path().join("kiosk-settings.toml"),
            )
            .env_remove("KYC_KIOSK_MODELS")
            .env_remove("KYC_KIOSK_CONFIG")
            .output()
            .unwrap()
    }

    /// `verify --record` of obama.jpg (document) against biden.jpg (another person's selfie).
    fn verify_other_person(&self, extra: &[&str]) -> Output {
        let (doc, selfie, db) = (data("obama.jpg"), data("biden.jpg"), self.db());
        let mut args = vec![
            "verify",
            "--document",
            s(&doc),
            "--selfie",
            s(&selfie),
            "--json",
            "--record",
            "--db",
            s(&db),
            "--operator",
            "ama",
        ];
        args.extend_from_slice(extra);
        self.run(&args, AGENT_PASSWORD)
    }

    fn confirm(&self, who: &str, password: &str) -> Output {
        let db = self.db();
        self.run(
            &["audit", "confirm-config", "--db", s(&db), "--operator", who],
            password,
        )
    }

    /// (actor, payload) of every event of `kind`, oldest first.
    fn events(&self, kind: &str) -> Vec<(String, Value)> {
        let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(
            self.db(),
        ))
        .unwrap();
        let mut q = conn
            .prepare("SELECT actor, payload FROM events WHERE kind = ?1 ORDER BY seq")
            .unwrap();
        q.query_map([kind], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| {
                let (a, p) = r.unwrap();
                (a, serde_json::from_str(&p).unwrap())
            })
            .collect()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_lax_configuration_runs_only_once_an_administrator_confirmed_exactly_it() {
    let k = Kiosk::new();
    std::fs::write(k.config(), "").unwrap();
    // The shipped values: another person's selfie does not match.
    let safe = k.verify_other_person(&[]);
    assert_eq!(safe.status.code(), Some(0), "{}", text(&safe));
    let v: Value = serde_json::from_slice(&safe.stdout).unwrap();
    assert_eq!(v["faceMatch"]["isMatch"], false, "{v}");

    // The lax file is refused at start: exit 4, each unsafe key named with its range, nothing
    // recorded with it.
    std::fs::write(k.config(), LAX).unwrap();
    let records_before = k.events("verification_recorded").len();
    let refused = k.verify_other_person(&[]);
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused));
    let t = text(&refused);
    for key in [
        "matching.minimumLevel = 1 (safe: ≥ 3",
        "matching.thresholdCosine = 0.05",
        "decision.approveAt = 20 (safe: ≥ 70",
        "duplicates.search = false (safe: true",
        "matching.levels[1].cosine",
        "confirm-config",
    ] {
        assert!(t.contains(key), "{key} missing from: {t}");
    }
    assert_eq!(k.events("verification_recorded").len(), records_before);
    // Unrecorded runs are refused too (no store to hold a confirmation).
    let (doc, selfie) = (data("obama.jpg"), data("biden.jpg"));
    let unrecorded = k.run(
        &[
            "verify",
            "--document",
            s(&doc),
            "--selfie",
            s(&selfie),
            "--json",
        ],
        "",
    );
    assert_eq!(unrecorded.status.code(), Some(4), "{}", text(&unrecorded));
    assert!(
        text(&unrecorded).contains("unsafe_config"),
        "{}",
        text(&unrecorded)
    );

    // An agent cannot confirm it (exit 8), and nothing is chained.
    let by_agent = k.confirm("ama", AGENT_PASSWORD);
    assert_eq!(by_agent.status.code(), Some(8), "{}", text(&by_agent));
    assert!(k.events("config_override_confirmed").is_empty());

    // A confirmation row written by hand (no chain key) confirms nothing.
    let hash = {
        let shown = k.confirm("nobody", "wrong");
        let t = text(&shown);
        let line = t
            .lines()
            .find(|l| l.starts_with("configuration sha256 "))
            .unwrap();
        line.trim_start_matches("configuration sha256 ").to_string()
    };
    {
        let conn =
            kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(k.db()))
                .unwrap();
        let (seq, head): (i64, Vec<u8>) = conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let payload = serde_json::json!({ "configHash": hash, "role": "admin" }).to_string();
        conn.execute(
            "INSERT INTO events (seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash)
             VALUES (?1, 0, 'config_override_confirmed', 'root', NULL, ?2, ?3, ?4)",
            rusqlite::params![seq + 1, payload, head, vec![0u8; 32]],
        )
        .unwrap();
    }
    let forged = k.verify_other_person(&[]);
    assert_eq!(forged.status.code(), Some(4), "{}", text(&forged));
    {
        let conn =
            kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(k.db()))
                .unwrap();
        conn.execute(
            "DELETE FROM events WHERE kind = 'config_override_confirmed'",
            [],
        )
        .unwrap();
    }

    // The administrator sees what is unsafe and confirms: chained with who and the hash.
    let confirmed = k.confirm("root", ADMIN_PASSWORD);
    assert_eq!(confirmed.status.code(), Some(0), "{}", text(&confirmed));
    let t = text(&confirmed);
    assert!(
        t.contains("decision.approveAt = 20") && t.contains("confirmed by root"),
        "{t}"
    );
    let confirmations = k.events("config_override_confirmed");
    assert_eq!(confirmations.len(), 1);
    assert_eq!(confirmations[0].0, "root");
    assert_eq!(confirmations[0].1["configHash"], hash.as_str());
    assert_eq!(
        confirmations[0].1["details"]["config"]["duplicates"]["search"],
        false
    );

    // Now it runs: another person's selfie matches at the relabelled level 1 — what the
    // confirmation accepted — and the settings chained at start say who confirmed it.
    let runs = k.verify_other_person(&[]);
    assert_eq!(runs.status.code(), Some(0), "{}", text(&runs));
    let v: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(v["faceMatch"]["isMatch"], true, "{v}");
    assert_eq!(v["faceMatch"]["minimumMatchLevel"], 1);
    let started = k.events("settings_in_force");
    let last = &started.last().unwrap().1;
    assert_eq!(last["configHash"], hash.as_str());
    assert_eq!(last["confirmedBy"]["by"], "root");
    assert_eq!(last["config"]["decision"]["approveAt"], 20.0);
    let keys: Vec<&str> = last["unsafe"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"duplicates.search"), "{keys:?}");

    // Any edit after the confirmation changes the hash: refused again until confirmed again.
    std::fs::write(
        k.config(),
        LAX.replace("approveAt = 20.0", "approveAt = 21.0"),
    )
    .unwrap();
    let edited = k.verify_other_person(&[]);
    assert_eq!(edited.status.code(), Some(4), "{}", text(&edited));
    assert!(!text(&edited).contains(&hash), "{}", text(&edited));
    let again = k.confirm("root", ADMIN_PASSWORD);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let runs = k.verify_other_person(&[]);
    assert_eq!(runs.status.code(), Some(0), "{}", text(&runs));

    // A flag may tighten the confirmed policy, never loosen it.
    let tighter = k.verify_other_person(&["--minimum-match-level", "3"]);
    assert_eq!(tighter.status.code(), Some(0), "{}", text(&tighter));
    let v: Value = serde_json::from_slice(&tighter.stdout).unwrap();
    assert_eq!(v["faceMatch"]["isMatch"], false, "{v}");
}

#[test]
fn a_flag_below_the_configured_minimum_match_level_is_refused() {
    let k = Kiosk::new();
    std::fs::write(k.config(), "[matching]\nminimumLevel = 3\n").unwrap();
    let (a, b) = (data("obama.jpg"), data("obama3.jpg"));
    let out = k.run(
        &[
            "match",
            s(&a),
            s(&b),
            "--minimum-match-level",
            "2",
            "--json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "flag_loosens_policy");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("matching.minimumLevel = 2 (safe: ≥ 3, the configured value)"),
        "{m}"
    );
    // The configured minimum itself, or above, is accepted.
    let out = k.run(
        &[
            "match",
            s(&a),
            s(&b),
            "--minimum-match-level",
            "4",
            "--json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["minimumMatchLevel"], 4);
}

#[test]
fn confirm_config_with_a_safe_configuration_chains_nothing() {
    let k = Kiosk::new();
    std::fs::write(k.config(), "[decision]\napproveAt = 80.0\n").unwrap();
    let out = k.confirm("root", ADMIN_PASSWORD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("nothing to confirm"), "{}", text(&out));
    assert!(k.events("config_override_confirmed").is_empty());
}

//! JSON Lines / CSV export and statistics, through the API and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;
use kyc_kiosk::cli::audit::{AuditCommand, FilterArgs, StoreArgs, run_to};
use kyc_kiosk::cli::auth::AuthArgs;

fn fill(store: &mut AuditStore) {
    for (op, d) in [
        ("ama", Decision::Approve),
        ("ama", Decision::Reject),
        ("kofi", Decision::Approve),
        ("kofi", Decision::Refer),
        ("kofi", Decision::Approve),
    ] {
        record(
            store,
            Rec {
                operator: op,
                decision: d,
                with_images: false,
                ..Rec::default()
            },
        );
    }
}

#[test]
fn jsonl_export_with_filters() {
    let (dir, mut store) = open_tmp();
    fill(&mut store);
    let sup = user(&mut store, "sup", Role::Supervisor);
    let mut out = Vec::new();
    let f = RecordFilter {
        operator: Some("kofi".into()),
        decision: Some(Decision::Approve),
        ..Default::default()
    };
    let n = store
        .export(&sup, &f, ExportFormat::Jsonl, &mut out)
        .unwrap();
    assert_eq!(n, 2);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["record"]["operator"], "kofi");
        assert_eq!(l["record"]["current_decision"], "approve");
        assert_eq!(l["result"]["fullName"], "Ama Mensah");
    }
    // Date range: nothing before 1971.
    let f = RecordFilter {
        to_ms: Some(365 * 86_400_000),
        ..Default::default()
    };
    assert_eq!(
        store
            .export(&sup, &f, ExportFormat::Jsonl, &mut Vec::new())
            .unwrap(),
        0
    );
    assert_eq!(count_events(&dir, "export"), 2);
    let agent = user(&mut store, "ama", Role::Agent);
    assert!(matches!(
        store.export(
            &agent,
            &RecordFilter::default(),
            ExportFormat::Csv,
            &mut Vec::new()
        ),
        Err(AuditError::PermissionDenied { .. })
    ));
}

#[test]
fn csv_export_has_header_and_rows() {
    let (_dir, mut store) = open_tmp();
    fill(&mut store);
    let sup = user(&mut store, "sup", Role::Supervisor);
    let mut out = Vec::new();
    let n = store
        .export(&sup, &RecordFilter::default(), ExportFormat::Csv, &mut out)
        .unwrap();
    assert_eq!(n, 5);
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 6);
    assert!(rows[0].starts_with("id,created_ms,kiosk_id,operator"));
    assert!(rows[1].contains(",ama,individual,"));
    assert!(
        rows[1].contains(",GHA-123456789-0,Ama Mensah,GH,87.5,approve,approve,none,test,42000,")
    );
}

#[test]
fn stats_count_per_decision_and_operator() {
    let (_dir, mut store) = open_tmp();
    fill(&mut store);
    let sup = user(&mut store, "sup", Role::Supervisor);
    let st = store.stats(&sup, &RecordFilter::default()).unwrap();
    assert_eq!(st.total, 5);
    assert_eq!(st.per_decision["approve"], 3);
    assert_eq!(st.per_decision["reject"], 1);
    assert_eq!(st.per_decision["refer"], 1);
    assert_eq!(st.per_operator["ama"], 2);
    assert_eq!(st.per_operator["kofi"], 3);
    assert_eq!(st.pending_review, 1);
    let p = st.processing.unwrap();
    assert_eq!((p.min_ms, p.median_ms, p.max_ms), (42_000, 42_000, 42_000));
    // Every record took 42 s: all in the 30–45 s bar of eight.
    let bars: Vec<(Option<i64>, u64)> = st
        .processing_histogram
        .iter()
        .map(|b| (b.up_to_ms, b.count))
        .collect();
    assert_eq!(bars.len(), 8);
    assert_eq!(bars[2], (Some(45_000), 5));
    assert_eq!(bars[7], (None, 0));
    assert_eq!(bars.iter().map(|b| b.1).sum::<u64>(), 5);
    let none = RecordFilter {
        operator: Some("nobody".into()),
        ..RecordFilter::default()
    };
    assert!(
        store
            .stats(&sup, &none)
            .unwrap()
            .processing_histogram
            .is_empty()
    );
}

#[test]
fn cli_export_and_stats() {
    let (dir, mut store) = open_tmp();
    fill(&mut store);
    let _ = user(&mut store, "sup", Role::Supervisor);
    drop(store);
    let sup = || AuthArgs::with_password("sup", "password-of-user");
    let db = || StoreArgs {
        db: Some(dir.path().join("audit.sqlite3")),
        key: None,
    };
    let path = dir.path().join("out.csv");
    let code = run_to(
        AuditCommand::Export {
            store: db(),
            auth: sup(),
            format: kyc_kiosk::cli::audit::FormatArg::Csv,
            filter: FilterArgs {
                operator: Some("ama".into()),
                ..Default::default()
            },
            out: Some(path.clone()),
        },
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    let mut out = Vec::new();
    run_to(
        AuditCommand::Stats {
            store: db(),
            auth: sup(),
            filter: FilterArgs {
                decision: Some(Decision::Approve),
                ..Default::default()
            },
        },
        &mut out,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["total"], 3);
    assert_eq!(v["per_operator"]["kofi"], 2);
}

#[test]
fn cli_create_admin_purge_and_erase() {
    let dir = tempfile::tempdir().unwrap();
    let db = || StoreArgs {
        db: Some(dir.path().join("audit.sqlite3")),
        key: None,
    };
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "install-password-1\n").unwrap();
    let mut out = Vec::new();
    assert_eq!(
        run_to(
            AuditCommand::CreateAdmin {
                store: db(),
                username: "root".into(),
                password_file: Some(pw.clone()),
            },
            &mut out
        )
        .unwrap(),
        0
    );
    assert!(matches!(
        run_to(
            AuditCommand::CreateAdmin {
                store: db(),
                username: "root2".into(),
                password_file: Some(pw.clone()),
            },
            &mut Vec::new()
        ),
        Err(AuditError::AdminExists)
    ));
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(
        store.login("root", "install-password-1").unwrap().role(),
        Role::Admin
    );
    let rc = record(
        &mut store,
        Rec {
            template: Some(template(3)),
            doc: Some("X-1"),
            ..Rec::default()
        },
    );
    drop(store);
    run_to(
        AuditCommand::Purge {
            store: db(),
            auth: AuthArgs::with_password("root", "install-password-1"),
            days: 0,
        },
        &mut Vec::new(),
    )
    .unwrap();
    let mut out = Vec::new();
    run_to(
        AuditCommand::Erase {
            store: db(),
            auth: AuthArgs::with_password("root", "install-password-1"),
            customer: Some("X-1".into()),
            record: vec![],
            reason: "request".into(),
        },
        &mut out,
    )
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains(&format!("[{}]", rc.id))
    );
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.face_index().len(), 0);
    assert!(store.verify().unwrap().is_intact());
}

//! The window's central review mode (`kyc-kiosk supervisor --window`): a back-office supervisor
//! works the fleet's queue at an enrolled workstation — signs in to the central service, lists
//! the cases of every kiosk and branch with filters, opens one with its whole evidence (the same
//! [`CaseView`] and [`case_evidence`](super::evidence::case_evidence) the kiosk's own review
//! screen draws) and approves or rejects it with a reason; the decision reaches the kiosk that
//! recorded it at that kiosk's next sync.
//!
//! The workstation client is `kyc_core::fleet::supervisor::Workstation`, the same one
//! `kyc-kiosk supervisor queue|show|decide` uses, with the same enrolment file. Every network
//! call runs on one worker thread ([`spawn_worker`]): the UI thread sends a [`Job`], the worker
//! answers with an [`Event`] and wakes the window. The session token stays on the worker; the
//! password is handed over in a zeroised buffer and never logged.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use eframe::egui;
use kyc_core::fleet::FleetError;
use kyc_core::fleet::http::ServerUrl;
use kyc_core::fleet::supervisor::{
    CaseDetail, CaseSummary, DecisionEntry, QueueFilter, QueuePage, Refusal, SupervisorSession,
    Workstation,
};
use kyc_core::imaging::ImageLimits;
use zeroize::Zeroizing;

use super::evidence::{CaseImage, CaseImages, CaseView, DuplicateCandidate};
use super::strings::Lang;

/// Cases per queue page.
pub const PAGE_SIZE: i64 = 20;

/// What the central review mode starts with.
#[derive(Debug, Clone)]
pub struct CentralOptions {
    /// The workstation file (the one `kyc-kiosk supervisor enroll` wrote).
    pub workstation_file: PathBuf,
    /// A central URL overriding the enrolled one.
    pub server: Option<String>,
    /// A user name to pre-fill.
    pub username: Option<String>,
    /// Language.
    pub lang: Lang,
    /// Limits the case's images are decoded with.
    pub limits: ImageLimits,
}

/// A request to the worker. Not `Debug`: it carries a password.
pub enum Job {
    /// Sign a supervisor in.
    SignIn {
        /// User name.
        username: String,
        /// Password, wiped when dropped.
        password: Zeroizing<String>,
    },
    /// A queue page.
    Queue {
        /// Filters.
        filter: QueueFilter,
        /// Cases to skip.
        offset: i64,
    },
    /// Open a case.
    Open {
        /// Kiosk.
        kiosk: String,
        /// Record id there.
        record: i64,
    },
    /// Decide a case.
    Decide {
        /// Kiosk.
        kiosk: String,
        /// Record id there.
        record: i64,
        /// `approve` or `reject`.
        decision: &'static str,
        /// Why.
        reason: String,
    },
    /// Forget the session.
    SignOut,
}

/// A case opened from the queue, ready to draw.
#[derive(Clone)]
pub struct CentralCase {
    /// Its queue line.
    pub summary: CaseSummary,
    /// The whole evidence.
    pub view: CaseView,
    /// The central decision already taken, if any.
    pub central_decision: Option<DecisionEntry>,
}

/// An answer from the worker.
pub enum Event {
    /// Signed in (user name and role) or refused.
    SignedIn(Result<(String, String), Refusal>),
    /// A queue page.
    Page(Result<QueuePage, Refusal>),
    /// A case.
    Case(Result<Box<CentralCase>, Refusal>),
    /// A decision stored centrally.
    Decided(Result<DecisionEntry, Refusal>),
}

/// Which screen the mode shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// The workstation file is missing or unusable: nothing can be done but enrol.
    NotEnrolled {
        /// The file looked for.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Signing in.
    SignIn,
    /// Signed in: the queue and, when one is open, a case.
    Queue,
}

/// The filter fields as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInputs {
    /// Kiosk id.
    pub kiosk: String,
    /// Branch.
    pub branch: String,
    /// `pending`, `closed`, `none` or `all`.
    pub status: String,
    /// From date (YYYY-MM-DD).
    pub from: String,
    /// To date, inclusive (YYYY-MM-DD).
    pub to: String,
    /// Text in the decision reason.
    pub reason: String,
}

/// The statuses a queue can be filtered on, in the order the selector shows them.
pub const STATUSES: [&str; 4] = ["pending", "closed", "none", "all"];

impl FilterInputs {
    /// The filter the centre is asked for.
    ///
    /// # Errors
    /// A date that is not YYYY-MM-DD (or a millisecond timestamp), or a range that ends before
    /// it starts.
    pub fn to_filter(&self) -> Result<QueueFilter, String> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let date = |s: &str| -> Result<Option<i64>, String> {
            match text(s) {
                None => Ok(None),
                Some(d) => crate::cli::audit::parse_time(&d)
                    .map(Some)
                    .map_err(|e| e.to_string()),
            }
        };
        let from_ms = date(&self.from)?;
        // A date "to" includes that whole day.
        let to_ms = date(&self.to)?.map(|ms| {
            if self.to.trim().contains('-') {
                ms + 86_400_000
            } else {
                ms
            }
        });
        if let (Some(f), Some(t)) = (from_ms, to_ms)
            && t <= f
        {
            return Err("the date range ends before it starts".into());
        }
        Ok(QueueFilter {
            kiosk: text(&self.kiosk),
            branch: text(&self.branch),
            status: text(&self.status).or_else(|| Some("pending".into())),
            from_ms,
            to_ms,
            reason: text(&self.reason),
        })
    }
}

/// The mode's state: pure data the view draws and the worker's answers change.
pub struct CentralState {
    /// Language.
    pub lang: Lang,
    /// Screen.
    pub phase: Phase,
    /// Workstation id and central URL (shown in the header).
    pub workstation: Option<(String, String)>,
    /// User name field.
    pub username: String,
    /// Password field (wiped when replaced or dropped).
    pub password: Zeroizing<String>,
    /// Signed in as (user name, role).
    pub user: Option<(String, String)>,
    /// A request is in flight: what it is ("signing in", "loading the queue", …).
    pub working: Option<Working>,
    /// The last refusal, shown until the next request.
    pub error: Option<Refusal>,
    /// A local input problem (a bad date), shown beside the filters.
    pub input_error: Option<String>,
    /// Filters as typed.
    pub filters: FilterInputs,
    /// The filter the page shown was asked with.
    pub applied: QueueFilter,
    /// The page shown.
    pub page: Option<QueuePage>,
    /// The case open.
    pub case: Option<CentralCase>,
    /// The decision's reason field.
    pub reason: String,
    /// The decision last stored centrally (shown as a confirmation).
    pub decided: Option<DecisionEntry>,
}

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Working {
    /// Signing in.
    SignIn,
    /// Loading a queue page.
    Queue,
    /// Opening a case.
    Case,
    /// Storing a decision.
    Decide,
}

impl CentralState {
    fn new(lang: Lang, phase: Phase) -> Self {
        CentralState {
            lang,
            phase,
            workstation: None,
            username: String::new(),
            password: Zeroizing::new(String::new()),
            user: None,
            working: None,
            error: None,
            input_error: None,
            filters: FilterInputs {
                status: "pending".into(),
                ..FilterInputs::default()
            },
            applied: QueueFilter::default(),
            page: None,
            case: None,
            reason: String::new(),
            decided: None,
        }
    }

    /// Take a worker's answer; returns a job to send next (a queue refresh after a decision).
    pub fn apply(&mut self, ev: Event) -> Option<Job> {
        self.working = None;
        match ev {
            Event::SignedIn(Ok(user)) => {
                self.user = Some(user);
                self.password = Zeroizing::new(String::new());
                self.phase = Phase::Queue;
                self.error = None;
                self.working = Some(Working::Queue);
                self.applied = self.filters.to_filter().unwrap_or_default();
                return Some(Job::Queue {
                    filter: self.applied.clone(),
                    offset: 0,
                });
            }
            Event::SignedIn(Err(e)) => {
                self.password = Zeroizing::new(String::new());
                self.error = Some(e);
            }
            Event::Page(Ok(p)) => {
                self.page = Some(p);
                self.error = None;
            }
            Event::Case(Ok(c)) => {
                self.case = Some(*c);
                self.reason.clear();
                self.error = None;
            }
            Event::Decided(Ok(d)) => {
                self.decided = Some(d);
                self.case = None;
                self.reason.clear();
                self.error = None;
                let offset = self.page.as_ref().map_or(0, |p| p.offset);
                self.working = Some(Working::Queue);
                return Some(Job::Queue {
                    filter: self.applied.clone(),
                    offset,
                });
            }
            Event::Page(Err(e)) | Event::Case(Err(e)) | Event::Decided(Err(e)) => {
                if e == Refusal::SessionEnded {
                    self.user = None;
                    self.phase = Phase::SignIn;
                    self.case = None;
                    self.page = None;
                }
                self.error = Some(e);
            }
        }
        None
    }
}

/// The worker's handle.
pub struct WorkerLink {
    jobs: Sender<Job>,
    events: Receiver<Event>,
    repaint: Arc<Mutex<Option<egui::Context>>>,
}

impl WorkerLink {
    fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::warn!("central review: the worker has stopped");
        }
    }
}

/// Start the worker thread that owns the workstation and the session.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_worker(ws: Workstation, limits: ImageLimits) -> std::io::Result<WorkerLink> {
    let (jobs, job_rx) = channel::<Job>();
    let (ev_tx, events) = channel::<Event>();
    let repaint: Arc<Mutex<Option<egui::Context>>> = Arc::new(Mutex::new(None));
    let wake = Arc::clone(&repaint);
    std::thread::Builder::new()
        .name("kyc-central-review".into())
        .spawn(move || {
            let mut session: Option<SupervisorSession> = None;
            for job in job_rx {
                let ev = run_job(&ws, &mut session, &limits, job);
                if let Some(ev) = ev
                    && ev_tx.send(ev).is_err()
                {
                    break;
                }
                if let Ok(g) = wake.lock()
                    && let Some(ctx) = g.as_ref()
                {
                    ctx.request_repaint();
                }
            }
        })?;
    Ok(WorkerLink {
        jobs,
        events,
        repaint,
    })
}

fn no_session() -> Refusal {
    Refusal::SessionEnded
}

fn run_job(
    ws: &Workstation,
    session: &mut Option<SupervisorSession>,
    limits: &ImageLimits,
    job: Job,
) -> Option<Event> {
    let sorted = |e: FleetError| {
        tracing::info!(code = e.code(), "central review: request refused");
        Refusal::of(&e)
    };
    match job {
        Job::SignIn { username, password } => {
            let r = ws.login(username.trim(), &password).map_err(sorted);
            Some(Event::SignedIn(r.map(|s| {
                let who = (s.username.clone(), s.role.clone());
                *session = Some(s);
                who
            })))
        }
        Job::SignOut => {
            *session = None;
            None
        }
        Job::Queue { filter, offset } => Some(Event::Page(match session.as_ref() {
            None => Err(no_session()),
            Some(s) => ws.queue(s, &filter, offset, PAGE_SIZE).map_err(sorted),
        })),
        Job::Open { kiosk, record } => Some(Event::Case(match session.as_ref() {
            None => Err(no_session()),
            Some(s) => ws
                .case(s, &kiosk, record)
                .map_err(sorted)
                .and_then(|d| case_of(&d, limits).map_err(|e| Refusal::Other(e.to_string())))
                .map(Box::new),
        })),
        Job::Decide {
            kiosk,
            record,
            decision,
            reason,
        } => Some(Event::Decided(match session.as_ref() {
            None => Err(no_session()),
            Some(s) => ws
                .decide(s, &kiosk, record, decision, &reason)
                .map_err(sorted),
        })),
    }
}

/// A central case as the evidence views draw it: the record's result, its images decoded with
/// `limits` (one that does not decode is shown as absent), the duplicate findings (the
/// candidates are records of the same kiosk, named by id and score), and the events the kiosk
/// chained about it as the case's actions.
///
/// # Errors
/// The record's stored columns do not parse.
pub fn case_of(d: &CaseDetail, limits: &ImageLimits) -> Result<CentralCase, FleetError> {
    let detail = d.record_detail()?;
    let image = |kind: &str| -> Option<CaseImage> {
        let bytes = d.image_bytes(kind).ok().flatten()?;
        let decoded =
            kyc_core::imaging::decode_bytes(&bytes, std::path::Path::new(kind), limits).ok()?;
        Some(Arc::new(super::capture::preview_of(&decoded.rgb)))
    };
    let images = CaseImages {
        front: image("document_front"),
        back: image("document_back"),
        portrait: image("portrait"),
        selfie: image("selfie"),
    };
    let candidates = CaseView::candidate_ids(&detail.duplicates)
        .into_iter()
        .take(super::evidence::MAX_LINKED)
        .map(|(id, kind, score)| DuplicateCandidate {
            id,
            kind,
            score,
            image: None,
            summary: None,
        })
        .collect();
    let mut view = CaseView::from_record(&detail, images, &[], candidates);
    view.key = format!("central-{}-{}", d.summary.kiosk_id, d.summary.record_id);
    view.actions = d
        .events
        .iter()
        .filter(|e| e.kind != "verification_recorded")
        .map(|e| format!("#{} {} — {}: {}", e.seq, utc(e.ts_ms), e.actor, e.kind))
        .collect();
    Ok(CentralCase {
        summary: d.summary.clone(),
        view,
        central_decision: d.central_decision.clone(),
    })
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let in_day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        kyc_core::health::date_of_secs(secs),
        in_day / 3600,
        (in_day % 3600) / 60
    )
}

/// The central review window: its state, and the worker it talks to (`None` when the
/// workstation is not enrolled).
pub struct CentralApp {
    /// State (public so tests can assert on it).
    pub state: CentralState,
    worker: Option<WorkerLink>,
}

impl CentralApp {
    /// Load the workstation and start the worker; an unusable workstation file leaves the
    /// window on the "not enrolled" screen.
    #[must_use]
    pub fn new(opts: &CentralOptions) -> Self {
        let loaded = Workstation::load(&opts.workstation_file).and_then(|mut ws| {
            if let Some(s) = &opts.server {
                ws.server = ServerUrl::parse(s)?;
            }
            Ok(ws)
        });
        let not_enrolled = |why: String| {
            CentralState::new(
                opts.lang,
                Phase::NotEnrolled {
                    path: opts.workstation_file.clone(),
                    why,
                },
            )
        };
        let (mut state, worker) = match loaded {
            Ok(ws) => {
                let shown = (ws.id.clone(), ws.server.to_url());
                match spawn_worker(ws, opts.limits) {
                    Ok(w) => {
                        let mut st = CentralState::new(opts.lang, Phase::SignIn);
                        st.workstation = Some(shown);
                        (st, Some(w))
                    }
                    Err(e) => (not_enrolled(e.to_string()), None),
                }
            }
            Err(e) => {
                let why = match Refusal::of(&e) {
                    Refusal::NotEnrolled => String::new(),
                    _ => e.to_string(),
                };
                (not_enrolled(why), None)
            }
        };
        if let Some(u) = &opts.username {
            state.username.clone_from(u);
        }
        CentralApp { state, worker }
    }

    fn send(&mut self, job: Job, working: Working) {
        if let Some(w) = &self.worker {
            self.state.working = Some(working);
            self.state.error = None;
            w.send(job);
        }
    }

    /// One frame: take the worker's answers, draw, send what the screen asked for. Used by
    /// eframe and by the tests.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        if let Some(w) = &self.worker {
            if let Ok(mut g) = w.repaint.lock()
                && g.is_none()
            {
                *g = Some(ui.ctx().clone());
            }
            let mut next = Vec::new();
            while let Ok(ev) = w.events.try_recv() {
                next.extend(self.state.apply(ev));
            }
            for job in next {
                w.send(job);
            }
        }
        let asked = super::central_view::draw(ui, &mut self.state);
        for a in asked {
            self.act(a);
        }
        if self.state.working.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn act(&mut self, a: super::central_view::Ask) {
        use super::central_view::Ask;
        match a {
            Ask::SignIn => {
                let password =
                    std::mem::replace(&mut self.state.password, Zeroizing::new(String::new()));
                let username = self.state.username.trim().to_string();
                self.send(Job::SignIn { username, password }, Working::SignIn);
            }
            Ask::SignOut => {
                if let Some(w) = &self.worker {
                    w.send(Job::SignOut);
                }
                self.state.user = None;
                self.state.page = None;
                self.state.case = None;
                self.state.decided = None;
                self.state.phase = Phase::SignIn;
            }
            Ask::Search => match self.state.filters.to_filter() {
                Ok(f) => {
                    self.state.input_error = None;
                    self.state.applied = f.clone();
                    self.send(
                        Job::Queue {
                            filter: f,
                            offset: 0,
                        },
                        Working::Queue,
                    );
                }
                Err(e) => self.state.input_error = Some(e),
            },
            Ask::Page(offset) => {
                let filter = self.state.applied.clone();
                self.send(
                    Job::Queue {
                        filter,
                        offset: offset.max(0),
                    },
                    Working::Queue,
                );
            }
            Ask::Open(kiosk, record) => {
                self.state.decided = None;
                self.send(Job::Open { kiosk, record }, Working::Case);
            }
            Ask::Close => self.state.case = None,
            Ask::Decide(decision) => {
                let Some(c) = &self.state.case else {
                    return;
                };
                let job = Job::Decide {
                    kiosk: c.summary.kiosk_id.clone(),
                    record: c.summary.record_id,
                    decision,
                    reason: self.state.reason.trim().to_string(),
                };
                self.send(job, Working::Decide);
            }
        }
    }
}

impl eframe::App for CentralApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }
}

/// Open the central review window and run until it is closed.
///
/// # Errors
/// When the window cannot be created (no display, no OpenGL).
pub fn run(opts: CentralOptions) -> Result<i32, kyc_core::Error> {
    let viewport = egui::ViewportBuilder::default()
        .with_title("KYC central review")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 600.0]);
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "kyc-kiosk-central",
        native,
        Box::new(move |cc| {
            super::view::setup_style(&cc.egui_ctx);
            Ok(Box::new(CentralApp::new(&opts)))
        }),
    )
    .map_err(|e| kyc_core::Error::Io {
        context: "opening the central review window (is a display available?)".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(kyc_core::error::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_centres_filter() {
        let f = FilterInputs {
            kiosk: " k1 ".into(),
            branch: String::new(),
            status: "all".into(),
            from: "2026-11-01".into(),
            to: "2026-11-01".into(),
            reason: "blur".into(),
        }
        .to_filter()
        .unwrap();
        assert_eq!(f.kiosk.as_deref(), Some("k1"));
        assert_eq!(f.branch, None);
        assert_eq!(f.status.as_deref(), Some("all"));
        assert_eq!(f.from_ms, Some(1_793_491_200_000));
        // "to" a date takes in that whole day.
        assert_eq!(f.to_ms, Some(1_793_491_200_000 + 86_400_000));
        assert_eq!(f.reason.as_deref(), Some("blur"));
        assert_eq!(
            FilterInputs::default()
                .to_filter()
                .unwrap()
                .status
                .as_deref(),
            Some("pending")
        );
        let bad = FilterInputs {
            from: "2026-13-01".into(),
            ..FilterInputs::default()
        };
        assert!(bad.to_filter().unwrap_err().contains("2026-13-01"));
        let backwards = FilterInputs {
            from: "2026-11-02".into(),
            to: "2026-11-01".into(),
            ..FilterInputs::default()
        };
        assert!(backwards.to_filter().unwrap_err().contains("ends before"));
    }

    #[test]
    fn a_refused_sign_in_clears_the_password_and_an_ended_session_signs_out() {
        let mut st = CentralState::new(Lang::En, Phase::SignIn);
        st.password = Zeroizing::new("secret".into());
        assert!(
            st.apply(Event::SignedIn(Err(Refusal::WrongPassword)))
                .is_none()
        );
        assert!(st.password.is_empty());
        assert_eq!(st.error, Some(Refusal::WrongPassword));
        assert_eq!(st.phase, Phase::SignIn);
        let next = st.apply(Event::SignedIn(Ok(("sue".into(), "supervisor".into()))));
        assert!(matches!(next, Some(Job::Queue { offset: 0, .. })));
        assert_eq!(st.phase, Phase::Queue);
        assert_eq!(st.working, Some(Working::Queue));
        assert!(st.apply(Event::Page(Err(Refusal::SessionEnded))).is_none());
        assert_eq!(st.phase, Phase::SignIn);
        assert!(st.user.is_none());
    }
}

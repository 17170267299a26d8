//! The liveness challenge on the selfie screen, on its own thread. The thread owns a
//! [`LivenessChecker`] (face models, anti-spoofing, face mesh) loaded at start; the UI offers it
//! each new frame from the live source through a one-slot mailbox (a newer frame replaces one not
//! yet taken, so a slow analysis skips frames instead of falling behind) and reads back progress
//! after every analysed frame and the outcome at the end. No inference runs on the UI thread.

use kyc_core::logs::{WarnOnErr, join_or_warn};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eframe::egui;

use kyc_core::config::Config;
use kyc_core::inference::Runtime;
use kyc_core::liveness::challenge::{Challenge, ChallengeState, StepOutcome};
use kyc_core::liveness::{LivenessChecker, LivenessResult, LivenessSession};
use kyc_core::models;

use super::capture::{Frame, preview_of};
use super::messages::Captured;

/// Slack after the challenge's deadline before a run with too few frames is ended anyway (the
/// source stopped, or frames stopped arriving).
const WALL_CLOCK_SLACK: Duration = Duration::from_secs(2);

/// What the UI asks of the challenge thread.
pub enum Control {
    /// Start checking `challenge`; `run` tags every event of this run.
    Start {
        /// Run id (a new one per attempt).
        run: u64,
        /// The challenge issued.
        challenge: Challenge,
    },
    /// Abandon the run in progress.
    Stop,
}

/// A finished challenge.
pub struct Finished {
    /// The liveness result (goes into the verification and the record).
    pub result: LivenessResult,
    /// The frame the challenge chose as the selfie: its file or JPEG bytes when it had some,
    /// else its pixels.
    pub selfie: Option<Captured>,
    /// That frame, downscaled for the screen.
    pub preview: Option<egui::ColorImage>,
}

/// What the challenge thread reports.
pub enum ChallengeEvent {
    /// The models are loaded.
    Ready,
    /// The models could not be loaded (the challenge is unavailable; still import works).
    LoadFailed(String),
    /// A frame was analysed.
    Progress {
        /// Run id.
        run: u64,
        /// State after the frame.
        state: ChallengeState,
        /// Each step's outcome so far (start and completion times).
        steps: Vec<StepOutcome>,
        /// The frame's capture time (ms on the source's clock).
        t_ms: f64,
        /// The run's first frame time.
        first_ms: f64,
        /// Frames analysed so far.
        frames: usize,
    },
    /// The run ended (passed or not).
    Finished {
        /// Run id.
        run: u64,
        /// The outcome.
        outcome: Box<Finished>,
    },
    /// Inference failed.
    Failed {
        /// Run id.
        run: u64,
        /// Why.
        message: String,
    },
}

/// The UI's end of the challenge thread; dropping it stops the thread.
pub struct ChallengeHandle {
    control: Sender<Control>,
    mailbox: Arc<Mutex<Option<Frame>>>,
    events: Receiver<ChallengeEvent>,
    thread: Option<JoinHandle<()>>,
}

impl ChallengeHandle {
    /// Start a run.
    pub fn start(&self, run: u64, challenge: Challenge) {
        self.control
            .send(Control::Start { run, challenge })
            .warn_on_err("starting a challenge run");
    }

    /// Abandon the run in progress.
    pub fn stop(&self) {
        self.control
            .send(Control::Stop)
            .warn_on_err("stopping a challenge run");
    }

    /// Offer the newest frame (replaces one not yet taken).
    pub fn offer(&self, frame: &Frame) {
        if let Ok(mut slot) = self.mailbox.lock() {
            *slot = Some(frame.clone());
        }
    }

    /// Every event waiting.
    pub fn poll(&self) -> Vec<ChallengeEvent> {
        self.events.try_iter().collect()
    }
}

impl Drop for ChallengeHandle {
    fn drop(&mut self) {
        let (tx, _) = channel();
        self.control = tx;
        if let Some(t) = self.thread.take() {
            join_or_warn(t, "closing the liveness thread");
        }
    }
}

/// Start the challenge thread; it loads its models first. `wake` is called after each event.
#[must_use]
pub fn spawn(config: Config, wake: Arc<dyn Fn() + Send + Sync>) -> ChallengeHandle {
    let (control_tx, control_rx) = channel();
    let (events_tx, events_rx) = channel();
    let mailbox: Arc<Mutex<Option<Frame>>> = Arc::new(Mutex::new(None));
    let mailbox2 = Arc::clone(&mailbox);
    let thread = std::thread::Builder::new()
        .name("kyc-liveness".into())
        .spawn(move || {
            let send = |ev: ChallengeEvent| {
                events_tx
                    .send(ev)
                    .warn_on_err("sending a liveness event to the window");
                wake();
            };
            let dir = config.models_dir.clone().unwrap_or_else(models::models_dir);
            let loaded = Runtime::open(&dir)
                .and_then(|rt| LivenessChecker::load(&rt, config.face, config.liveness, 1));
            let mut checker = match loaded {
                Ok(c) => {
                    send(ChallengeEvent::Ready);
                    c
                }
                Err(e) => {
                    send(ChallengeEvent::LoadFailed(e.to_string()));
                    // Drain controls until the UI goes away.
                    while control_rx.recv().is_ok() {}
                    return;
                }
            };
            serve(&mut checker, &control_rx, &mailbox2, &send);
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the liveness thread"))
        .ok();
    ChallengeHandle {
        control: control_tx,
        mailbox,
        events: events_rx,
        thread,
    }
}

struct Run {
    id: u64,
    session: LivenessSession,
    /// Name and encoded bytes of each frame analysed, by index.
    frames: Vec<(String, Option<Arc<Vec<u8>>>)>,
    last_seq: Option<u64>,
    first_ms: Option<f64>,
    started: Instant,
    deadline: Duration,
}

fn serve(
    checker: &mut LivenessChecker,
    control: &Receiver<Control>,
    mailbox: &Mutex<Option<Frame>>,
    send: &dyn Fn(ChallengeEvent),
) {
    let mut run: Option<Run> = None;
    loop {
        // Controls first; wait a little only when there is nothing to analyse.
        let idle = run.is_none()
            || mailbox.lock().map_or(true, |slot| {
                slot.as_ref()
                    .is_none_or(|f| run.as_ref().and_then(|r| r.last_seq) == Some(f.seq))
            });
        let msg = if idle {
            match control.recv_timeout(Duration::from_millis(15)) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            control.try_recv().ok()
        };
        match msg {
            Some(Control::Start { run: id, challenge }) => {
                if let Ok(mut slot) = mailbox.lock() {
                    *slot = None;
                }
                let deadline = Duration::from_secs_f64(challenge.deadline_ms.max(0.0) / 1000.0);
                run = Some(Run {
                    id,
                    session: checker.start(challenge),
                    frames: Vec::new(),
                    last_seq: None,
                    first_ms: None,
                    started: Instant::now(),
                    deadline,
                });
                continue;
            }
            Some(Control::Stop) => {
                run = None;
                continue;
            }
            None => {}
        }
        let Some(r) = run.as_mut() else {
            continue;
        };
        let frame = mailbox.lock().ok().and_then(|mut slot| slot.take());
        let timed_out = r.started.elapsed() > r.deadline + WALL_CLOCK_SLACK;
        if let Some(frame) = frame.filter(|f| r.last_seq != Some(f.seq))
            && !timed_out
        {
            r.last_seq = Some(frame.seq);
            let first_ms = *r.first_ms.get_or_insert(frame.t_ms);
            match r.session.push_frame(checker, &frame.rgb, frame.t_ms) {
                Ok(state) => {
                    r.frames.push((frame.name.clone(), frame.encoded.clone()));
                    send(ChallengeEvent::Progress {
                        run: r.id,
                        state,
                        steps: r.session.steps().to_vec(),
                        t_ms: frame.t_ms,
                        first_ms,
                        frames: r.frames.len(),
                    });
                    if !state.is_final() {
                        continue;
                    }
                }
                Err(e) => {
                    send(ChallengeEvent::Failed {
                        run: r.id,
                        message: e.to_string(),
                    });
                    run = None;
                    continue;
                }
            }
        } else if !timed_out {
            continue;
        }
        // Passed, failed, or out of time: build the outcome.
        if let Some(r) = run.take() {
            let outcome = r.session.finish(checker);
            let chosen = outcome.result.selfie.as_ref().map(|c| c.frame_index);
            let selfie = match (chosen.and_then(|i| r.frames.get(i)), outcome.selfie) {
                (Some((name, Some(bytes))), Some(img)) => {
                    Some((Captured::encoded(name.clone(), Arc::clone(bytes)), img))
                }
                (Some((name, None)), Some(img)) => Some((
                    Captured {
                        name: name.clone(),
                        bytes: None,
                        pixels: Some(Arc::new(img.clone())),
                    },
                    img,
                )),
                _ => None,
            };
            let (selfie, preview) = match selfie {
                Some((c, img)) => (Some(c), Some(preview_of(&img))),
                None => (None, None),
            };
            send(ChallengeEvent::Finished {
                run: r.id,
                outcome: Box::new(Finished {
                    result: outcome.result,
                    selfie,
                    preview,
                }),
            });
        }
    }
}

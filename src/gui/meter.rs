//! Live document quality and automatic capture on the document screen.
//!
//! The meter thread owns a text-only [`DocumentReader`] (detector, no portrait) and assesses the
//! newest frame the UI offers through a one-slot mailbox, at most [`MAX_RATE_HZ`] times a second,
//! so the capture preview keeps the camera's rate and the two cores are not spent on frames no
//! one will keep. [`AutoCapture`] — pure, unit-tested — turns the stream of assessments into the
//! prompt the customer sees and the moment to capture: [`AutoCapture::NEEDED`] acceptable
//! assessments in a row with the document's corners still.

use kyc_core::logs::{WarnOnErr, join_or_warn};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kyc_core::config::Config;
use kyc_core::document::reader::meter::FrameAssessment;
use kyc_core::document::reader::{DocumentReader, ReaderOptions};

use super::capture::Frame;

/// Most assessments per second (each costs one text detection, ≈ 20–40 ms at 640×480).
pub const MAX_RATE_HZ: f64 = 6.0;

/// What the meter thread reports.
pub enum MeterEvent {
    /// The detector is loaded.
    Ready,
    /// The detector could not be loaded (manual capture and import still work).
    LoadFailed(String),
    /// A frame was assessed; the frame comes back with it so that the frame captured is
    /// exactly the one judged good.
    Assessed {
        /// The frame.
        frame: Frame,
        /// Its quality.
        assessment: Box<FrameAssessment>,
    },
    /// Inference failed on a frame.
    Failed(String),
}

/// The UI's end of the meter thread; dropping it stops the thread.
pub struct MeterHandle {
    stop: Option<Sender<()>>,
    mailbox: Arc<Mutex<Option<Frame>>>,
    events: Receiver<MeterEvent>,
    thread: Option<JoinHandle<()>>,
}

impl MeterHandle {
    /// Offer the newest frame (replaces one not yet taken).
    pub fn offer(&self, frame: &Frame) {
        if let Ok(mut slot) = self.mailbox.lock() {
            *slot = Some(frame.clone());
        }
    }

    /// Every event waiting.
    pub fn poll(&self) -> Vec<MeterEvent> {
        self.events.try_iter().collect()
    }
}

impl Drop for MeterHandle {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            join_or_warn(t, "closing the document meter");
        }
    }
}

/// Start the meter thread; it loads the text detector first. `wake` is called after each event.
#[must_use]
pub fn spawn(config: Config, wake: Arc<dyn Fn() + Send + Sync>) -> MeterHandle {
    let (stop_tx, stop_rx) = channel::<()>();
    let (events_tx, events_rx) = channel();
    let mailbox: Arc<Mutex<Option<Frame>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&mailbox);
    let thread = std::thread::Builder::new()
        .name("kyc-doc-meter".into())
        .spawn(move || {
            let send = |ev: MeterEvent| {
                events_tx
                    .send(ev)
                    .warn_on_err("sending a meter event to the window");
                wake();
            };
            let options = ReaderOptions {
                portrait: false,
                ..ReaderOptions::default()
            };
            let mut config = config;
            config.threads = 1;
            let mut reader = match DocumentReader::load(config.reader_options(options)) {
                Ok(r) => {
                    send(MeterEvent::Ready);
                    r
                }
                Err(e) => {
                    send(MeterEvent::LoadFailed(e.to_string()));
                    return;
                }
            };
            let period = Duration::from_secs_f64(1.0 / MAX_RATE_HZ);
            let mut last_seq = None;
            let mut last_start: Option<Instant> = None;
            loop {
                let wait = last_start
                    .map_or(Duration::ZERO, |t| period.saturating_sub(t.elapsed()))
                    .max(Duration::from_millis(10));
                match stop_rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let Some(frame) = slot.lock().ok().and_then(|mut s| s.take()) else {
                    continue;
                };
                if last_seq == Some(frame.seq) {
                    continue;
                }
                last_seq = Some(frame.seq);
                last_start = Some(Instant::now());
                match reader.assess(&frame.rgb) {
                    Ok(a) => send(MeterEvent::Assessed {
                        frame,
                        assessment: Box::new(a),
                    }),
                    Err(e) => send(MeterEvent::Failed(e.to_string())),
                }
            }
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the document meter thread"))
        .ok();
    MeterHandle {
        stop: Some(stop_tx),
        mailbox,
        events: events_rx,
        thread,
    }
}

/// Which side of the document the meter is watching for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The front (portrait side).
    Front,
    /// The back, once the front is kept and the back-side step is open.
    Back,
}

/// What the document screen tells the customer, from the latest assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// No text in view.
    NoDocument,
    /// The document fills too little of the frame.
    MoveCloser,
    /// Too dark.
    TooDark,
    /// Too bright.
    TooBright,
    /// A reflection on the document (or over its text).
    Glare,
    /// Blurred.
    Blurry,
    /// Good, but moving: hold still.
    HoldStill,
    /// Good and still for `done` of the `needed` assessments.
    Steadying {
        /// Acceptable, still assessments in a row.
        done: usize,
        /// Needed before capture.
        needed: usize,
    },
    /// Capture now.
    Capture,
}

/// Automatic capture: capture once the document has been acceptable and still for
/// [`AutoCapture::NEEDED`] assessments in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoCapture {
    streak: usize,
    last_corners: Option<[[f32; 2]; 4]>,
    /// The latest hint.
    pub hint: Option<Hint>,
}

impl Default for AutoCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl AutoCapture {
    /// Acceptable, still assessments in a row before capture (≈ 0.5 s at the meter's rate).
    pub const NEEDED: usize = 3;
    /// Largest corner movement between two assessments that still counts as still, as a share
    /// of the frame's diagonal.
    pub const MAX_MOTION: f32 = 0.02;

    /// A fresh tracker.
    #[must_use]
    pub fn new() -> Self {
        AutoCapture {
            streak: 0,
            last_corners: None,
            hint: None,
        }
    }

    /// Forget the streak (a capture was taken, retaken, or the screen changed).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Take one assessment of a `width`×`height` frame; returns what to tell the customer, or
    /// [`Hint::Capture`].
    pub fn observe(&mut self, a: &FrameAssessment, width: u32, height: u32) -> Hint {
        let corners = a.quad.as_ref().map(|q| q.corners);
        let hint = if let Some(problem) = problem_hint(a) {
            self.streak = 0;
            problem
        } else {
            let diagonal = (width as f32).hypot(height as f32).max(1.0);
            let still = match (self.last_corners, corners) {
                (Some(before), Some(now)) => motion(&before, &now) / diagonal <= Self::MAX_MOTION,
                // Without edges on both frames stillness cannot be measured; the sharpness
                // check (motion blurs) stands in for it.
                _ => true,
            };
            if still {
                self.streak += 1;
            } else {
                self.streak = 1;
            }
            if self.streak >= Self::NEEDED {
                Hint::Capture
            } else if still {
                Hint::Steadying {
                    done: self.streak,
                    needed: Self::NEEDED,
                }
            } else {
                Hint::HoldStill
            }
        };
        self.last_corners = corners;
        self.hint = Some(hint);
        hint
    }
}

/// The first reason, in the order a customer can fix them, that the frame is not acceptable.
fn problem_hint(a: &FrameAssessment) -> Option<Hint> {
    let q = &a.quality;
    let has = |r: &str| q.reasons.iter().any(|x| x == r);
    if a.text_boxes == 0 || has("no_document") {
        Some(Hint::NoDocument)
    } else if has("document_too_small") {
        Some(Hint::MoveCloser)
    } else if has("too_dark") {
        Some(Hint::TooDark)
    } else if has("too_bright") {
        Some(Hint::TooBright)
    } else if has("glare") || has("glare_on_text") {
        Some(Hint::Glare)
    } else if has("blurry") {
        Some(Hint::Blurry)
    } else if q.acceptable {
        None
    } else {
        // A reason this screen does not know yet: not acceptable, say it plainly.
        Some(Hint::Blurry)
    }
}

/// Largest distance any corner moved.
fn motion(a: &[[f32; 2]; 4], b: &[[f32; 2]; 4]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p[0] - q[0]).hypot(p[1] - q[1]))
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_core::document::locate::DocumentQuad;
    use kyc_core::document::reader::DocumentQuality;

    fn assessment(reasons: &[&str], corners: Option<[[f32; 2]; 4]>) -> FrameAssessment {
        FrameAssessment {
            quality: DocumentQuality {
                sharpness: 60.0,
                brightness: 55.0,
                glare_percent: 0.0,
                fill_percent: 50.0,
                rotation_degrees: 0,
                skew_degrees: 0.0,
                acceptable: reasons.is_empty(),
                reasons: reasons.iter().map(|r| (*r).to_string()).collect(),
            },
            quad: corners.map(|c| DocumentQuad {
                corners: c,
                fill_percent: 50.0,
                aspect: 1.586,
                edge_support: 0.9,
            }),
            text_boxes: usize::from(!reasons.contains(&"no_document")) * 12,
            ms: 20.0,
        }
    }

    fn card(dx: f32) -> Option<[[f32; 2]; 4]> {
        Some([
            [100.0 + dx, 100.0],
            [540.0 + dx, 100.0],
            [540.0 + dx, 380.0],
            [100.0 + dx, 380.0],
        ])
    }

    #[test]
    fn captures_after_three_still_acceptable_frames() {
        let mut ac = AutoCapture::new();
        assert_eq!(
            ac.observe(&assessment(&[], card(0.0)), 640, 480),
            Hint::Steadying { done: 1, needed: 3 }
        );
        // 5 px on an 800 px diagonal is still.
        assert_eq!(
            ac.observe(&assessment(&[], card(5.0)), 640, 480),
            Hint::Steadying { done: 2, needed: 3 }
        );
        assert_eq!(
            ac.observe(&assessment(&[], card(8.0)), 640, 480),
            Hint::Capture
        );
        assert_eq!(ac.hint, Some(Hint::Capture));
    }

    #[test]
    fn movement_restarts_the_streak() {
        let mut ac = AutoCapture::new();
        ac.observe(&assessment(&[], card(0.0)), 640, 480);
        ac.observe(&assessment(&[], card(2.0)), 640, 480);
        // 40 px is 5 % of the diagonal: moving.
        assert_eq!(
            ac.observe(&assessment(&[], card(42.0)), 640, 480),
            Hint::HoldStill
        );
        assert_eq!(
            ac.observe(&assessment(&[], card(43.0)), 640, 480),
            Hint::Steadying { done: 2, needed: 3 }
        );
        assert_eq!(
            ac.observe(&assessment(&[], card(44.0)), 640, 480),
            Hint::Capture
        );
    }

    #[test]
    fn a_bad_frame_restarts_the_streak_and_names_the_problem() {
        let mut ac = AutoCapture::new();
        ac.observe(&assessment(&[], card(0.0)), 640, 480);
        ac.observe(&assessment(&[], card(0.0)), 640, 480);
        assert_eq!(
            ac.observe(&assessment(&["glare_on_text"], card(0.0)), 640, 480),
            Hint::Glare
        );
        assert_eq!(
            ac.observe(&assessment(&[], card(0.0)), 640, 480),
            Hint::Steadying { done: 1, needed: 3 }
        );
        let cases = [
            (&["no_document"][..], Hint::NoDocument),
            (&["document_too_small", "blurry"][..], Hint::MoveCloser),
            (&["blurry", "too_dark"][..], Hint::TooDark),
            (&["too_bright"][..], Hint::TooBright),
            (&["glare"][..], Hint::Glare),
            (&["blurry"][..], Hint::Blurry),
        ];
        for (reasons, hint) in cases {
            assert_eq!(ac.observe(&assessment(reasons, None), 640, 480), hint);
        }
    }

    #[test]
    fn without_edges_acceptable_frames_still_count() {
        let mut ac = AutoCapture::new();
        for _ in 0..2 {
            assert!(matches!(
                ac.observe(&assessment(&[], None), 1000, 700),
                Hint::Steadying { .. }
            ));
        }
        assert_eq!(ac.observe(&assessment(&[], None), 1000, 700), Hint::Capture);
        ac.reset();
        assert_eq!(ac.hint, None);
        assert_eq!(
            ac.observe(&assessment(&[], None), 1000, 700),
            Hint::Steadying { done: 1, needed: 3 }
        );
    }
}

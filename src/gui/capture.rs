//! Frame sources on their own capture thread: a live camera (nokhwa), a folder of images played
//! as a sequence, or one image. Frames cross to the UI over a bounded channel that drops stale
//! frames instead of queueing them, so a slow UI never falls behind the source.
//!
//! A camera that cannot be opened, or fails mid-capture (unplugged), is reported to the UI as
//! [`CaptureEvent::Retrying`] and reopened every [`CAMERA_RETRY`] until it works again.

use eframe::egui;
use kyc_core::logs::{WarnOnErr, join_or_warn};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::RgbImage;

use kyc_core::imaging::{self, ImageLimits};

/// Longest side of the preview image the capture thread prepares for the screen.
pub const PREVIEW_MAX_SIDE: u32 = 640;

/// How often a camera that failed is opened again.
pub const CAMERA_RETRY: Duration = Duration::from_secs(2);

/// Resolution asked of a camera when none is given (the closest the camera offers is used).
pub const CAMERA_DEFAULT_RESOLUTION: (u32, u32) = (1280, 720);

/// Where frames come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A folder of PNG/JPEG files in file-name order, played at `fps` and looped.
    Frames {
        /// The folder.
        dir: PathBuf,
        /// Frames per second.
        fps: f64,
    },
    /// One image shown as a still frame.
    Image(PathBuf),
    /// A live camera through nokhwa (V4L2 on Linux), opened on the capture thread.
    Camera {
        /// Device index (0 is `/dev/video0` on Linux).
        index: u32,
        /// Requested width × height; the closest format the camera offers is used.
        resolution: Option<(u32, u32)>,
    },
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Frames { dir, fps } => write!(f, "{} @ {fps} fps", dir.display()),
            SourceSpec::Image(p) => write!(f, "{}", p.display()),
            SourceSpec::Camera {
                index,
                resolution: Some((w, h)),
            } => write!(f, "camera {index} @ {w}x{h}"),
            SourceSpec::Camera {
                index,
                resolution: None,
            } => write!(f, "camera {index}"),
        }
    }
}

fn parse_camera(rest: &str, whole: &str) -> Result<SourceSpec, String> {
    let (index, resolution) = match rest.split_once('@') {
        Some((i, res)) => {
            let (w, h) = res
                .split_once(['x', 'X', '×'])
                .ok_or_else(|| format!("resolution must be WIDTHxHEIGHT in {whole:?}"))?;
            let w: u32 = w
                .trim()
                .parse()
                .map_err(|_| format!("invalid width {w:?} in {whole:?}"))?;
            let h: u32 = h
                .trim()
                .parse()
                .map_err(|_| format!("invalid height {h:?} in {whole:?}"))?;
            if !(16..=8192).contains(&w) || !(16..=8192).contains(&h) {
                return Err(format!("resolution {w}x{h} is out of range in {whole:?}"));
            }
            (i, Some((w, h)))
        }
        None => (rest, None),
    };
    let index = if index.trim().is_empty() {
        0
    } else {
        index
            .trim()
            .parse()
            .map_err(|_| format!("invalid camera index {index:?} in {whole:?}"))?
    };
    Ok(SourceSpec::Camera { index, resolution })
}

impl FromStr for SourceSpec {
    type Err = String;

    /// `frames:<dir>` (10 fps), `frames:<dir>@<fps>`, `image:<file>`, or
    /// `camera[:<index>][@<width>x<height>]`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "camera" {
            return Ok(SourceSpec::Camera {
                index: 0,
                resolution: None,
            });
        }
        if let Some(rest) = s.strip_prefix("camera:") {
            return parse_camera(rest, s);
        }
        if let Some(rest) = s.strip_prefix("frames:") {
            let (dir, fps) = match rest.rsplit_once('@') {
                Some((dir, fps)) => {
                    let fps: f64 = fps
                        .parse()
                        .map_err(|_| format!("invalid frame rate {fps:?} in {s:?}"))?;
                    (dir, fps)
                }
                None => (rest, 10.0),
            };
            if !(fps > 0.0 && fps <= 120.0) {
                return Err(format!("frame rate must be in (0, 120], got {fps}"));
            }
            if dir.is_empty() {
                return Err("frames: needs a folder".into());
            }
            Ok(SourceSpec::Frames {
                dir: PathBuf::from(dir),
                fps,
            })
        } else if let Some(file) = s.strip_prefix("image:") {
            if file.is_empty() {
                return Err("image: needs a file".into());
            }
            Ok(SourceSpec::Image(PathBuf::from(file)))
        } else {
            Err(format!(
                "unknown source {s:?}: use camera[:<index>][@WxH], frames:<folder>[@fps] or image:<file>"
            ))
        }
    }
}

/// One frame from a source.
#[derive(Clone)]
pub struct Frame {
    /// Sequence number (0-based, counting every frame the source produced).
    pub seq: u64,
    /// Capture time in ms since the source started.
    pub t_ms: f64,
    /// Where it came from (file name).
    pub name: String,
    /// The encoded bytes as read (kept in the audit record when this frame is captured); `None`
    /// for raw camera frames, which are encoded (PNG) by the worker only when kept.
    pub encoded: Option<Arc<Vec<u8>>>,
    /// Full-resolution pixels.
    pub rgb: Arc<RgbImage>,
    /// A downscaled copy ready for the screen.
    pub preview: Arc<egui::ColorImage>,
}

/// What the capture thread reports.
pub enum CaptureEvent {
    /// A new frame.
    Frame(Frame),
    /// The source failed (folder missing or empty, every file unreadable).
    Failed(String),
    /// The camera could not be opened or stopped delivering; it is being opened again.
    Retrying(String),
}

/// A running capture thread; dropping it stops the thread.
pub struct CaptureHandle {
    rx: Receiver<CaptureEvent>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CaptureHandle {
    /// The newest event waiting, skipping older frames.
    pub fn latest(&self) -> Option<CaptureEvent> {
        let mut last = None;
        while let Ok(ev) = self.rx.try_recv() {
            let failed = !matches!(ev, CaptureEvent::Frame(_));
            last = Some(ev);
            if failed {
                break;
            }
        }
        last
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            join_or_warn(t, "stopping the frame source");
        }
    }
}

/// Downscale for display so the UI thread only uploads a texture.
#[must_use]
pub fn preview_of(img: &RgbImage) -> egui::ColorImage {
    let (w, h) = img.dimensions();
    let scale = (PREVIEW_MAX_SIDE as f32 / w.max(h).max(1) as f32).min(1.0);
    let small;
    let src = if scale < 1.0 {
        let nw = ((w as f32 * scale).round() as u32).max(1);
        let nh = ((h as f32 * scale).round() as u32).max(1);
        small = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
        &small
    } else {
        img
    };
    egui::ColorImage::from_rgb([src.width() as usize, src.height() as usize], src.as_raw())
}

/// List the PNG/JPEG files of a folder in name order.
///
/// # Errors
/// When the folder cannot be read.
pub fn list_frames(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Read and decode one file into a frame (safe decoding with the configured limits).
///
/// # Errors
/// A message naming the file and what is wrong with it.
pub fn load_frame(path: &Path, limits: &ImageLimits, seq: u64, t_ms: f64) -> Result<Frame, String> {
    // Capped and type-checked like every other input: a FIFO or device is refused unread.
    let bytes = imaging::read_capped(path, limits).map_err(|e| e.to_string())?;
    // The core's error names the file already.
    let decoded = imaging::decode_bytes(&bytes, path, limits).map_err(|e| e.to_string())?;
    let preview = preview_of(&decoded.rgb);
    Ok(Frame {
        seq,
        t_ms,
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        encoded: Some(Arc::new(bytes)),
        rgb: Arc::new(decoded.rgb),
        preview: Arc::new(preview),
    })
}

/// Start a capture thread for `spec`; `wake` is called after each event (request a repaint).
#[must_use]
pub fn spawn(
    spec: SourceSpec,
    limits: ImageLimits,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> CaptureHandle {
    // Two slots: the UI takes the newest; when both are full the new frame is dropped.
    let (tx, rx) = sync_channel(2);
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("kyc-capture".into())
        .spawn(move || match spec {
            SourceSpec::Camera { index, resolution } => {
                let mut open = || NokhwaCamera::open(index, resolution, limits);
                run_camera(&mut open, CAMERA_RETRY, &tx, &stop2, wake.as_ref());
            }
            other => run_source(&other, &limits, &tx, &stop2, wake.as_ref()),
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the capture thread"))
        .ok();
    CaptureHandle { rx, stop, thread }
}

/// One picture from a camera: its pixels and, for MJPEG cameras, the JPEG as sent.
pub struct Grabbed {
    /// Full-resolution pixels.
    pub rgb: RgbImage,
    /// The encoded frame, when the camera sent one (MJPEG).
    pub jpeg: Option<Vec<u8>>,
}

/// An open camera, as the capture loop sees it. The nokhwa camera implements it; tests use a
/// scripted one to drive the error and reopen logic.
pub trait Grabber {
    /// The next picture. `Ok(None)`: this one frame was unusable (a corrupt JPEG), keep going.
    ///
    /// # Errors
    /// The device failed (unplugged, stream stopped): the loop drops it and opens it again.
    fn grab(&mut self) -> Result<Option<Grabbed>, String>;
}

/// A nokhwa camera (`Camera` is `!Send`: it is created and used only on the capture thread).
pub struct NokhwaCamera {
    camera: nokhwa::Camera,
    limits: ImageLimits,
}

impl NokhwaCamera {
    /// Open camera `index` at the format closest to `resolution` (MJPEG preferred) and start it.
    ///
    /// # Errors
    /// No such camera, busy, or no usable format.
    pub fn open(
        index: u32,
        resolution: Option<(u32, u32)>,
        limits: ImageLimits,
    ) -> Result<Self, String> {
        use nokhwa::pixel_format::RgbFormat;
        use nokhwa::utils::{
            CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
        };
        let (w, h) = resolution.unwrap_or(CAMERA_DEFAULT_RESOLUTION);
        let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(
            CameraFormat::new_from(w, h, FrameFormat::MJPEG, 30),
        ));
        let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), requested)
            .map_err(|e| format!("camera {index}: {e}"))?;
        camera
            .open_stream()
            .map_err(|e| format!("camera {index}: {e}"))?;
        Ok(NokhwaCamera { camera, limits })
    }
}

impl Grabber for NokhwaCamera {
    fn grab(&mut self) -> Result<Option<Grabbed>, String> {
        use nokhwa::pixel_format::RgbFormat;
        use nokhwa::utils::FrameFormat;
        let buffer = self.camera.frame().map_err(|e| e.to_string())?;
        if buffer.source_frame_format() == FrameFormat::MJPEG {
            // Decoded with the project's own JPEG path and limits (nokhwa's MJPEG decoder,
            // mozjpeg, is left out of the build).
            let bytes = buffer.buffer().to_vec();
            return Ok(
                imaging::decode_bytes(&bytes, Path::new("camera.jpg"), &self.limits)
                    .ok()
                    .map(|d| Grabbed {
                        rgb: d.rgb,
                        jpeg: Some(bytes),
                    }),
            );
        }
        Ok(buffer
            .decode_image::<RgbFormat>()
            .ok()
            .map(|rgb| Grabbed { rgb, jpeg: None }))
    }
}

/// The first camera the system lists, if any (the default source when one exists).
#[must_use]
pub fn first_camera() -> Option<u32> {
    let cams = nokhwa::query(nokhwa::utils::ApiBackend::Auto).ok()?;
    cams.iter().filter_map(|c| c.index().as_index().ok()).min()
}

/// Consecutive unusable frames after which the UI is told (the camera stays open).
const BAD_FRAMES_REPORTED: usize = 30;

/// The camera loop: open (through `open`), grab frames and send them; when opening fails or
/// the camera fails mid-capture, report [`CaptureEvent::Retrying`] and open it again every
/// `retry` until `stop` is set.
pub fn run_camera<G: Grabber>(
    open: &mut dyn FnMut() -> Result<G, String>,
    retry: Duration,
    tx: &SyncSender<CaptureEvent>,
    stop: &AtomicBool,
    wake: &(dyn Fn() + Send + Sync),
) {
    let started = Instant::now();
    let mut seq = 0u64;
    let mut camera: Option<G> = None;
    let mut bad = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let cam = match camera.as_mut() {
            Some(c) => c,
            None => match open() {
                Ok(c) => camera.insert(c),
                Err(e) => {
                    if !send(tx, CaptureEvent::Retrying(e), wake) {
                        return;
                    }
                    sleep_unless_stopped(retry, stop);
                    continue;
                }
            },
        };
        match cam.grab() {
            Ok(Some(g)) => {
                bad = 0;
                let preview = preview_of(&g.rgb);
                let frame = Frame {
                    seq,
                    t_ms: started.elapsed().as_secs_f64() * 1000.0,
                    name: format!(
                        "camera-{seq:06}.{}",
                        if g.jpeg.is_some() { "jpg" } else { "png" }
                    ),
                    encoded: g.jpeg.map(Arc::new),
                    rgb: Arc::new(g.rgb),
                    preview: Arc::new(preview),
                };
                seq += 1;
                if !send(tx, CaptureEvent::Frame(frame), wake) {
                    return;
                }
            }
            Ok(None) => {
                bad += 1;
                if bad.is_multiple_of(BAD_FRAMES_REPORTED)
                    && !send(
                        tx,
                        CaptureEvent::Retrying(format!("{bad} unreadable frames in a row")),
                        wake,
                    )
                {
                    return;
                }
            }
            Err(e) => {
                // Unplugged or stopped: drop the device (closing it) and open it again later.
                camera = None;
                if !send(tx, CaptureEvent::Retrying(e), wake) {
                    return;
                }
                sleep_unless_stopped(retry, stop);
            }
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

fn send(tx: &SyncSender<CaptureEvent>, ev: CaptureEvent, wake: &(dyn Fn() + Send + Sync)) -> bool {
    match tx.try_send(ev) {
        Ok(()) => {
            wake();
            true
        }
        Err(TrySendError::Full(_)) => true,
        Err(TrySendError::Disconnected(_)) => false,
    }
}

fn run_source(
    spec: &SourceSpec,
    limits: &ImageLimits,
    tx: &SyncSender<CaptureEvent>,
    stop: &AtomicBool,
    wake: &(dyn Fn() + Send + Sync),
) {
    let started = Instant::now();
    match spec {
        SourceSpec::Camera { .. } => {}
        SourceSpec::Image(path) => {
            let ev = match load_frame(path, limits, 0, 0.0) {
                Ok(f) => CaptureEvent::Frame(f),
                Err(e) => CaptureEvent::Failed(e),
            };
            // A blocking send: the one frame must arrive.
            if tx.send(ev).is_ok() {
                wake();
            }
        }
        SourceSpec::Frames { dir, fps } => {
            let files = match list_frames(dir) {
                Ok(f) if !f.is_empty() => f,
                Ok(_) => {
                    tx.send(CaptureEvent::Failed(format!(
                        "{}: no PNG or JPEG files",
                        dir.display()
                    )))
                    .warn_on_err("reporting an empty frames folder");
                    wake();
                    return;
                }
                Err(e) => {
                    tx.send(CaptureEvent::Failed(format!("{}: {e}", dir.display())))
                        .warn_on_err("reporting an unreadable frames folder");
                    wake();
                    return;
                }
            };
            let period = Duration::from_secs_f64(1.0 / fps);
            let mut seq = 0u64;
            let mut failures = 0usize;
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let path = &files[(seq as usize) % files.len()];
                let t_ms = started.elapsed().as_secs_f64() * 1000.0;
                let ev = match load_frame(path, limits, seq, t_ms) {
                    Ok(f) => {
                        failures = 0;
                        CaptureEvent::Frame(f)
                    }
                    Err(e) => {
                        failures += 1;
                        if failures < files.len() {
                            seq += 1;
                            continue;
                        }
                        CaptureEvent::Failed(e)
                    }
                };
                let failed = matches!(ev, CaptureEvent::Failed(_));
                if !send(tx, ev, wake) || failed {
                    return;
                }
                seq += 1;
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs_parse() {
        assert_eq!(
            "frames:/tmp/a".parse::<SourceSpec>(),
            Ok(SourceSpec::Frames {
                dir: "/tmp/a".into(),
                fps: 10.0
            })
        );
        assert_eq!(
            "frames:/tmp/a@25".parse::<SourceSpec>(),
            Ok(SourceSpec::Frames {
                dir: "/tmp/a".into(),
                fps: 25.0
            })
        );
        assert_eq!(
            "image:x.png".parse::<SourceSpec>(),
            Ok(SourceSpec::Image("x.png".into()))
        );
        assert!("frames:/tmp/a@0".parse::<SourceSpec>().is_err());
        assert_eq!(
            "camera".parse::<SourceSpec>(),
            Ok(SourceSpec::Camera {
                index: 0,
                resolution: None
            })
        );
        assert_eq!(
            "camera:2@1920x1080".parse::<SourceSpec>(),
            Ok(SourceSpec::Camera {
                index: 2,
                resolution: Some((1920, 1080))
            })
        );
        assert_eq!(
            "camera:1".parse::<SourceSpec>(),
            Ok(SourceSpec::Camera {
                index: 1,
                resolution: None
            })
        );
        assert!("camera:x".parse::<SourceSpec>().is_err());
        assert!("camera:0@1920".parse::<SourceSpec>().is_err());
        assert!("camera:0@0x0".parse::<SourceSpec>().is_err());
        assert!("webcam".parse::<SourceSpec>().is_err());
        assert!("frames:".parse::<SourceSpec>().is_err());
    }

    #[test]
    fn preview_is_downscaled_to_the_longest_side() {
        let img = RgbImage::new(1280, 960);
        let p = preview_of(&img);
        assert_eq!(p.size, [640, 480]);
        let small = RgbImage::new(100, 50);
        assert_eq!(preview_of(&small).size, [100, 50]);
    }

    #[test]
    fn a_missing_folder_is_reported_not_a_crash() {
        let h = spawn(
            SourceSpec::Frames {
                dir: "/nonexistent/frames".into(),
                fps: 10.0,
            },
            ImageLimits::default(),
            Arc::new(|| {}),
        );
        let ev = h.rx.recv().expect("an event");
        match ev {
            CaptureEvent::Failed(msg) => assert!(msg.contains("/nonexistent/frames"), "{msg}"),
            CaptureEvent::Frame(_) | CaptureEvent::Retrying(_) => panic!("a failure expected"),
        }
    }

    /// What the scripted camera does on each call.
    enum Script {
        Picture,
        Unplugged,
    }

    struct Scripted {
        script: std::collections::VecDeque<Script>,
    }

    impl Grabber for Scripted {
        fn grab(&mut self) -> Result<Option<Grabbed>, String> {
            match self.script.pop_front() {
                Some(Script::Picture) => Ok(Some(Grabbed {
                    rgb: RgbImage::new(8, 6),
                    jpeg: None,
                })),
                Some(Script::Unplugged) | None => Err("device unplugged".into()),
            }
        }
    }

    #[test]
    fn a_camera_that_fails_is_reported_and_reopened_until_it_works() {
        // Opening fails twice; then the camera gives 3 frames and is unplugged; the next open
        // fails once; then it gives 2 more frames and is unplugged; the sixth open ends the test.
        let opens = std::cell::Cell::new(0usize);
        let stop = AtomicBool::new(false);
        let mut open = || -> Result<Scripted, String> {
            opens.set(opens.get() + 1);
            match opens.get() {
                1 | 2 | 4 => Err(format!("open attempt {} failed", opens.get())),
                3 => Ok(Scripted {
                    script: [
                        Script::Picture,
                        Script::Picture,
                        Script::Picture,
                        Script::Unplugged,
                    ]
                    .into(),
                }),
                5 => Ok(Scripted {
                    script: [Script::Picture, Script::Picture].into(),
                }),
                _ => {
                    stop.store(true, Ordering::Relaxed);
                    Err("end of test".into())
                }
            }
        };
        let (tx, rx) = sync_channel(64);
        run_camera(&mut open, Duration::from_millis(1), &tx, &stop, &|| {});
        let got: Vec<String> = rx
            .try_iter()
            .map(|ev| match ev {
                CaptureEvent::Frame(f) => {
                    assert!(f.encoded.is_none(), "raw frames are encoded only when kept");
                    format!("frame {}", f.seq)
                }
                CaptureEvent::Retrying(m) => format!("retry: {m}"),
                CaptureEvent::Failed(m) => format!("failed: {m}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "retry: open attempt 1 failed",
                "retry: open attempt 2 failed",
                "frame 0",
                "frame 1",
                "frame 2",
                "retry: device unplugged",
                "retry: open attempt 4 failed",
                "frame 3",
                "frame 4",
                "retry: device unplugged",
                "retry: end of test",
            ]
        );
        assert_eq!(opens.get(), 6, "reopened after each failure");
    }

    #[test]
    fn no_camera_here_means_no_default_camera_and_a_retry_message() {
        // On a machine without a camera the query is empty, and opening index 99 fails with a
        // message instead of a panic.
        if first_camera().is_none() {
            assert!(NokhwaCamera::open(99, None, ImageLimits::default()).is_err());
        }
    }
}

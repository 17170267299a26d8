//! Frame sources on their own capture thread: a folder of images played as a sequence, or one
//! image. Frames cross to the UI over a bounded channel that drops stale frames instead of
//! queueing them, so a slow UI never falls behind the source.

use eframe::egui;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::imaging::{self, ImageLimits};

/// Longest side of the preview image the capture thread prepares for the screen.
pub const PREVIEW_MAX_SIDE: u32 = 640;

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
}

impl FromStr for SourceSpec {
    type Err = String;

    /// `frames:<dir>` (10 fps), `frames:<dir>@<fps>`, or `image:<file>`.
    fn from_str(s: &str) -> Result<Self, String> {
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
                "unknown source {s:?}: use frames:<folder>[@fps] or image:<file>"
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
    /// The encoded bytes as read (kept in the audit record when this frame is captured).
    pub encoded: Arc<Vec<u8>>,
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
            let failed = matches!(ev, CaptureEvent::Failed(_));
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
            let _ = t.join();
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
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decoded = imaging::decode_bytes(&bytes, path, limits)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let preview = preview_of(&decoded.rgb);
    Ok(Frame {
        seq,
        t_ms,
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        encoded: Arc::new(bytes),
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
        .spawn(move || run_source(&spec, &limits, &tx, &stop2, wake.as_ref()))
        .ok();
    CaptureHandle { rx, stop, thread }
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
                    let _ = tx.send(CaptureEvent::Failed(format!(
                        "{}: no PNG or JPEG files",
                        dir.display()
                    )));
                    wake();
                    return;
                }
                Err(e) => {
                    let _ = tx.send(CaptureEvent::Failed(format!("{}: {e}", dir.display())));
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
        assert!("camera".parse::<SourceSpec>().is_err());
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
            CaptureEvent::Frame(_) => panic!("no frame expected"),
        }
    }
}

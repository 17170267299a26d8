//! An in-window file picker for imports: folders and image files listed with `std::fs`, large
//! rows for a touch screen, drawn by egui itself — so it works under a kiosk compositor (cage)
//! and Xvfb, where no desktop portal or native dialog exists. Only the list scrolls.

use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText, Vec2};

use super::strings::Strings;

/// What the chosen file becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickFor {
    /// The document's front.
    Document,
    /// The document's back.
    Back,
    /// The selfie.
    Selfie,
}

/// One row of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File or folder name.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// A folder.
    pub is_dir: bool,
}

/// File name endings the kiosk decodes (the core sniffs the content anyway).
pub const IMAGE_EXTENSIONS: [&str; 8] =
    ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "jfif"];

/// Whether `path`'s name ends like an image the kiosk decodes.
#[must_use]
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The folders and image files in `dir`, folders first, each group by name; hidden entries
/// (starting with a dot) are left out.
///
/// # Errors
/// The folder cannot be read (the message names it).
pub fn list(dir: &Path) -> Result<Vec<Entry>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<Entry> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                return None;
            }
            let path = e.path();
            // Follows symbolic links: a link to a folder is a folder.
            let is_dir = path.is_dir();
            (is_dir || (path.is_file() && is_image(&path))).then_some(Entry { name, path, is_dir })
        })
        .collect();
    out.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(out)
}

/// The picker's state while open.
#[derive(Debug, Clone)]
pub struct FilePicker {
    /// What the chosen file becomes.
    pub pick_for: PickFor,
    /// The folder shown.
    pub dir: PathBuf,
    /// Its folders and images.
    pub entries: Vec<Entry>,
    /// The file chosen (highlighted), if any.
    pub selected: Option<PathBuf>,
    /// The folder could not be read.
    pub error: Option<String>,
}

/// What the picker's buttons did this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerAnswer {
    /// Still choosing.
    Open,
    /// Closed without a file.
    Closed,
    /// Import this file.
    Chosen(PathBuf),
}

impl FilePicker {
    /// Open on `dir` (its listing read now).
    #[must_use]
    pub fn open(pick_for: PickFor, dir: PathBuf) -> Self {
        let mut p = FilePicker {
            pick_for,
            dir: PathBuf::new(),
            entries: Vec::new(),
            selected: None,
            error: None,
        };
        p.enter(dir);
        p
    }

    /// Show `dir` instead.
    pub fn enter(&mut self, dir: PathBuf) {
        match list(&dir) {
            Ok(entries) => {
                self.entries = entries;
                self.error = None;
            }
            Err(e) => {
                self.entries.clear();
                self.error = Some(e);
            }
        }
        self.dir = dir;
        self.selected = None;
    }

    /// Show the parent folder (nothing at the root).
    pub fn up(&mut self) {
        if let Some(parent) = self.dir.parent().map(Path::to_path_buf) {
            self.enter(parent);
        }
    }
}

/// The folder the picker starts in: the last one used, else the home folder, else `/`.
#[must_use]
pub fn start_dir(last: Option<&Path>) -> PathBuf {
    last.map(Path::to_path_buf)
        .filter(|d| d.is_dir())
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Draw the picker as a modal window sized to the screen; returns what was asked.
pub fn show(ctx: &egui::Context, p: &mut FilePicker, s: &Strings) -> PickerAnswer {
    let screen = ctx.content_rect();
    let size = Vec2::new(
        (screen.width() - 80.0).clamp(320.0, 1100.0),
        (screen.height() - 120.0).clamp(300.0, 900.0),
    );
    let mut answer = PickerAnswer::Open;
    let modal = egui::Modal::new(egui::Id::unique("file_picker")).show(ctx, |ui| {
        ui.set_width(size.x);
        ui.set_height(size.y);
        ui.horizontal(|ui| {
            ui.heading(s.picker_title);
        });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    p.dir.parent().is_some(),
                    egui::Button::new(RichText::new(s.picker_up).size(21.0))
                        .min_size(Vec2::new(140.0, 48.0)),
                )
                .clicked()
            {
                p.up();
            }
            ui.label(RichText::new(p.dir.display().to_string()).monospace());
        });
        if let Some(e) = &p.error {
            super::view::error_text(ui, e);
        }
        let buttons_h = 70.0;
        let list_h = (ui.available_height() - buttons_h).max(120.0);
        let mut go_into = None;
        egui::ScrollArea::vertical()
            .id_salt("picker_list")
            .max_height(list_h)
            .min_scrolled_height(list_h)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if p.entries.is_empty() && p.error.is_none() {
                    ui.label(s.picker_empty);
                }
                for e in &p.entries {
                    let text = if e.is_dir {
                        format!("{}/", e.name)
                    } else {
                        e.name.clone()
                    };
                    let chosen = p.selected.as_deref() == Some(e.path.as_path());
                    let r = ui.add(
                        egui::Button::selectable(chosen, RichText::new(text).size(21.0))
                            .min_size(Vec2::new(ui.available_width(), 46.0)),
                    );
                    if r.clicked() {
                        if e.is_dir {
                            go_into = Some(e.path.clone());
                        } else {
                            p.selected = Some(e.path.clone());
                        }
                    }
                    if r.double_clicked() && !e.is_dir {
                        answer = PickerAnswer::Chosen(e.path.clone());
                    }
                }
            });
        if let Some(d) = go_into {
            p.enter(d);
        }
        ui.separator();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    p.selected.is_some(),
                    egui::Button::new(RichText::new(s.picker_open).size(22.0))
                        .min_size(Vec2::new(220.0, 52.0)),
                )
                .clicked()
                && let Some(path) = p.selected.clone()
            {
                answer = PickerAnswer::Chosen(path);
            }
            if ui
                .add(
                    egui::Button::new(RichText::new(s.picker_close).size(22.0))
                        .min_size(Vec2::new(160.0, 52.0)),
                )
                .clicked()
            {
                answer = PickerAnswer::Closed;
            }
        });
    });
    if answer == PickerAnswer::Open && modal.should_close() {
        answer = PickerAnswer::Closed;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_shows_folders_then_images_and_hides_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("scans")).unwrap();
        std::fs::create_dir(d.join(".cache")).unwrap();
        for f in ["b.PNG", "a.jpg", "notes.txt", ".hidden.png", "c.webp"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let names: Vec<_> = list(d).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["scans", "a.jpg", "b.PNG", "c.webp"]);
        let mut p = FilePicker::open(PickFor::Document, d.join("scans"));
        assert!(p.entries.is_empty() && p.error.is_none());
        p.up();
        assert_eq!(p.dir, d);
        p.enter(d.join("missing"));
        assert!(p.error.as_deref().is_some_and(|e| e.contains("missing")));
        assert_eq!(start_dir(Some(&d.join("missing"))), start_dir(None));
        assert_eq!(start_dir(Some(d)), d);
    }
}

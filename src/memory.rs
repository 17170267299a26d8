//! The C allocator's settings for this process.
//!
//! ONNX Runtime, the image decoders and the document reader allocate through glibc's malloc.
//! Left at its defaults, glibc gives each thread that allocates its own arena (up to eight per
//! core) and raises its mmap threshold up to 32 MiB once a large block is freed, so a decoded
//! page or a model's working buffer freed on one thread stays resident in that thread's arena.
//! Measured on `verify` with a 12 MP page (docs/performance.md, "Peak memory"), this alone is
//! ≈ 100 MiB of peak resident memory.

/// At most this many malloc arenas for the whole process (the kiosk's own threads: document,
/// two face lanes, UI).
const ARENA_MAX: i32 = 2;
/// Blocks of this size or more are mapped on their own and returned to the system on free.
const MMAP_THRESHOLD: i32 = 256 * 1024;
/// Free memory at the top of the heap above this is returned to the system.
const TRIM_THRESHOLD: i32 = 256 * 1024;

/// Bound glibc malloc's arenas and fix its mmap and trim thresholds. Call first thing in
/// `main`, before any thread starts. Returns whether every setting was accepted.
#[allow(unsafe_code)]
pub fn tune_allocator() -> bool {
    // SAFETY: `mallopt` only sets allocator parameters from integer arguments; it touches no
    // memory of ours, and is called before any other thread exists.
    let accepted = unsafe {
        [
            libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX),
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        ]
    };
    accepted.iter().all(|&ok| ok == 1)
}

//! The threads that decode a task's pictures run a few steps below the window's thread
//! (nice +[`DECODE_NICE`], Linux only). On a busy machine the window then draws its frame
//! before the decoders take their turn: a wall of 64 tasks decodes many streams at once,
//! and a frame that waits for them is a frame the operator sees late. A thread that
//! FFmpeg starts from a decode thread inherits its niceness.

/// How far below the window's thread a decode thread runs.
pub const DECODE_NICE: i32 = 5;

/// Lowers the calling thread's priority to [`DECODE_NICE`] above where it is; does nothing
/// where that cannot be done.
pub fn below_the_window() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    // SAFETY: gettid, getpriority and setpriority take and return plain integers and
    // touch no memory of ours; a failure is an error code, ignored (the thread runs on at
    // the priority it has).
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, (now + DECODE_NICE).min(19));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread's niceness, from /proc.
    #[cfg(target_os = "linux")]
    fn nice(tid: u32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        fields[16].parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn tid() -> u32 {
        // SAFETY: gettid takes nothing and returns the calling thread's id.
        unsafe { libc::gettid() as u32 }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_decode_thread_runs_below_the_thread_that_started_it() {
        let here = tid();
        let (before, after) = std::thread::Builder::new()
            .name("lowered".into())
            .spawn(|| {
                let before = nice(tid());
                below_the_window();
                (before, nice(tid()))
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(after, (before + DECODE_NICE).min(19));
        assert_eq!(nice(here), before, "only the calling thread");
    }
}

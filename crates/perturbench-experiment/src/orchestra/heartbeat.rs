//! What a worker holds while a trial runs: a heartbeat thread with its own store connection,
//! and the trial's child process, which dies with the worker.

use crate::Result;
use perturbench_hpo::storage;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sends heartbeats from its own connection until dropped. `lost()` turns true when the store
/// says the trial is no longer this worker's (it was declared dead and re-queued), or when no
/// heartbeat got through for most of the stale limit (the store is unreachable, so the trial
/// is about to be re-queued elsewhere: this worker stops first, so that two runs of one trial
/// never write at once).
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts beating for `trial_id` every `every_s` seconds; gives up after `give_up_s`
    /// seconds without a successful beat.
    pub fn start(
        url: &str,
        worker: &str,
        trial_id: i64,
        every_s: f64,
        give_up_s: f64,
    ) -> Result<Heartbeat> {
        let mut store = Some(storage::open(url)?);
        let stop = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let (st, lo) = (stop.clone(), lost.clone());
        let (url, worker) = (url.to_string(), worker.to_string());
        let every = Duration::from_secs_f64(every_s);
        let give_up = Duration::from_secs_f64(give_up_s);
        let handle = std::thread::spawn(move || {
            let mut last_try = Instant::now();
            let mut last_ok = Instant::now();
            while !st.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50).min(every));
                if last_ok.elapsed() >= give_up {
                    eprintln!(
                        "warning: no heartbeat of trial {trial_id} reached the store for {:.0} s; stopping it (it will be re-queued)",
                        give_up.as_secs_f64()
                    );
                    lo.store(true, Ordering::Relaxed);
                    return;
                }
                if last_try.elapsed() < every {
                    continue;
                }
                last_try = Instant::now();
                // A broken connection is reopened at the next beat.
                if store.is_none() {
                    store = storage::open(&url).ok();
                }
                let Some(s) = store.as_mut() else { continue };
                match s.heartbeat(trial_id, &worker) {
                    Ok(true) => last_ok = Instant::now(),
                    Ok(false) => {
                        lo.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => {
                        eprintln!("warning: heartbeat of trial {trial_id}: {e}");
                        store = None;
                    }
                }
            }
        });
        Ok(Heartbeat {
            stop,
            lost,
            handle: Some(handle),
        })
    }

    /// Whether the trial is no longer this worker's to finish.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A child process that is killed and reaped when dropped (error paths included), and that
/// the kernel kills when the worker dies (Linux: parent-death signal).
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    /// The child.
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the child is held until drop")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

/// Makes `cmd`'s process receive SIGKILL when the thread that started it exits (a worker
/// killed with `kill -9` takes its training child with it).
pub fn die_with_parent(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

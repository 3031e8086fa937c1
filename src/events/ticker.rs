//! A background thread that ticks until it is stopped, once: the live view and the output
//! without a terminal each keep one to redraw their clock and heartbeats between events.

use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

/// How a ticking thread is told to stop.
type StopSignal = Box<dyn FnOnce() + Send>;

/// A ticking thread and how to stop it; stopping it twice is stopping it once.
pub(super) struct Ticker {
    running: Mutex<Option<(StopSignal, JoinHandle<()>)>>,
}

impl Ticker {
    /// Runs `body` on a thread called `name`; [`Ticker::stop`] calls `stop`, which must make
    /// `body` return, then waits for it. A thread that cannot be started leaves no ticker.
    pub fn start(
        name: &str,
        stop: impl FnOnce() + Send + 'static,
        body: impl FnOnce() + Send + 'static,
    ) -> Ticker {
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(body)
            .ok();
        Ticker {
            running: Mutex::new(handle.map(|handle| (Box::new(stop) as StopSignal, handle))),
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, handle)) = running {
            stop();
            let _ = handle.join();
        }
    }
}

//! The signals that stop an executing command: SIGINT (Ctrl-C), SIGTERM (what CI cancels,
//! systemd and `docker stop` send) and SIGHUP (a closed terminal). The first stops the engine
//! cleanly: it claims nothing more and ends its running attempts, which kills their process
//! groups. A second one exits at once.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// Waits for the stop signals in the background; `stop` turns true at the first one, and
/// `note` shows the person what happens (above a live view's status line, not on it).
pub fn watch_stop_signals(
    stop: watch::Sender<bool>,
    note: impl Fn(&str) + Send + 'static,
) -> std::io::Result<()> {
    let mut signals = [
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
    ];
    tokio::spawn(async move {
        any(&mut signals).await;
        let _ = stop.send(true);
        note("stopping: running attempts are ended; a second Ctrl-C exits at once");
        any(&mut signals).await;
        std::process::exit(130);
    });
    Ok(())
}

/// Waits until any of `signals` arrives.
async fn any(signals: &mut [Signal; 3]) {
    let [interrupt, terminate, hangup] = signals;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
        _ = hangup.recv() => {}
    }
}

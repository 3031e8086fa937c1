//! An attempt that panics: a bug, of wfc's or of an agent adapter's. The panic is caught where
//! the attempt runs, the attempt is recorded as failed (a retry may still run the task), and
//! its slot is freed. Uncaught, the runtime swallowed it: the task stayed claimed, its
//! heartbeat renewing the lease, its slot taken, and the run waited for it forever.

use super::*;
use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that ends with what the future it wraps ends with, or with the message of its
/// panic. Once it has panicked it is not polled again.
pub(super) struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> CatchPanic<F> {
    pub(super) fn new(future: F) -> Self {
        CatchPanic(Box::pin(future))
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        // The wrapped future is dropped, never polled again, once it panicked, so whatever
        // state the panic left in it is never seen.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// The text a panic was raised with (`panic!("…")` makes a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

impl Engine {
    /// Records attempt `attempt` of `key`, which panicked with `panic`, as failed (retried if
    /// the task has retries left), and says so; a claim the engine no longer holds is left
    /// alone. A claim its success chained before the panic is given back.
    pub(super) async fn after_panic(&self, key: &TaskKey, attempt: u32, panic: &str) {
        let panic = self.bus.redactor().text(panic);
        let error =
            format!("wfc failed while running this attempt (a bug; please report it): {panic}");
        self.bus.note(&format!("error: {key}: {error}"));
        let (k, w, e) = (key.clone(), self.config.worker.clone(), error.clone());
        let failed = self
            .call(move |b| Ok(b.fail_task(&k, &w, &e, true, now_millis())))
            .await;
        if let Ok(Ok(())) = failed {
            self.emit(
                &key.run,
                EventKind::TaskFailed,
                Some(&key.task),
                serde_json::json!({ "attempt": attempt, "error": error }),
            );
        }
        for (next, attempt) in self.orphaned_by(key) {
            let why = format!(
                "the attempt of `{}` that claimed it failed (a bug)",
                key.task
            );
            if let Err(error) = self.release_claim(&next, attempt, &why, None).await {
                self.bus
                    .note(&format!("warning: cannot give back task {next}: {error}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::MemoryBackend;
    use crate::events::Redactor;
    use crate::plan::from_text::plan_of;
    use crate::runtime::agent::{AgentExecutor, AgentFuture, AgentRequest};

    /// An agent adapter with a bug: it panics in every session.
    struct Panics;

    impl AgentExecutor for Panics {
        fn execute(&self, _: AgentRequest, _: watch::Receiver<bool>) -> AgentFuture<'_> {
            Box::pin(async { panic!("the adapter tripped over its own feet") })
        }
    }

    const WORKFLOW: &str = r#"
agent helper {
  adapter = "command"
  command = ["cat"]
}
workflow w {
  task think {
    agent  = helper
    prompt = "think"
    retry  = 1
  }
  task build { run = "true" }
}
"#;

    #[test]
    fn a_panicking_attempt_fails_its_task_and_the_run_ends() {
        let (backend, ended) = run_to_end(WORKFLOW, Arc::new(Panics), Vec::new());
        assert_eq!(ended, Some(RunState::Failed));
        let think = backend
            .get_task(&TaskKey::new("r", "think"))
            .expect("think");
        assert_eq!(think.state, TaskState::Failed);
        assert_eq!(think.attempts, 2, "the retry ran too");
        let error = think.last_error.unwrap_or_default();
        assert!(
            error.contains("a bug") && error.contains("tripped over its own feet"),
            "{error}"
        );
        let build = backend
            .get_task(&TaskKey::new("r", "build"))
            .expect("build");
        assert_eq!(build.state, TaskState::Succeeded);
    }

    /// An event sink with a bug: it panics at the success of task `first`, which the
    /// engine tells it after the success (and the claim it chained) is stored.
    struct PanicsAtFirstSuccess;

    impl crate::events::EventSink for PanicsAtFirstSuccess {
        fn emit(&self, event: &crate::events::Event) {
            if event.kind == EventKind::TaskSucceeded && event.task.as_deref() == Some("first") {
                panic!("the sink tripped");
            }
        }
    }

    /// Runs run `r` of `source` with `agents` and `sinks` until it ends (or a minute passed).
    fn run_to_end(
        source: &str,
        agents: Arc<dyn AgentExecutor>,
        sinks: Vec<Arc<dyn crate::events::EventSink>>,
    ) -> (Arc<dyn TaskBackend>, Option<RunState>) {
        let folder = std::env::temp_dir().join(format!(
            "wfc-panicked-{}-{}",
            std::process::id(),
            sinks.len()
        ));
        std::fs::create_dir_all(&folder).expect("folder");
        let backend: Arc<dyn TaskBackend> = Arc::new(MemoryBackend::new());
        backend
            .create_run_with_tasks("r", &plan_of(source, "r"), None, now_millis())
            .expect("run stored");
        let bus = Arc::new(EventBus::new(Redactor::default(), sinks));
        let mut config = EngineConfig::new(folder.clone());
        config.run = Some("r".to_string());
        config.jobs = 2;
        let engine = Engine::new(Arc::clone(&backend), agents, bus, config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (_stop, stop) = watch::channel(false);
        let ended = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), engine.run(stop)).await
        });
        let _ = std::fs::remove_dir_all(&folder);
        let ended = ended.expect("the run ended instead of waiting for the panicked attempt");
        (backend, ended.expect("no engine error"))
    }

    #[test]
    fn a_claim_chained_before_a_panic_is_given_back_and_runs() {
        let source = r#"
workflow w {
  task first { run = "true" }
  task second after first { run = "true" }
}
"#;
        let (backend, ended) = run_to_end(
            source,
            Arc::new(Panics),
            vec![Arc::new(PanicsAtFirstSuccess)],
        );
        assert_eq!(ended, Some(RunState::Succeeded));
        let second = backend
            .get_task(&TaskKey::new("r", "second"))
            .expect("second");
        assert_eq!(second.state, TaskState::Succeeded);
    }

    #[test]
    fn a_panic_message_is_read_from_either_kind_of_payload() {
        let text: Box<dyn Any + Send> = Box::new("plain");
        assert_eq!(panic_message(text.as_ref()), "plain");
        let formatted: Box<dyn Any + Send> = Box::new(format!("made {}", 1));
        assert_eq!(panic_message(formatted.as_ref()), "made 1");
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(other.as_ref()), "a panic without a message");
    }
}

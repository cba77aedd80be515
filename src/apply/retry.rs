//! Retrying what may pass (throttling, 5xx, webhooks not ready, kinds whose CRD is on its
//! way) with exponential backoff, until a deadline or until the user stops the run.

use std::fmt;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::cluster::RequestError;

const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// Polls for a state the cluster reaches on its own look more often than retries.
const MAX_POLL_DELAY: Duration = Duration::from_secs(2);

/// Why an operation ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A failure retrying cannot fix.
    Request(RequestError),
    /// The deadline passed; the last failure, and how often it was tried.
    Deadline {
        /// The last failure seen, if the operation ever failed.
        last: Option<RequestError>,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The user interrupted the run.
    Stopped,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => e.fmt(f),
            Self::Deadline {
                last: Some(e),
                attempts,
            } => write!(f, "gave up after {attempts} attempts: {e}"),
            Self::Deadline { last: None, .. } => f.write_str("timed out"),
            Self::Stopped => f.write_str("interrupted"),
        }
    }
}

/// The user's request to stop, shared by every task of a run. A switch that is dropped
/// without being raised never stops the run.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop signal and the switch that raises it.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// Whether the run was asked to stop.
    pub fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Sleeps for `delay`, or less if the run is stopped; `Err(Stopped)` then.
    pub async fn sleep(&self, delay: Duration) -> Result<(), Failure> {
        let mut signal = self.0.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            Ok(_) = signal.wait_for(|raised| *raised) => Err(Failure::Stopped),
        }
    }

    /// Runs `work` unless and until the run is stopped.
    pub async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, Failure> {
        let mut signal = self.0.clone();
        tokio::select! {
            result = work => Ok(result),
            Ok(_) = signal.wait_for(|raised| *raised) => Err(Failure::Stopped),
        }
    }
}

/// The growing pause between attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

/// Why a [`Backoff::pause`] did not end in another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// The next attempt would come after the deadline.
    Deadline,
    /// The user interrupted the run.
    Stopped,
}

impl Default for Backoff {
    /// Retries: from 200 ms, doubling up to 5 s.
    fn default() -> Self {
        Self {
            next: FIRST_DELAY,
            max: MAX_DELAY,
        }
    }
}

impl Backoff {
    /// Polls for what the cluster does by itself (rollouts, deletions, endpoints): from
    /// 200 ms, doubling up to 2 s.
    pub fn polling() -> Self {
        Self {
            next: FIRST_DELAY,
            max: MAX_POLL_DELAY,
        }
    }

    /// The next pause.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Sleeps the next pause, unless the attempt after it would miss the deadline or
    /// the run is stopped meanwhile.
    pub async fn pause(&mut self, deadline: Instant, stop: &Stop) -> Result<(), Pause> {
        let delay = self.next_delay();
        if Instant::now() + delay >= deadline {
            return Err(Pause::Deadline);
        }
        stop.sleep(delay).await.map_err(|_| Pause::Stopped)
    }
}

/// Runs `operation` until it succeeds, fails for good, the deadline passes or the run is
/// stopped.
pub async fn retry<T, F, Fut>(
    deadline: Instant,
    stop: &Stop,
    mut operation: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut backoff = Backoff::default();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = stop.guard(tokio::time::timeout(remaining, operation()));
        let last = match attempt.await? {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) if !e.is_retryable() => return Err(Failure::Request(e)),
            Ok(Err(e)) => Some(e),
            Err(_elapsed) => None,
        };
        match backoff.pause(deadline, stop).await {
            Ok(()) => {}
            Err(Pause::Deadline) => return Err(Failure::Deadline { last, attempts }),
            Err(Pause::Stopped) => return Err(Failure::Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_dropped_switch_never_stops_the_run_and_a_raised_one_does() {
        let (raise, stop) = Stop::new();
        drop(raise);
        assert!(stop.sleep(Duration::from_secs(1)).await.is_ok());
        assert_eq!(stop.guard(async { 7 }).await.ok(), Some(7));
        let (raise, stop) = Stop::new();
        raise.send(true).unwrap();
        assert!(matches!(
            stop.sleep(Duration::from_secs(1)).await,
            Err(Failure::Stopped)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let (_tx, stop) = Stop::new();
        let mut calls = 0;
        let result = retry(Instant::now() + Duration::from_secs(60), &stop, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(RequestError::Transient("503".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_and_deadlines_end_the_retries() {
        let (_tx, stop) = Stop::new();
        let rejected = retry(Instant::now() + Duration::from_secs(60), &stop, || async {
            Err::<(), _>(RequestError::Rejected("invalid".into()))
        })
        .await;
        assert_eq!(
            rejected,
            Err(Failure::Request(RequestError::Rejected("invalid".into())))
        );
        let timed_out = retry(Instant::now() + Duration::from_secs(3), &stop, || async {
            Err::<(), _>(RequestError::Transient("503".into()))
        })
        .await;
        assert!(
            matches!(timed_out, Err(Failure::Deadline { last: Some(RequestError::Transient(_)), attempts }) if attempts > 2),
            "{timed_out:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_interrupts_the_wait() {
        let (tx, stop) = Stop::new();
        let waiting = retry(Instant::now() + Duration::from_secs(600), &stop, || async {
            Err::<(), _>(RequestError::Transient("503".into()))
        });
        let raise = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = tx.send(true);
        };
        let (result, ()) = tokio::join!(waiting, raise);
        assert_eq!(result, Err(Failure::Stopped));
    }
}

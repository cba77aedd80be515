//! The real cluster `CRUNCH_TEST_KUBECONFIG` names (`tools/control-plane`), shared by the
//! real-cluster suites (`apply`, `dataplane`, `bigbang_apply`) of the one test process:
//! one stand-in data plane beside it for all of them (two would play the same nodes), and
//! one suite on it at a time, since each suite expects the cluster to hold nothing of
//! another's (`apply` deletes the world's namespaces before each test, `dataplane` places
//! pods on every node and counts the load balancer's addresses, `bigbang_apply` prunes).
//! Tests of the same suite share its turn, as they did in a test binary of their own.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use super::dataplane::DataPlane;

/// The real cluster during one test; tests of other suites wait until it is dropped.
pub struct RealCluster {
    /// The cluster's admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The stand-in data plane beside the cluster, running.
    pub data_plane: &'static DataPlane,
    _turn: Turn,
}

/// The real cluster for a test of `suite`, once no other suite's test holds it, with the
/// data plane started beside it; `None` without `CRUNCH_TEST_KUBECONFIG`.
pub fn claim(suite: &'static str) -> Option<RealCluster> {
    let kubeconfig = PathBuf::from(std::env::var_os("CRUNCH_TEST_KUBECONFIG")?);
    let turn = Turn::take(suite);
    static DATA_PLANE: OnceLock<DataPlane> = OnceLock::new();
    let data_plane = DATA_PLANE.get_or_init(|| DataPlane::start(&kubeconfig));
    Some(RealCluster {
        kubeconfig,
        data_plane,
        _turn: turn,
    })
}

/// The suite whose tests use the cluster now, and how many of its tests do.
struct Turns {
    suite: Option<&'static str>,
    tests: usize,
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    suite: None,
    tests: 0,
});
static TURN_ENDED: Condvar = Condvar::new();

/// One test's part in its suite's turn on the cluster.
struct Turn;

impl Turn {
    fn take(suite: &'static str) -> Turn {
        let mut turns = turns();
        while turns.suite.is_some_and(|current| current != suite) {
            turns = TURN_ENDED
                .wait(turns)
                .unwrap_or_else(PoisonError::into_inner);
        }
        turns.suite = Some(suite);
        turns.tests += 1;
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = turns();
        turns.tests -= 1;
        if turns.tests == 0 {
            turns.suite = None;
            TURN_ENDED.notify_all();
        }
    }
}

/// The turns, also after a test failed while holding their lock (the count stays true:
/// it is only changed under the lock, never by code that can panic).
fn turns() -> MutexGuard<'static, Turns> {
    TURNS.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::Turn;

    #[test]
    fn suites_take_turns_and_the_tests_of_one_suite_share_its_turn() {
        let first = Turn::take("turns-a");
        let second = Turn::take("turns-a");
        let (started, wait_started) = mpsc::channel();
        let other = std::thread::spawn(move || {
            let _turn = Turn::take("turns-b");
            started.send(()).unwrap();
        });
        let moment = Duration::from_millis(200);
        assert!(
            wait_started.recv_timeout(moment).is_err(),
            "another suite waits"
        );
        drop(first);
        assert!(
            wait_started.recv_timeout(moment).is_err(),
            "until the suite's last test is done"
        );
        drop(second);
        wait_started
            .recv_timeout(Duration::from_secs(10))
            .expect("then its turn comes");
        other.join().unwrap();
    }
}

//! Running one async step of a synchronous test.

/// Runs `future` to completion on a fresh single-threaded runtime.
pub fn block<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

//! Admission to password hashing. Each argon2 run holds 19 MiB, so the number running at once —
//! not the request rate — decides how much memory logins can take. Runs are bounded to the
//! number of cores; a bounded queue waits behind them for a short deadline, and whatever does not
//! fit is refused at once with 503 + `Retry-After` instead of piling up memory.
//!
//! The runs happen on the pool's own long-lived threads, not tokio's blocking pool: the allocator
//! keeps a freed 19 MiB buffer in the arena of the thread that freed it, and the blocking pool
//! starts new threads under bursts (each with a new arena), which left hundreds of megabytes
//! resident after a burst even with the number of runs bounded. A fixed set of threads reuses
//! a fixed set of arenas.

use std::{
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use tokio::sync::{Semaphore, SemaphorePermit, oneshot};

use crate::error::{AppError, AppResult};

/// How long a request may wait for a hashing slot before it is refused.
const MAX_WAIT: Duration = Duration::from_secs(3);
/// Requests allowed to wait per hashing slot; beyond that they are refused without waiting.
const WAITING_PER_SLOT: usize = 16;

/// The process-wide pool (hashing is CPU-bound, so one pool per machine is the right bound).
static POOL: LazyLock<HashPool> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    HashPool::new(cores, WAITING_PER_SLOT * cores, MAX_WAIT)
});

/// Runs `work` (an argon2 hash or verification) on a blocking thread once a slot is free.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    POOL.run(work).await
}

/// One unit of work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// A bounded set of hashing threads with a bounded, deadline-limited queue in front.
pub struct HashPool {
    /// One permit per thread: a job is handed over only when a thread is free for it.
    slots: Semaphore,
    jobs: mpsc::Sender<Job>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

impl HashPool {
    /// `threads` runs at once, at most `max_waiting` queued, each for at most `max_wait`.
    pub fn new(threads: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || work_loop(&queue));
            if let Err(err) = started {
                tracing::error!(%err, "could not start a password hashing thread");
            }
        }
        Self {
            slots: Semaphore::new(threads),
            jobs,
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// Waits for a slot (or refuses with 503), then runs `work` on a hashing thread.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self.admit().await?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::internal("password hashing threads are gone"))?;
        result
            .await
            .map_err(|_| AppError::internal("a password hashing job panicked"))
    }

    async fn admit(&self) -> AppResult<SemaphorePermit<'_>> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        let _place = QueuePlace::take(&self.waiting, self.max_waiting).ok_or_else(|| {
            tracing::warn!("password hashing queue full; refusing a login");
            AppError::busy(1)
        })?;
        match tokio::time::timeout(self.max_wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(AppError::internal(closed)),
            Err(_) => {
                tracing::warn!("password hashing slot not free in time; refusing a login");
                Err(AppError::busy(self.max_wait.as_secs()))
            }
        }
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// A hashing thread: runs jobs until the pool is dropped. A panicking job loses only itself.
fn work_loop(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// One place in the queue, given back when dropped (also when the waiting request is cancelled).
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicUsize, max: usize) -> Option<Self> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::AtomicUsize};

    use super::*;

    /// Work that records how many copies run at once.
    fn tracked(running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> impl FnOnce() + Send {
        move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_runs_more_than_its_slots() {
        let pool = Arc::new(HashPool::new(2, 100, Duration::from_secs(10)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
                tokio::spawn(async move { pool.run(tracked(running, peak)).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn refuses_beyond_the_queue_at_once_and_after_the_deadline() {
        let pool = Arc::new(HashPool::new(1, 1, Duration::from_millis(100)));
        let slow = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(|| std::thread::sleep(Duration::from_millis(600)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| ()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The one queue place is taken: refused without waiting.
        let full = pool.run(|| ()).await.unwrap_err();
        assert_eq!(full.status.as_u16(), 503);
        assert_eq!(full.retry_after, Some(1));
        // The queued one gives up at its deadline while the slot is still busy.
        let late = queued.await.unwrap().unwrap_err();
        assert_eq!(late.status.as_u16(), 503);
        assert!(late.retry_after.is_some());
        assert!(slow.await.unwrap().is_ok());
        assert_eq!(pool.waiting(), 0);
    }
}

//! Password hashing on a fixed set of threads, each with one reusable
//! argon2 buffer: the memory of hashing is bounded by the configuration,
//! not by the traffic.
//!
//! Why: argon2id takes `m` KiB (19 MiB at OWASP's parameters) per hash.
//! Run on whichever thread of a large blocking pool is free, every one of
//! those threads ends up with its own allocator arena holding freed 19 MiB
//! buffers that glibc does not give back: a login storm grew the process
//! to gigabytes. Here exactly `concurrency` threads (`userhub-hash-N`) do
//! all argon2 work for the life of the pool, each in its own
//! [`HashMemory`], allocated when the pool starts and reused for every job,
//! so hashing holds `concurrency × m` KiB from the start and never more,
//! however many requests come. Taking it at start makes the cost visible
//! (and a host that cannot afford it fail) when the service starts, not
//! during the first burst of logins.
//!
//! Jobs reach the threads through a bounded queue. A job not *started*
//! within the queue wait of being submitted is answered
//! [`HashError::Busy`] (the HTTP layer answers 503 with `Retry-After`), and
//! a full queue answers `Busy` at once: no caller waits longer than the
//! queue wait for a slot. Once a job has started, its caller waits for its
//! answer, which always comes: a job that panics is answered
//! [`HashError::Failed`] and its thread carries on with the next job.
//!
//! Security intent: the work for an unknown user (or a user without a
//! password) is a verification against a dummy hash at the current
//! parameters, the same work as for a real one, answered
//! [`Verification::Mismatch`]; passwords never print (their `Debug` is
//! `***`) and are zeroed when the job that carried them is done.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use userhub_domain::hash_format::HashFormat;
use userhub_domain::password::{
    HashMemory, HashParams, Password, PasswordHash, Verification, hash_password_with,
};

use crate::foreign_hash;

/// Why a hash or verification was not done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// No hashing thread took the job within the queue wait, or the queue
    /// was full: the client should retry after `retry_after` seconds.
    #[error("every hashing slot is busy; retry after {retry_after} s")]
    Busy {
        /// Seconds to tell the client to wait.
        retry_after: u64,
    },
    /// The work failed (memory could not be had, a job panicked); the
    /// message is for the log, not the client.
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// Seconds a client is told to wait when no hashing slot was free.
pub const BUSY_RETRY_AFTER: u64 = 1;

/// Queued jobs per hashing thread. At the default cost a thread finishes a
/// hash in 20–60 ms, so in the default 2 s wait it can start about this
/// many; jobs queued beyond it would only wait out the wait to be told
/// `Busy`, so they are told at once.
const QUEUE_PER_THREAD: usize = 64;

/// Longest queue wait honoured; longer settings are cut to it (an hour is
/// already far beyond any client's patience, and it keeps deadlines finite).
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(3600);

/// Most memory a stored hash may ask for (2 GiB, RFC 9106's first
/// recommended setting). A stored hash beyond it is refused with
/// [`HashError::Failed`] rather than risk the process on one login.
pub const MAX_VERIFY_MEMORY_KIB: u32 = 2 * 1024 * 1024;

/// Argon2 work on `concurrency` long-lived threads. Cheap to clone: every
/// clone feeds the same threads, which stop when the last clone is dropped.
///
/// Its methods block the calling thread (at most the queue wait for a
/// slot, then the hash itself): call them from a blocking thread, never
/// from an async event loop.
#[derive(Clone)]
pub struct HasherPool {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: SyncSender<Job>,
    queue_wait: Duration,
    concurrency: usize,
    capacity: usize,
    shared: Arc<Shared>,
}

/// What every hashing thread reads.
struct Shared {
    params: HashParams,
    /// A hash of a password nobody knows, at the current parameters.
    dummy: PasswordHash,
    /// Verifications of stored hashes larger than the threads' buffers.
    oversized: Gate,
    /// Jobs running on a thread now.
    in_use: AtomicUsize,
    /// Jobs answered `Busy` since the pool started.
    turned_away: AtomicU64,
}

/// The hashing slots as they are now, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotState {
    /// Hashing threads (slots) in all.
    pub slots: usize,
    /// Slots running a job now.
    pub in_use: usize,
    /// Requests answered `Busy` (503) since the pool started.
    pub turned_away: u64,
}

impl fmt::Debug for HasherPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HasherPool")
            .field("params", &self.inner.shared.params)
            .field("concurrency", &self.inner.concurrency)
            .field("queue_capacity", &self.inner.capacity)
            .field("queue_wait", &self.inner.queue_wait)
            .finish()
    }
}

impl HasherPool {
    /// Start `concurrency` hashing threads for hashes under `params`, each
    /// with its buffer (`params.memory_kib` KiB); a job waits at most
    /// `queue_wait` for one of them. Fails with one line when argon2 refuses
    /// the parameters, `concurrency` is 0, the buffers cannot be had, or a
    /// thread cannot be started.
    pub fn new(
        params: HashParams,
        concurrency: usize,
        queue_wait: Duration,
    ) -> Result<Self, String> {
        if concurrency == 0 {
            return Err("hash concurrency must be at least 1".into());
        }
        // Every buffer is made here, so that unusable parameters and
        // unaffordable memory are refused before any thread starts.
        let mut buffers = (0..concurrency)
            .map(|_| HashMemory::for_params(&params))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("password hashing cannot start: {}", e.message))?;
        let secret: [u64; 4] = rand::random();
        let secret: String = secret.iter().map(|w| format!("{w:016x}")).collect();
        let dummy_password = Password::for_verification(&secret);
        let dummy = match buffers.first_mut() {
            Some(buffer) => hash_password_with(&dummy_password, &params, buffer)
                .map_err(|e| format!("argon2 parameters are not usable: {}", e.message))?,
            None => return Err("hash concurrency must be at least 1".into()),
        };
        let shared = Arc::new(Shared {
            params,
            dummy,
            oversized: Gate::default(),
            in_use: AtomicUsize::new(0),
            turned_away: AtomicU64::new(0),
        });
        let capacity = concurrency.saturating_mul(QUEUE_PER_THREAD);
        let (jobs, queue) = mpsc::sync_channel(capacity);
        let queue = Arc::new(Mutex::new(queue));
        for (n, memory) in buffers.into_iter().enumerate() {
            let worker = Worker {
                shared: Arc::clone(&shared),
                memory,
            };
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("userhub-hash-{n}"))
                .spawn(move || worker.run(&queue))
                .map_err(|e| format!("cannot start a hashing thread: {e}"))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                jobs,
                queue_wait: queue_wait.min(MAX_QUEUE_WAIT),
                concurrency,
                capacity,
                shared,
            }),
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.inner.shared.params
    }

    /// The slots as they are now (cheap: three atomic reads).
    pub fn slot_state(&self) -> SlotState {
        let shared = &self.inner.shared;
        SlotState {
            slots: self.inner.concurrency,
            in_use: shared.in_use.load(Ordering::Relaxed),
            turned_away: shared.turned_away.load(Ordering::Relaxed),
        }
    }

    /// Hash `password` under the current parameters.
    pub fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        self.call(move |worker, _| worker.hash(&password))
    }

    /// Check `password` against `stored`. With `None` (an unknown user, a
    /// user without a password) the same work is spent on the dummy hash
    /// and the answer is [`Verification::Mismatch`].
    pub fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, HashError> {
        let (stored, password) = (stored.cloned(), password.clone());
        self.call(move |worker, deadline| worker.verify(stored.as_ref(), &password, deadline))
    }

    /// [`HasherPool::verify`], and when the password is right but its hash
    /// was made with other parameters, a new hash made in the same slot.
    /// A failed re-hash is logged and answered `None`: the login stands.
    pub fn verify_and_upgrade(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<(Verification, Option<PasswordHash>), HashError> {
        let (stored, password) = (stored.cloned(), password.clone());
        self.call(move |worker, deadline| {
            worker.verify_and_upgrade(stored.as_ref(), &password, deadline)
        })
    }

    /// Queue `work` with a deadline to start by; `Busy` when the queue is full.
    fn submit<T, F>(
        &self,
        work: F,
        reply: SyncSender<Result<T, HashError>>,
    ) -> Result<Arc<Ticket>, HashError>
    where
        F: FnOnce(&mut Worker, Instant) -> Result<T, HashError> + Send + 'static,
        T: Send + 'static,
    {
        let ticket = Arc::new(Ticket {
            state: AtomicU8::new(QUEUED),
            deadline: Instant::now() + self.inner.queue_wait,
        });
        let job = Job {
            ticket: Arc::clone(&ticket),
            // A caller that has gone away has no use for the answer.
            work: Box::new(move |worker, deadline| {
                let _ = reply.try_send(work(worker, deadline));
            }),
        };
        match self.inner.jobs.try_send(job) {
            Ok(()) => Ok(ticket),
            Err(TrySendError::Full(_)) => Err(busy()),
            // Only when every thread has stopped, which a panicking job
            // does not do (it is caught); answer as for a full queue.
            Err(TrySendError::Disconnected(_)) => Err(busy()),
        }
    }

    /// Run `work` on a hashing thread and wait for its answer.
    fn call<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce(&mut Worker, Instant) -> Result<T, HashError> + Send + 'static,
        T: Send + 'static,
    {
        let answer = self.call_counted(work);
        if matches!(answer, Err(HashError::Busy { .. })) {
            self.inner
                .shared
                .turned_away
                .fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    /// [`HasherPool::call`] before `Busy` answers are counted.
    fn call_counted<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce(&mut Worker, Instant) -> Result<T, HashError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let ticket = self.submit(work, reply)?;
        let wait = ticket.deadline.saturating_duration_since(Instant::now());
        match answer.recv_timeout(wait) {
            Ok(answer) => answer,
            // Not started in time: withdraw it, unless a thread just took it.
            Err(RecvTimeoutError::Timeout) if ticket.abandon() => Err(busy()),
            Err(RecvTimeoutError::Timeout) => answer.recv().unwrap_or_else(|_| Err(lost())),
            // Dropped unstarted (its deadline passed in the queue) or lost
            // to a panic once started.
            Err(RecvTimeoutError::Disconnected) if ticket.abandon() => Err(busy()),
            Err(RecvTimeoutError::Disconnected) => Err(lost()),
        }
    }

    /// Run `work` on a hashing thread, for tests of the pool's own behaviour.
    #[cfg(test)]
    fn call_for_test<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.call(move |_, _| Ok(work()))
    }
}

fn busy() -> HashError {
    HashError::Busy {
        retry_after: BUSY_RETRY_AFTER,
    }
}

fn lost() -> HashError {
    HashError::Failed("the hashing job stopped without an answer".into())
}

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const WITHDRAWN: u8 = 2;

/// Whether a job was taken by a thread or withdrawn, decided once: the
/// caller that gives up and the thread that starts the job race on it.
struct Ticket {
    state: AtomicU8,
    /// The job must start before this, or not at all.
    deadline: Instant,
}

impl Ticket {
    /// For the thread: take the job if it is still wanted and on time.
    fn start(&self) -> bool {
        if Instant::now() >= self.deadline {
            self.abandon();
            return false;
        }
        self.state
            .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// For the caller: withdraw the job unless it has started. True when
    /// it is (now or already) withdrawn, false when a thread has it.
    fn abandon(&self) -> bool {
        match self
            .state
            .compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == WITHDRAWN,
        }
    }
}

type Work = Box<dyn FnOnce(&mut Worker, Instant) + Send>;

struct Job {
    ticket: Arc<Ticket>,
    work: Work,
}

/// One hashing thread's state: its buffer and what the threads share.
struct Worker {
    shared: Arc<Shared>,
    /// Sized for the current parameters; every job of this thread uses it.
    memory: HashMemory,
}

impl Worker {
    fn run(mut self, queue: &Mutex<Receiver<Job>>) {
        loop {
            // The lock is held only to take a job, never while running one.
            let job = match lock(queue).recv() {
                Ok(job) => job,
                // Every sender is gone: the pool was dropped.
                Err(_) => return,
            };
            if !job.ticket.start() {
                // Withdrawn or late: dropping it tells a waiting caller.
                continue;
            }
            let deadline = job.ticket.deadline;
            let work = job.work;
            let shared = Arc::clone(&self.shared);
            shared.in_use.fetch_add(1, Ordering::Relaxed);
            let outcome = catch_unwind(AssertUnwindSafe(|| work(&mut self, deadline)));
            shared.in_use.fetch_sub(1, Ordering::Relaxed);
            if outcome.is_err() {
                // The reply was dropped with the job, so its caller gets
                // `Failed`; this thread stays for the next job. The buffer
                // holds nothing that the next hash does not overwrite.
                log::error!("a password hashing job panicked; its request failed");
            }
        }
    }

    fn hash(&mut self, password: &Password) -> Result<PasswordHash, HashError> {
        let params = self.shared.params;
        hash_password_with(password, &params, &mut self.memory)
            .map_err(|e| HashError::Failed(e.message))
    }

    fn verify(
        &mut self,
        stored: Option<&PasswordHash>,
        password: &Password,
        deadline: Instant,
    ) -> Result<Verification, HashError> {
        let params = self.shared.params;
        let Some(stored) = stored else {
            // Same work as a real verification; its outcome is irrelevant.
            let _ = self
                .shared
                .dummy
                .verify_with(password, &params, &mut self.memory)
                .map_err(|e| HashError::Failed(e.message))?;
            return Ok(Verification::Mismatch);
        };
        if !matches!(stored.format(), HashFormat::Argon2 { .. }) {
            return self.verify_foreign(stored, password, deadline);
        }
        match stored.params() {
            Some(cost) if !self.memory.fits(&cost) => {
                self.verify_oversized(stored, cost, password, deadline)
            }
            // Fits the buffer, or unreadable (no work: it cannot match).
            _ => stored
                .verify_with(password, &params, &mut self.memory)
                .map_err(|e| HashError::Failed(e.message)),
        }
    }

    /// An imported hash of another format (bcrypt, PBKDF2, scrypt,
    /// SHA-crypt): a match always asks for a re-hash to argon2id. Its own
    /// memory (scrypt's) is allocated by its implementation; one that needs
    /// more than this thread's buffer takes the same one-at-a-time turn as
    /// an oversized argon2 hash.
    fn verify_foreign(
        &mut self,
        stored: &PasswordHash,
        password: &Password,
        deadline: Instant,
    ) -> Result<Verification, HashError> {
        let buffer_kib = u64::try_from(self.memory.kib()).unwrap_or(u64::MAX);
        let _turn = if stored.format().memory_kib() > buffer_kib {
            match self.shared.oversized.enter(deadline) {
                Some(turn) => Some(turn),
                None => return Err(busy()),
            }
        } else {
            None
        };
        match foreign_hash::verify(stored, password) {
            Ok(true) => Ok(Verification::Match { needs_rehash: true }),
            Ok(false) => Ok(Verification::Mismatch),
            Err(detail) => Err(HashError::Failed(detail)),
        }
    }

    /// A stored hash made with more memory than the buffer (imported, or
    /// made before the parameters were lowered). Its memory is allocated
    /// for this call and freed after it, and only one such call runs at a
    /// time: otherwise a burst of logins by such users would hold
    /// `concurrency` × its memory at once, and the buffers would stay
    /// sized for the largest hash ever seen.
    fn verify_oversized(
        &mut self,
        stored: &PasswordHash,
        cost: HashParams,
        password: &Password,
        deadline: Instant,
    ) -> Result<Verification, HashError> {
        if cost.memory_kib > MAX_VERIFY_MEMORY_KIB {
            return Err(HashError::Failed(format!(
                "a stored hash asks for {} KiB, more than the {MAX_VERIFY_MEMORY_KIB} KiB allowed",
                cost.memory_kib
            )));
        }
        let Some(_turn) = self.shared.oversized.enter(deadline) else {
            return Err(busy());
        };
        let mut memory = HashMemory::for_params(&cost).map_err(|e| HashError::Failed(e.message))?;
        let params = self.shared.params;
        stored
            .verify_with(password, &params, &mut memory)
            .map_err(|e| HashError::Failed(e.message))
    }

    fn verify_and_upgrade(
        &mut self,
        stored: Option<&PasswordHash>,
        password: &Password,
        deadline: Instant,
    ) -> Result<(Verification, Option<PasswordHash>), HashError> {
        let outcome = self.verify(stored, password, deadline)?;
        let upgraded = match outcome {
            Verification::Match { needs_rehash: true } => match self.hash(password) {
                Ok(hash) => Some(hash),
                Err(e) => {
                    log::warn!("the password was right but re-hashing it failed: {e}");
                    None
                }
            },
            _ => None,
        };
        Ok((outcome, upgraded))
    }
}

/// A semaphore of one with a deadline: std has no timed lock.
#[derive(Default)]
struct Gate {
    taken: Mutex<bool>,
    freed: Condvar,
}

struct Turn<'a>(&'a Gate);

impl Gate {
    /// Wait until the gate is free or `deadline`; `None` if it never was.
    fn enter(&self, deadline: Instant) -> Option<Turn<'_>> {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (mut taken, _) = self
            .freed
            .wait_timeout_while(lock(&self.taken), wait, |taken| *taken)
            .unwrap_or_else(PoisonError::into_inner);
        if *taken {
            return None;
        }
        *taken = true;
        Some(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *lock(&self.0.taken) = false;
        self.0.freed.notify_one();
    }
}

/// Lock `mutex`; a panic elsewhere while it was held leaves data that is
/// still consistent here (a receiver, a flag), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl From<HashError> for userhub_domain::ports::HashError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy { retry_after } => Self::Busy { retry_after },
            HashError::Failed(detail) => Self::Failed(detail),
        }
    }
}

/// The domain's hashing port, on the pool's threads.
impl userhub_domain::ports::PasswordHasher for HasherPool {
    fn hash(&self, password: &Password) -> Result<PasswordHash, userhub_domain::ports::HashError> {
        Ok(HasherPool::hash(self, password)?)
    }

    fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, userhub_domain::ports::HashError> {
        Ok(HasherPool::verify(self, stored, password)?)
    }

    fn verify_and_rehash(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<(Verification, Option<PasswordHash>), userhub_domain::ports::HashError> {
        Ok(self.verify_and_upgrade(stored, password)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use userhub_domain::password::hash_password;

    const CHEAP: HashParams = HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    fn pool(concurrency: usize, wait: Duration) -> HasherPool {
        HasherPool::new(CHEAP, concurrency, wait).unwrap()
    }

    fn pw(s: &str) -> Password {
        Password::for_verification(s)
    }

    #[test]
    fn hashes_and_verifies() {
        let pool = pool(2, Duration::from_secs(5));
        assert_eq!(pool.params(), CHEAP);
        let hash = pool.hash(&pw("correct horse")).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert_eq!(
            pool.verify(Some(&hash), &pw("correct horse")).unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            pool.verify(Some(&hash), &pw("wrong")).unwrap(),
            Verification::Mismatch
        );
        // No stored hash: the dummy's work, and never a match.
        assert_eq!(
            pool.verify(None, &pw("anything")).unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn work_runs_on_the_named_threads_only() {
        let pool = pool(2, Duration::from_secs(5));
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let name = pool
                .call_for_test(|| std::thread::current().name().map(str::to_owned))
                .unwrap()
                .unwrap();
            names.insert(name);
        }
        assert!(
            names
                .iter()
                .all(|n| n == "userhub-hash-0" || n == "userhub-hash-1"),
            "{names:?}"
        );
    }

    #[test]
    fn outdated_hashes_are_upgraded_in_the_same_job() {
        let pool = pool(1, Duration::from_secs(5));
        let older = HashParams {
            memory_kib: 128,
            ..CHEAP
        };
        let old = hash_password(&pw("correct horse"), &older).unwrap();
        let (outcome, upgraded) = pool
            .verify_and_upgrade(Some(&old), &pw("correct horse"))
            .unwrap();
        assert_eq!(outcome, Verification::Match { needs_rehash: true });
        let upgraded = upgraded.unwrap();
        assert_eq!(upgraded.params(), Some(CHEAP));
        let (outcome, again) = pool
            .verify_and_upgrade(Some(&upgraded), &pw("correct horse"))
            .unwrap();
        assert_eq!(
            outcome,
            Verification::Match {
                needs_rehash: false
            }
        );
        assert!(again.is_none());
        let (outcome, none) = pool.verify_and_upgrade(None, &pw("x")).unwrap();
        assert_eq!(outcome, Verification::Mismatch);
        assert!(none.is_none());
    }

    #[test]
    fn hashes_larger_than_the_buffer_still_verify() {
        let pool = pool(2, Duration::from_secs(5));
        let larger = HashParams {
            memory_kib: 1024,
            ..CHEAP
        };
        let big = hash_password(&pw("correct horse"), &larger).unwrap();
        assert_eq!(
            pool.verify(Some(&big), &pw("correct horse")).unwrap(),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            pool.verify(Some(&big), &pw("wrong")).unwrap(),
            Verification::Mismatch
        );
        // Beyond the allowed maximum: such a hash does not even exist.
        let huge = PasswordHash::parse(&big.as_phc().replace("m=1024", "m=4194304"));
        assert_eq!(huge.unwrap_err().code, "too_costly");
    }

    /// The fixtures made by each format's reference implementation
    /// (`tests/fixtures/make_foreign_hashes.py` says how).
    #[test]
    fn foreign_hashes_verify_and_ask_for_rehash() {
        #[derive(serde::Deserialize)]
        struct Vector {
            name: String,
            password: String,
            hash: String,
        }
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../tests/fixtures/foreign_hashes.json")).unwrap();
        assert!(vectors.len() >= 30);
        let pool = pool(2, Duration::from_secs(60));
        for vector in &vectors {
            let stored = PasswordHash::parse(&vector.hash)
                .unwrap_or_else(|e| panic!("{}: {e:?}", vector.name));
            let (outcome, upgraded) = pool
                .verify_and_upgrade(Some(&stored), &pw(&vector.password))
                .unwrap();
            assert_eq!(
                outcome,
                Verification::Match { needs_rehash: true },
                "{}",
                vector.name
            );
            assert_eq!(upgraded.unwrap().params(), Some(CHEAP), "{}", vector.name);
            assert_eq!(
                pool.verify(Some(&stored), &pw("not the password")).unwrap(),
                Verification::Mismatch,
                "{}",
                vector.name
            );
        }
    }

    #[test]
    fn one_oversized_verification_at_a_time() {
        let gate = Gate::default();
        let far = Instant::now() + Duration::from_secs(5);
        let turn = gate.enter(far).unwrap();
        // Taken: a second one waits until its deadline and gives up.
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(gate.enter(soon).is_none());
        drop(turn);
        assert!(gate.enter(far).is_some());
    }

    /// Occupy every thread of `pool` until the returned barrier is passed.
    fn occupy(
        pool: &HasherPool,
        threads: usize,
    ) -> (Arc<Barrier>, Vec<std::thread::JoinHandle<()>>) {
        let started = Arc::new(Barrier::new(threads + 1));
        let release = Arc::new(Barrier::new(threads + 1));
        let handles = (0..threads)
            .map(|_| {
                let (pool, started, release) = (pool.clone(), started.clone(), release.clone());
                std::thread::spawn(move || {
                    pool.call_for_test(move || {
                        started.wait();
                        release.wait();
                    })
                    .unwrap();
                })
            })
            .collect();
        started.wait();
        (release, handles)
    }

    #[test]
    fn a_job_not_started_within_the_wait_is_busy() {
        let pool = pool(1, Duration::from_millis(50));
        let (release, handles) = occupy(&pool, 1);
        let begun = Instant::now();
        let outcome = pool.hash(&pw("x"));
        assert!(
            matches!(outcome, Err(HashError::Busy { retry_after: 1 })),
            "{outcome:?}"
        );
        // Bounded by the wait, not by the job that holds the thread.
        assert!(begun.elapsed() < Duration::from_secs(5));
        release.wait();
        for handle in handles {
            handle.join().unwrap();
        }
        // The withdrawn job is skipped, and the pool serves again.
        assert!(pool.hash(&pw("x")).is_ok());
    }

    #[test]
    fn slots_in_use_and_requests_turned_away_are_counted() {
        let pool = pool(1, Duration::from_millis(50));
        assert_eq!(
            pool.slot_state(),
            SlotState {
                slots: 1,
                in_use: 0,
                turned_away: 0
            }
        );
        let (release, handles) = occupy(&pool, 1);
        assert_eq!(pool.slot_state().in_use, 1);
        assert!(matches!(pool.hash(&pw("x")), Err(HashError::Busy { .. })));
        assert_eq!(pool.slot_state().turned_away, 1);
        release.wait();
        for handle in handles {
            handle.join().unwrap();
        }
        // The slot is given back just after its answer: poll for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.slot_state().in_use != 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(pool.slot_state().in_use, 0);
        assert_eq!(pool.slot_state().turned_away, 1);
    }

    #[test]
    fn a_full_queue_is_busy_at_once() {
        let pool = pool(1, Duration::from_secs(60));
        let (release, handles) = occupy(&pool, 1);
        // Fill the queue without waiting for answers.
        let mut queued = Vec::new();
        for _ in 0..QUEUE_PER_THREAD {
            let (reply, answer) = mpsc::sync_channel(1);
            pool.submit(|_, _| Ok(()), reply).unwrap();
            queued.push(answer);
        }
        let begun = Instant::now();
        assert!(matches!(pool.hash(&pw("x")), Err(HashError::Busy { .. })));
        assert!(begun.elapsed() < Duration::from_secs(5));
        release.wait();
        for handle in handles {
            handle.join().unwrap();
        }
        for answer in queued {
            answer.recv().unwrap().unwrap();
        }
    }

    #[test]
    fn a_panicking_job_fails_its_caller_and_the_thread_carries_on() {
        let pool = pool(1, Duration::from_secs(5));
        let outcome = pool.call_for_test(|| -> () { panic!("boom") });
        assert!(matches!(outcome, Err(HashError::Failed(_))), "{outcome:?}");
        // The only thread is still there.
        let name = pool
            .call_for_test(|| std::thread::current().name().map(str::to_owned))
            .unwrap();
        assert_eq!(name.as_deref(), Some("userhub-hash-0"));
        assert!(pool.hash(&pw("x")).is_ok());
    }

    #[test]
    fn the_pool_is_shared_across_threads() {
        fn send_sync<T: Send + Sync + Clone + 'static>() {}
        send_sync::<HasherPool>();
    }

    #[test]
    fn debug_shows_no_secret_and_bad_parameters_are_refused() {
        let pool = pool(2, Duration::from_secs(1));
        let shown = format!("{pool:?}");
        assert!(shown.contains("concurrency: 2"), "{shown}");
        assert!(!shown.contains("argon2id"), "{shown}");
        let bad = HashParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        };
        let error = HasherPool::new(bad, 1, Duration::from_secs(1)).unwrap_err();
        assert_eq!(error.lines().count(), 1);
        assert!(HasherPool::new(CHEAP, 0, Duration::from_secs(1)).is_err());
    }
}

//! Group commit for new events. Every create is durable before it is acknowledged,
//! and a durable commit costs an fsync; one transaction per event caps intake at a
//! few hundred events a second. So creates that arrive together are stored together:
//! writer tasks take whatever jobs are waiting (up to a batch limit) and store them
//! in one transaction, then answer every job.
//!
//! Inside the transaction the cost is round trips (each SQLite statement is a hop
//! to sqlx's connection thread), so a batch is written in a handful of statements
//! whatever its size: one lookup of the keys already stored, the checks of each job
//! (reads, with the reference lookups cached per batch), the day's numbers taken in
//! one step, then one multi-row insert each for events, timeline and audit.
//!
//! A job refused by a check (unknown category, out of area) has written nothing,
//! so it fails alone and the batch goes on. Any other failure (a write refused, the
//! commit failing) drops the whole transaction and every job of the batch is
//! retried on its own, so one bad job never fails the others. Without group commit
//! (tests, the CLI) each create is a batch of one: the same code, so there is one
//! way to store an event.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};
use zhili_domain::{Actor, NewEvent, Role};

use crate::attachments::attach_to_new_event;
use crate::audit::RequestContext;
use crate::backend::Tx;
use crate::events::{Acting, Intake, insert_prepared, prepare, row_in_scope};
use crate::{Store, StoreError, in_tx};

/// What a create stored, or found already stored under the same (channel, external id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub number: String,
    /// false: an earlier request with the same key made this event.
    pub created: bool,
}

pub(crate) struct Job {
    pub actor: Actor,
    pub new: NewEvent,
    /// Taken with the report; stored with the event or not at all.
    pub photos: Vec<crate::attachments::Photo>,
    pub now: DateTime<Utc>,
    /// The request that brought it, taken in the request's task: the writers run
    /// in tasks of their own, and the job's audit records must still say where it
    /// came from.
    pub request: Option<RequestContext>,
}

/// The jobs of one request, sent together so that a writer never starts a batch
/// with half of them (which would cost the request a second commit), and one
/// answer per job, in order.
struct Queued {
    jobs: Vec<Job>,
    reply: oneshot::Sender<Vec<Result<Stored, StoreError>>>,
}

/// The sending side, held by the store; the writers end when it is dropped.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: mpsc::Sender<Queued>,
    /// Dropped with the last handle: tells the WAL checkpointer to stop.
    _stop: Arc<oneshot::Sender<()>>,
}

/// How group commit runs.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    /// Writer tasks. SQLite has one writer at a time, so more than one only queues
    /// on its lock; PostgreSQL gains from a few.
    pub writers: usize,
    /// At most this many events in one transaction.
    pub max_batch: usize,
}

impl GroupCommit {
    pub fn for_backend(backend: crate::Backend) -> Self {
        match backend {
            crate::Backend::Sqlite => GroupCommit {
                writers: 1,
                max_batch: 256,
            },
            crate::Backend::Postgres => GroupCommit {
                writers: 3,
                max_batch: 128,
            },
        }
    }
}

impl Store {
    /// Starts the writer tasks of group commit; from now on every create of this
    /// store (and its clones made afterwards) goes through them. Call inside a
    /// Tokio runtime.
    pub fn with_group_commit(mut self, gc: GroupCommit) -> Self {
        if self.group.is_some() {
            return self;
        }
        // In requests, not jobs: a request carries up to a batch push's 500 jobs.
        let (tx, rx) = mpsc::channel::<Queued>(gc.max_batch.max(8));
        let rx = Arc::new(Mutex::new(rx));
        // The writers hold a store without the queue, so dropping the last handle
        // that has it closes the channel and lets them finish.
        let inner = Store {
            group: None,
            ..self.clone()
        };
        for _ in 0..gc.writers.max(1) {
            tokio::spawn(write_batches(
                inner.clone(),
                rx.clone(),
                gc.max_batch.max(1),
            ));
        }
        let (stop, stopped) = oneshot::channel();
        if let crate::Pool::Sqlite(pool) = &inner.pool {
            tokio::spawn(checkpoint_wal(pool.clone(), stopped));
        }
        self.group = Some(Queue {
            tx,
            _stop: Arc::new(stop),
        });
        self
    }

    /// Stores one new event for `job.actor`: through the writers when group commit
    /// runs, else in a transaction of its own.
    pub(crate) async fn store_new(&self, job: Job) -> Result<Stored, StoreError> {
        self.store_new_all(vec![job])
            .await
            .pop()
            .unwrap_or(Err(StoreError::Unavailable))
    }

    /// Stores each job as [`Store::store_new`] does; one result per job, in order.
    /// With group commit the jobs go to a writer together and usually share one
    /// transaction (a writer may split them only at its batch limit).
    pub(crate) async fn store_new_all(&self, jobs: Vec<Job>) -> Vec<Result<Stored, StoreError>> {
        let Some(q) = &self.group else {
            let mut out = Vec::with_capacity(jobs.len());
            // Without writers: batches as a writer would make them.
            for chunk in jobs.chunks(256) {
                out.extend(self.store_batch(chunk).await);
            }
            return out;
        };
        let n = jobs.len();
        let unavailable = || (0..n).map(|_| Err(StoreError::Unavailable)).collect();
        let (reply, answer) = oneshot::channel();
        if q.tx.send(Queued { jobs, reply }).await.is_err() {
            return unavailable();
        }
        match answer.await {
            Ok(results) if results.len() == n => results,
            _ => unavailable(),
        }
    }

    /// Stores the jobs in one transaction and returns one result per job, in order.
    async fn store_batch(&self, jobs: &[Job]) -> Vec<Result<Stored, StoreError>> {
        let results = match self.try_batch(jobs).await {
            Ok(results) => results,
            // The transaction as a whole failed (its commit, or the connection):
            // nothing of it is stored. Alone, each job gets its own answer.
            Err(e) if jobs.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::warn!(error = %e, jobs = jobs.len(), "group commit failed; storing one by one");
                let mut out = Vec::with_capacity(jobs.len());
                for job in jobs {
                    out.push(match self.try_batch(std::slice::from_ref(job)).await {
                        Ok(mut r) => r.pop().unwrap_or(Err(StoreError::Unavailable)),
                        Err(e) => Err(e),
                    });
                }
                out
            }
        };
        // A key taken by a concurrent transaction (another instance on PostgreSQL)
        // surfaces as a duplicate; that transaction has committed by now.
        let mut out = Vec::with_capacity(results.len());
        for (job, r) in jobs.iter().zip(results) {
            out.push(match r {
                Err(StoreError::Duplicate { .. }) if job.new.external_id.is_some() => {
                    self.stored_under_key(job).await
                }
                r => r,
            });
        }
        out
    }

    async fn try_batch(&self, jobs: &[Job]) -> Result<Vec<Result<Stored, StoreError>>, StoreError> {
        let prefix = self.number_prefix.clone();
        // Duplicates are looked for among the events committed before this batch:
        // the jobs of one batch do not see each other (see `duplicates`).
        let intake = Intake::new(self.deadline_rules(), &prefix, self.pii()?)
            .with_duplicates(self.duplicates)
            .with_notice(self.current_notice_version());
        in_tx!(self, Write, |tx| {
            // Keys stored before this batch: one query per channel, not per job.
            let mut known: HashMap<&str, HashMap<String, i64>> = HashMap::new();
            let mut by_channel: HashMap<&str, Vec<&str>> = HashMap::new();
            for job in jobs {
                if let Some(ext) = &job.new.external_id {
                    by_channel
                        .entry(job.new.channel.code())
                        .or_default()
                        .push(ext);
                }
            }
            for (channel, ids) in by_channel {
                let found = tx.events_by_external_ids(channel, &ids).await?;
                known.insert(channel, found.into_iter().collect());
            }
            // What the checks will read, read for the whole batch at once.
            let fresh: Vec<(&NewEvent, DateTime<Utc>)> = jobs
                .iter()
                .filter(|j| {
                    !j.new.external_id.as_deref().is_some_and(|ext| {
                        known
                            .get(j.new.channel.code())
                            .is_some_and(|k| k.contains_key(ext))
                    })
                })
                .map(|j| (&j.new, j.now))
                .collect();
            intake.preload(&mut tx, &fresh).await?;
            // Check and place every job (reads only), then insert the new ones
            // together.
            let mut plans = Vec::with_capacity(jobs.len());
            let mut prepared = Vec::new();
            let mut owners = Vec::new();
            let mut first_of_key: HashMap<(&str, &str), usize> = HashMap::new();
            for (i, job) in jobs.iter().enumerate() {
                let key = job
                    .new
                    .external_id
                    .as_deref()
                    .map(|ext| (job.new.channel.code(), ext));
                if let Some((channel, ext)) = key {
                    if let Some(id) = known.get(channel).and_then(|k| k.get(ext)) {
                        plans.push(Plan::Existing(*id));
                        continue;
                    }
                    if let Some(k) = first_of_key.get(&(channel, ext)) {
                        plans.push(Plan::SameAs(*k));
                        continue;
                    }
                }
                let actor = &job.actor;
                // Citizens and grid workers report as themselves; operators type
                // in others' reports.
                let reporter_id = matches!(actor.role, Role::Citizen | Role::GridWorker)
                    .then_some(actor.user_id.0);
                let acting = Acting::from(actor);
                match prepare(
                    &mut tx,
                    &intake,
                    Some(actor),
                    &acting,
                    reporter_id,
                    &job.new,
                    job.now,
                )
                .await
                {
                    Ok(mut p) => {
                        p.request = job.request.clone();
                        if let Some(k) = key {
                            first_of_key.insert(k, prepared.len());
                        }
                        plans.push(Plan::New(prepared.len()));
                        prepared.push(p);
                        owners.push(i);
                    }
                    // Refused before any write: this job alone fails.
                    Err(e @ StoreError::Invalid { .. }) => plans.push(Plan::Refused(e)),
                    Err(e) => return Err(e),
                }
            }
            let stored = insert_prepared(&mut tx, &intake, prepared).await?;
            for (k, &i) in owners.iter().enumerate() {
                let job = &jobs[i];
                if !job.photos.is_empty() {
                    // A photo refused after the writes ends the batch (`?`); alone,
                    // this job then gets the refusal.
                    RequestContext::within(
                        job.request.clone(),
                        attach_to_new_event(
                            &mut tx,
                            &Acting::from(&job.actor),
                            stored[k].0,
                            &job.photos,
                            job.now,
                        ),
                    )
                    .await?;
                }
            }
            let mut results = Vec::with_capacity(jobs.len());
            for (job, plan) in jobs.iter().zip(plans) {
                results.push(match plan {
                    Plan::New(k) => Ok(Stored {
                        id: stored[k].0,
                        number: stored[k].1.clone(),
                        created: true,
                    }),
                    Plan::SameAs(k) => existing(&mut tx, &job.actor, stored[k].0).await,
                    Plan::Existing(id) => existing(&mut tx, &job.actor, id).await,
                    Plan::Refused(e) => Err(e),
                });
            }
            Ok::<_, StoreError>(results)
        })
    }

    /// The event stored under the job's key, if the job's actor may know of it.
    async fn stored_under_key(&self, job: &Job) -> Result<Stored, StoreError> {
        let ext = job.new.external_id.clone().unwrap_or_default();
        in_tx!(self, Read, |tx| {
            match tx
                .event_by_external_id(job.new.channel.code(), &ext)
                .await?
            {
                Some(id) => existing(&mut tx, &job.actor, id).await,
                None => Err(StoreError::Conflict),
            }
        })
    }
}

/// What a batch does with each job.
enum Plan {
    /// Stored before this batch under the job's key.
    Existing(i64),
    /// Another job of this batch has the same key: the k-th new event.
    SameAs(usize),
    /// The k-th new event of the batch.
    New(usize),
    Refused(StoreError),
}

/// An earlier event under the same key: its number for an actor who may see it;
/// for anyone else only that the key is taken, without showing the event.
async fn existing<T: Tx>(tx: &mut T, actor: &Actor, id: i64) -> Result<Stored, StoreError> {
    match row_in_scope(tx, actor.scope(), id).await? {
        Some(row) => Ok(Stored {
            id,
            number: row.number,
            created: false,
        }),
        None => Err(StoreError::Duplicate {
            field: "external_id".into(),
        }),
    }
}

async fn write_batches(store: Store, rx: Arc<Mutex<mpsc::Receiver<Queued>>>, max: usize) {
    loop {
        let mut batch: Vec<Queued> = Vec::new();
        let mut size = 0;
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(q) => {
                    size += q.jobs.len();
                    batch.push(q);
                }
                None => return,
            }
            // Whole requests only; a request bigger than the limit is a batch of its
            // own (store_batch takes any size).
            while size < max {
                match rx.try_recv() {
                    Ok(q) => {
                        size += q.jobs.len();
                        batch.push(q);
                    }
                    Err(_) => break,
                }
            }
        }
        let mut jobs = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(batch.len());
        for q in batch {
            replies.push((q.reply, q.jobs.len()));
            jobs.extend(q.jobs);
        }
        metrics::histogram!("zhili_group_commit_batch_size").record(jobs.len() as f64);
        let mut results = store.store_batch(&jobs).await.into_iter();
        for (reply, n) in replies {
            // The requester may have gone (client timeout); the events are stored
            // anyway and its retry will find them by key.
            let _ = reply.send(results.by_ref().take(n).collect());
        }
    }
}

/// How often the WAL is copied back into the database file while serving.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies the WAL back into the database file from a connection of its own, so that
/// no writer's commit pays for it. SQLite would otherwise checkpoint inside the
/// commit that crosses the WAL's size limit, and that request (and every job
/// waiting behind it) would wait for the copy and its fsync: the long tail of the
/// intake latency. PASSIVE never waits for readers or the writer; the connections'
/// own limit (`wal_autocheckpoint`, see `Store::connect`) stays as a safety net.
async fn checkpoint_wal(pool: sqlx::SqlitePool, mut stop: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
